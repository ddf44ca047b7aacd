"""Every exception linkgap raises on purpose, in one tree.

::

    LinkgapError                      base; ``code`` is the stable machine code
    ├── InvalidInput                  invalid_parameter (422 over HTTP, exit 2/1 on the CLI)
    │   └── InvalidDomain             a typed name that is not a registrable domain
    ├── IndexError_                   problems with the backlink index
    │   ├── IndexUnavailable          index_unavailable (503): nothing published / unreadable
    │   └── BuildFailed               ``index build`` could not produce a version
    ├── InsufficientCredits           insufficient_credits (402)
    ├── NotFound                      not_found (404)
    ├── Conflict                      409 family
    │   ├── RunNotCompleted           run_not_completed
    │   └── IdempotencyConflict       idempotency_conflict
    ├── RunExpired                    run_expired (410): retention deleted the prospects
    ├── Unauthorized                  unauthorized (401)
    ├── RateLimited                   rate_limited (429)
    └── UnsupportedDatabase           a state database linkgap cannot use (URL, damage,
                                      another schema version)

The HTTP layer maps this tree to responses in one place (``linkgap.api.errors``);
the CLI prints ``message`` on stderr and exits 1.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BuildFailed",
    "Conflict",
    "IdempotencyConflict",
    "IndexError_",
    "IndexUnavailable",
    "InsufficientCredits",
    "InvalidDomain",
    "InvalidInput",
    "LinkgapError",
    "NotFound",
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
        self, message: str, *, param: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.details = details


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


class IndexError_(LinkgapError):  # noqa: N801 - trailing underscore avoids the builtin
    """Problems with the backlink index."""

    code = "index_error"


class IndexUnavailable(IndexError_):
    """No usable published index version."""

    code = "index_unavailable"
    status = 503


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
