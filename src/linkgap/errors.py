"""Every exception linkgap raises on purpose, in one tree.

::

    LinkgapError                      base; ``code`` is the stable machine code
    ├── InvalidInput                  invalid_parameter (422 over HTTP, exit 2/1 on the CLI)
    │   └── InvalidDomain             a typed name that is not a registrable domain
    ├── CompetitorsNotIndexed         competitors_not_indexed (422): fewer than m competitors
    │                                 are in the index, so no prospect can exist
    ├── IndexError_                   problems with the backlink index
    │   ├── IndexUnavailable          index_unavailable (503): nothing published / unreadable
    │   ├── OutLinksMissing           out_links_missing (501): no out-links for competitors
    │   └── BuildFailed               ``index build`` could not produce a version
    ├── InsufficientCredits           insufficient_credits (402)
    ├── NotFound                      not_found (404)
    ├── Conflict                      409 family
    │   ├── RunNotCompleted           run_not_completed
    │   └── IdempotencyConflict       idempotency_conflict
    ├── RunExpired                    run_expired (410): retention deleted the prospects
    ├── Unauthorized                  unauthorized (401)
    ├── RateLimited                   rate_limited (429)
    ├── UnsupportedDatabase           a state database linkgap cannot use (URL, damage,
    │                                 another schema version)
    └── DownloadFailed                ``data fetch`` could not fetch a file (exit 1)

The HTTP layer maps this tree to responses in one place (``linkgap.api.errors``);
the CLI prints ``operator_message`` on stderr and exits 1.

``message`` is safe to show to anyone (API callers, the page): it never names a
file or folder of the server. What only the operator should see (the index
folder, an OS error) goes in ``operator_detail``: the CLI and the server's log
show it, HTTP answers and stored run errors do not.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BuildFailed",
    "CompetitorsNotIndexed",
    "Conflict",
    "DownloadFailed",
    "IdempotencyConflict",
    "IndexError_",
    "IndexUnavailable",
    "InsufficientCredits",
    "InvalidDomain",
    "InvalidInput",
    "LinkgapError",
    "NotFound",
    "OutLinksMissing",
    "RateLimited",
    "RunExpired",
    "RunNotCompleted",
    "Unauthorized",
    "UnsupportedDatabase",
]


class LinkgapError(Exception):
    """Base of every deliberate linkgap error."""

    code = "error"
    status = 500

    def __init__(
        self, message: str, *, param: str | None = None, details: dict[str, Any] | None = None,
        operator_detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.details = details
        self.operator_detail = operator_detail

    @property
    def operator_message(self) -> str:
        """``message`` with the operator-only detail, for the CLI and the server log."""
        if self.operator_detail:
            return f"{self.message} ({self.operator_detail})"
        return self.message


class InvalidInput(LinkgapError):
    """A value the caller gave is not acceptable."""

    code = "invalid_parameter"
    status = 422


class InvalidDomain(InvalidInput):
    """A typed name that is not a registrable domain (SPEC section 1)."""

    def __init__(self, value: str, reason: str, *, param: str | None = None) -> None:
        super().__init__(f"{value!r} {reason}", param=param)
        self.value = value
        self.reason = reason


class CompetitorsNotIndexed(LinkgapError):
    """Fewer than ``min_overlap`` of a run's competitors are in the index (SPEC 4).

    No prospect can exist, so the run is refused before anything is charged or
    queued: a misspelt competitor must not cost credits. ``missing`` (also in
    ``details``) lists the competitors the index does not know, in run order.
    """

    code = "competitors_not_indexed"
    status = 422

    def __init__(self, message: str, *, missing: list[str]) -> None:
        super().__init__(message, param="competitors", details={"missing": list(missing)})
        self.missing = list(missing)


class IndexError_(LinkgapError):  # noqa: N801 - trailing underscore avoids the builtin
    """Problems with the backlink index."""

    code = "index_error"


class IndexUnavailable(IndexError_):
    """No usable published index version."""

    code = "index_unavailable"
    status = 503


class OutLinksMissing(IndexError_):
    """The index version has no out-links by source (built with ``--no-out-links``, or by
    a linkgap without them), which link competitors need (SPEC section 13)."""

    code = "out_links_missing"
    status = 501


class BuildFailed(IndexError_):
    """``index build`` could not produce a version; the previous one is untouched."""

    code = "build_failed"


class InsufficientCredits(LinkgapError):
    """The request costs more credits than the account has."""

    code = "insufficient_credits"
    status = 402


class NotFound(LinkgapError):
    """Unknown path or resource, or one of another account."""

    code = "not_found"
    status = 404


class Conflict(LinkgapError):
    """The request conflicts with the state of a resource."""

    code = "conflict"
    status = 409


class RunNotCompleted(Conflict):
    """Prospects or summary asked of a run that has not completed."""

    code = "run_not_completed"


class IdempotencyConflict(Conflict):
    """An Idempotency-Key reused with a different body."""

    code = "idempotency_conflict"


class RunExpired(LinkgapError):
    """Prospects or summary asked of a run whose prospects retention has deleted."""

    code = "run_expired"
    status = 410


class Unauthorized(LinkgapError):
    """Missing, malformed, unknown or revoked API key."""

    code = "unauthorized"
    status = 401


class RateLimited(LinkgapError):
    """Over the key's rate limit."""

    code = "rate_limited"
    status = 429


class UnsupportedDatabase(LinkgapError):
    """A state database this linkgap cannot use: an unknown URL, one it cannot reach or
    read (damaged, not a linkgap database), or a schema of another version."""

    code = "unsupported_database"


class DownloadFailed(LinkgapError):
    """A file of ``linkgap data fetch`` could not be downloaded whole."""

    code = "download_failed"
