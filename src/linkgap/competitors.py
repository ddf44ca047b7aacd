"""Link competitors of a typed domain: the one rule behind ``GET
/v1/domains/{domain}/competitors``, ``linkgap competitors`` and
``BacklinkIndex.competitors`` (SPEC section 13).

The domain is normalised like every typed domain (InvalidDomain otherwise);
``limit`` is 1-100 (default 20). A domain that is not in the index is not an
error: the answer has ``found`` False and no rows (as domain metrics answer
``found: false``), and the API charges nothing for it. An index version
without out-links by source (``index build --no-out-links``) cannot answer
at all: OutLinksMissing, before anything else is looked at or charged.

Rows are ordered by shared referring domains, then Jaccard, both descending,
then by canonical name; for a domain with more than ``DEFAULT_CAP`` (50,000)
referring domains only the strongest 50,000 (by PageRank) are used, and
``capped`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from linkgap.errors import InvalidInput, OutLinksMissing
from linkgap.gap.validation import normalize_param
from linkgap.index.competitors import DEFAULT_CAP, link_competitors

if TYPE_CHECKING:  # pragma: no cover
    from linkgap.index.reader import BacklinkIndex

__all__ = [
    "COMPETITOR_FIELDS",
    "DEFAULT_LIMIT",
    "JACCARD_DIGITS",
    "MAX_LIMIT",
    "OUT_LINKS_MISSING_MESSAGE",
    "LinkCompetitors",
    "check_limit",
    "link_competitors_of",
]

#: Fields of a competitor row, in the order of the API, the CLI and the docs.
COMPETITOR_FIELDS: tuple[str, ...] = (
    "domain", "shared_referring_domains", "jaccard", "domain_rating")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
#: Jaccard is reported rounded to this many decimals (rows are ordered by the exact value).
JACCARD_DIGITS = 6
OUT_LINKS_MISSING_MESSAGE = (
    "link competitors need the out-links by source, and this index was built without "
    "them (`linkgap index build --no-out-links`, or by an older linkgap); rebuild the "
    "index without --no-out-links")


@dataclass(frozen=True)
class LinkCompetitors:
    """The link competitors of one domain, best first."""

    domain: str                  # canonical form
    found: bool                  # False: the domain is not in the index (and no rows)
    referring_domains: int       # the domain's referring domains in the index
    referring_domains_used: int  # those the overlap was computed from (≤ cap)
    capped: bool                 # True when only the strongest `cap` were used
    cap: int
    index_version: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def about(self) -> dict[str, Any]:
        """What the rows were computed from (the API's ``meta.competitors``)."""
        return {"domain": self.domain, "found": self.found,
                "referring_domains": self.referring_domains,
                "referring_domains_used": self.referring_domains_used,
                "capped": self.capped, "referring_domains_cap": self.cap,
                "index_version": self.index_version}


def check_limit(limit: Any) -> int:
    """``limit`` as an int in 1..MAX_LIMIT, else InvalidInput naming ``limit``."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be an integer between 1 and {MAX_LIMIT}",
                           param="limit")
    return limit


def link_competitors_of(index: BacklinkIndex, domain: Any, limit: Any = DEFAULT_LIMIT,
                        *, cap: int = DEFAULT_CAP) -> LinkCompetitors:
    """The ``limit`` domains sharing the most referring domains with ``domain``."""
    name = normalize_param(index, domain, "domain")  # refused before anything is looked up
    limit = check_limit(limit)
    if index.out_indptr is None or index.out_dst is None:
        raise OutLinksMissing(OUT_LINKS_MISSING_MESSAGE)
    target = index.id_of(name)
    version = str(index.version)
    if target is None:
        return LinkCompetitors(name, False, 0, 0, False, cap, version)
    found = link_competitors(index.in_indptr, index.in_src, index.out_indptr, index.out_dst,
                             index.pagerank, target, limit=limit, cap=cap)
    names = index.names_of(found.ids)
    ratings = index.domain_rating[found.ids] if len(found) else []
    rows = [{"domain": other, "shared_referring_domains": int(shared),
             "jaccard": round(float(jaccard), JACCARD_DIGITS), "domain_rating": int(dr)}
            for other, shared, jaccard, dr in zip(names, found.shared, found.jaccard, ratings,
                                                  strict=True)]
    return LinkCompetitors(name, True, found.total_referring_domains, found.referring_domains,
                           found.capped, cap, version, rows)
