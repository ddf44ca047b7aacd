"""Domain metrics: rows, normalisation, per-account cache per index version, 402 all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from service.servicetest_support import LINKS_V2
from support.indexes import build_test_index

from linkgap.errors import InsufficientCredits, InvalidInput
from linkgap.index.reader import BacklinkIndex
from linkgap.service import LinkgapService

FIELDS = ["input", "domain", "found", "domain_rating", "backlinks", "referring_domains",
          "spam_score", "spam_signals", "rank", "linked_domains", "outlinks", "fetched_at"]


def test_rows_in_input_order_with_duplicates_merged(service: LinkgapService,
                                                    index_dir: Path) -> None:
    acct = service.create_account("acme", credits=10)
    rows, charged = service.domain_metrics(
        acct.id, ["https://WWW.A.com/x", "unknown.org", "a.com", "blog.com"])
    assert charged == 2  # a.com and blog.com are found; unknown.org is free
    assert [r["domain"] for r in rows] == ["a.com", "unknown.org", "blog.com"]
    assert all(list(r) == FIELDS for r in rows)
    index = BacklinkIndex.open(index_dir)
    a = index.domain("a.com")
    assert a is not None
    assert rows[0]["input"] == "https://WWW.A.com/x" and rows[0]["found"] is True
    assert rows[0]["backlinks"] == a.backlinks and rows[0]["referring_domains"] == 2
    assert rows[0]["domain_rating"] == a.domain_rating and rows[0]["rank"] == a.rank
    assert isinstance(rows[0]["spam_signals"], list)
    missing = rows[1]
    assert missing["found"] is False
    assert all(missing[f] is None for f in FIELDS[3:11])
    built = index.built_at.strftime("%Y-%m-%dT%H:%M:%S")
    assert all(r["fetched_at"].startswith(built) and r["fetched_at"].endswith("Z") for r in rows)
    assert service.account(acct.id).credits.available == 8


def test_cache_hits_are_free_per_account_and_index_version(service: LinkgapService,
                                                           index_dir: Path) -> None:
    acme = service.create_account("acme", credits=10)
    globex = service.create_account("globex", credits=10)
    assert service.domain_metrics(acme.id, ["a.com", "b.com"])[1] == 2
    assert service.domain_metrics(acme.id, ["a.com", "b.com", "blog.com"])[1] == 1
    assert service.domain_metrics(acme.id, ["b.com"])[1] == 0
    assert service.domain_metrics(globex.id, ["a.com"])[1] == 1  # another account pays
    build_test_index(index_dir, LINKS_V2)
    assert service.domain_metrics(acme.id, ["a.com"])[1] == 1  # a new index version
    assert service.account(acme.id).credits.available == 10 - 4


def test_all_or_nothing_when_the_balance_cannot_pay(service: LinkgapService) -> None:
    acct = service.create_account("acme", credits=2)
    with pytest.raises(InsufficientCredits):
        service.domain_metrics(acct.id, ["a.com", "b.com", "blog.com"])
    assert service.account(acct.id).credits.available == 2
    # Nothing was cached by the refused request: paying for two still costs two.
    assert service.domain_metrics(acct.id, ["a.com", "b.com"])[1] == 2
    # Only cache hits and unknown domains: free, even with an empty balance.
    assert service.domain_metrics(acct.id, ["a.com", "nothing-here.com"])[1] == 0


def test_metrics_cost_is_a_setting(make_service) -> None:
    service = make_service(metrics_cost=3)
    acct = service.create_account("acme", credits=10)
    assert service.domain_metrics(acct.id, ["a.com", "b.com"])[1] == 6


@pytest.mark.parametrize("domains,param", [
    ([], "domains"), ([f"d{i}.com" for i in range(11)], "domains"), ("a.com", "domains"),
    (["a.com", "localhost"], "domains[1]"), (["a.com", 7], "domains[1]"),
    (["co.uk"], "domains[0]"),
])
def test_invalid_requests(service: LinkgapService, domains: object, param: str) -> None:
    acct = service.create_account("acme", credits=10)
    with pytest.raises(InvalidInput) as caught:
        service.domain_metrics(acct.id, domains)  # type: ignore[arg-type]
    assert caught.value.param == param
    assert service.account(acct.id).credits.available == 10
