"""Domain metrics look-ups: the one rule behind ``POST /v1/domains/metrics`` and ``linkgap domain``.

Both take what a user typed, refuse the whole request when one entry is not a
domain (naming it ``domains[i]``), merge duplicates after normalisation
(keeping the first spelling), and answer one row per distinct domain in input
order with the same fields and formats: metric fields ``None`` when the
domain is not indexed, ``fetched_at`` the build time of the index version read
(ISO-8601 UTC ending in ``Z``, as every linkgap timestamp). Charging for the
rows is the service's business, not this module's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from linkgap.gap.validation import normalize_param
from linkgap.service.timeutil import iso_z

if TYPE_CHECKING:  # pragma: no cover
    from linkgap.index.reader import BacklinkIndex

__all__ = ["DOMAIN_METRICS_FIELDS", "domain_metrics_rows"]

#: Fields of a domain-metrics row, in the order of the API, the CLI and the CSV header.
DOMAIN_METRICS_FIELDS: tuple[str, ...] = (
    "input", "domain", "found", "domain_rating", "backlinks", "referring_domains",
    "spam_score", "spam_signals", "rank", "linked_domains", "outlinks", "fetched_at",
)


def domain_metrics_rows(index: BacklinkIndex, domains: Sequence[Any]) -> list[dict[str, Any]]:
    """One row per distinct domain of ``domains`` (in input order) with its metrics.

    Raises InvalidInput / InvalidDomain with ``param`` ``domains[i]`` for the
    first entry that is not text or not a domain; nothing is looked up then.
    """
    inputs: dict[str, str] = {}
    for i, text in enumerate(domains):
        name = normalize_param(index, text, f"domains[{i}]")
        inputs.setdefault(name, text)  # duplicates after normalisation are merged
    fetched_at = iso_z(index.built_at)
    rows = []
    for name, text in inputs.items():
        row: dict[str, Any] = dict.fromkeys(DOMAIN_METRICS_FIELDS)
        domain_id = index.id_of(name)
        if domain_id is not None:
            row.update(index.metrics_of(domain_id).as_dict())
        row.update(input=text, domain=name, found=domain_id is not None, fetched_at=fetched_at)
        rows.append(row)
    return rows
