"""Link competitors in the service: one credit (quota first, then top-up) for an indexed
domain, nothing for one that is not, nothing for a refusal, no overdraft under
concurrency — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from linkgap.errors import InsufficientCredits, InvalidDomain, InvalidInput
from linkgap.service import LinkgapService


def test_one_credit_from_the_quota_then_the_topup(service: LinkgapService) -> None:
    acct = service.create_account("acme", credits=3, monthly_credits=1)
    result, charged = service.link_competitors(acct.id, "https://www.A.com/", 20)
    assert charged == 1 and result.found and result.domain == "a.com"
    # a.com's referring domains are blog.com and news.org: news.org is mysite.com's only
    # one (Jaccard 1/2), blog.com one of b.com's three (1/4).
    assert [(r["domain"], r["shared_referring_domains"], r["jaccard"]) for r in result.rows] \
        == [("mysite.com", 1, 0.5), ("b.com", 1, 0.25)]
    credits = service.account(acct.id).credits
    assert (credits.monthly_used, credits.topup_balance) == (1, 3)
    assert service.link_competitors(acct.id, "a.com", 1)[1] == 1
    credits = service.account(acct.id).credits
    assert (credits.monthly_used, credits.topup_balance, credits.available) == (1, 2, 2)


def test_refusals_and_unknown_domains_cost_nothing(service: LinkgapService) -> None:
    acct = service.create_account("acme", credits=1)
    result, charged = service.link_competitors(acct.id, "unknown.org", 20)
    assert charged == 0 and not result.found and result.rows == []
    with pytest.raises(InvalidDomain):
        service.link_competitors(acct.id, "co.uk", 20)
    with pytest.raises(InvalidInput):
        service.link_competitors(acct.id, "a.com", 0)
    assert service.account(acct.id).credits.available == 1
    service.link_competitors(acct.id, "a.com", 20)
    with pytest.raises(InsufficientCredits):
        service.link_competitors(acct.id, "a.com", 20)
    assert service.account(acct.id).credits.available == 0


def test_no_overdraft_under_concurrency(make_service: Callable[..., LinkgapService]) -> None:
    first, second = make_service(), make_service()  # two servers on one state database
    acct = first.create_account("acme", credits=5)
    outcomes: list[str] = []
    lock = threading.Lock()

    def ask(service: LinkgapService) -> None:
        try:
            service.link_competitors(acct.id, "a.com", 5)
            outcome = "paid"
        except InsufficientCredits:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=ask, args=(s,)) for s in [first, second] * 6]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["paid"] * 5 + ["refused"] * 7
    assert first.account(acct.id).credits.available == 0
