"""Run diffs for the service (SPEC 13): the account's two runs, checked, compared once.

The comparison itself is :func:`linkgap.diff.diff_results`; this module adds
the rules about which runs may be compared, in this order:

1. both runs exist and belong to the account, else NotFound (404; another
   account's run is indistinguishable from an unknown one);
2. both are runs of the same domain, else InvalidInput ``param=against`` (422):
   checked before the status because waiting would not make it valid;
3. both are completed, else RunNotCompleted (409, ``details.status`` and
   ``details.run_id`` name the run that is not), or RunExpired (410) for a run
   whose prospects retention has deleted.

A diff is cached on the newer run's frozen result (the service keeps recent
results in an LRU), so paging through it computes it once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from linkgap.diff import RunDiff, diff_results
from linkgap.errors import InvalidInput, NotFound, RunNotCompleted

if TYPE_CHECKING:
    from linkgap.service.core import LinkgapService
    from linkgap.service.views import RunView

__all__ = ["run_diff"]

#: Diffs kept per run result (each holds its entries' columns).
_DIFFS_PER_RESULT = 2


def _owned(service: LinkgapService, account_id: str | None, run_id: str
           ) -> tuple[str, RunView]:
    """The run and the account it belongs to: ``account_id`` (NotFound for another
    account's run), or for the operator (None) whoever owns it."""
    if account_id is None:
        rec = service.store.get_run(run_id) if isinstance(run_id, str) else None
        if rec is None:
            raise NotFound(f"run {run_id} not found")
        account_id = rec.account_id
    return account_id, service.get_run(account_id, run_id)


def run_diff(service: LinkgapService, account_id: str | None, run_id: str,
             against: str) -> RunDiff:
    """The diff of ``run_id`` (new) against ``against`` (old).

    ``account_id`` None is the operator (the CLI): any account's runs.
    """
    if not isinstance(against, str) or not against:
        raise InvalidInput("against must name a run to compare with", param="against")
    (new_owner, new_view), (old_owner, old_view) = (
        _owned(service, account_id, run_id), _owned(service, account_id, against))
    views = (new_view, old_view)
    if views[0].domain != views[1].domain:
        raise InvalidInput(
            f"run {against} is for {views[1].domain}, not {views[0].domain}: "
            "only runs of the same domain can be compared",
            param="against", details={"domain": views[0].domain,
                                      "against_domain": views[1].domain},
        )
    for owner, view in ((new_owner, new_view), (old_owner, old_view)):
        if view.status == "expired":
            service.run_result(owner, view.id)  # RunExpired (410), as for prospects
        if view.status != "completed":
            raise RunNotCompleted(f"run {view.id} is {view.status}, not completed",
                                  details={"status": view.status, "run_id": view.id})
    new = service.run_result(new_owner, run_id)
    old = service.run_result(old_owner, against)
    key = ("diff", against)
    with new.cache_lock:
        hit = new.cache.get(key)
    if hit is not None and hit.old is old:
        return hit
    diff = diff_results(new, old)
    with new.cache_lock:
        kept = [k for k in new.cache if isinstance(k, tuple) and k[:1] == ("diff",)]
        for stale in kept[: max(0, len(kept) - _DIFFS_PER_RESULT + 1)]:
            del new.cache[stale]
        new.cache[key] = diff
    return diff
