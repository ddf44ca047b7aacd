"""What the service hands to the HTTP API, the CLI and the page: plain frozen dataclasses.

``as_dict()`` gives the JSON shape of SPEC section 5 (timestamps ISO-8601 UTC
ending in ``Z``; every run field always present, ``None`` when unknown).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["AccountView", "CreditsView", "KeyView", "Principal", "RunView", "StoredResponse"]


@dataclass(frozen=True)
class CreditsView:
    """An account's balance as of now (the monthly quota already reset if a month turned)."""

    available: int
    monthly_quota: int
    monthly_used: int
    topup_balance: int
    resets_at: str

    def as_dict(self) -> dict[str, Any]:
        """``{available, monthly_quota, monthly_used, topup_balance, resets_at}``."""
        return {
            "available": self.available,
            "monthly_quota": self.monthly_quota,
            "monthly_used": self.monthly_used,
            "topup_balance": self.topup_balance,
            "resets_at": self.resets_at,
        }


@dataclass(frozen=True)
class AccountView:
    """An account and its credits."""

    id: str
    name: str
    created_at: str
    credits: CreditsView

    def as_dict(self) -> dict[str, Any]:
        """The SPEC ``GET /v1/account`` shape: ``{name, credits: {...}}``."""
        return {"name": self.name, "credits": self.credits.as_dict()}

    def row(self) -> dict[str, Any]:
        """A flat row for CLI listings."""
        return {"name": self.name, "id": self.id, **self.credits.as_dict(),
                "created_at": self.created_at}


@dataclass(frozen=True)
class KeyView:
    """An API key as listed: never its secret."""

    id: str
    account: str
    name: str | None
    created_at: str
    revoked_at: str | None
    prefix: str

    @property
    def revoked(self) -> bool:
        """True once the key has been revoked."""
        return self.revoked_at is not None

    def as_dict(self) -> dict[str, Any]:
        """``{id, account, name, prefix, created_at, revoked_at}``."""
        return {"id": self.id, "account": self.account, "name": self.name,
                "prefix": self.prefix, "created_at": self.created_at,
                "revoked_at": self.revoked_at}


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: the account and the key it authenticated with."""

    account_id: str
    key_id: str


@dataclass(frozen=True)
class StoredResponse:
    """The first response to an Idempotency-Key, replayed to repeats."""

    status: int
    body: dict[str, Any]


RUN_FIELDS = (
    "id", "status", "domain", "competitors", "mode", "min_overlap", "competitor_count", "limit",
    "filters", "exclude", "created_at", "prospect_count", "total_found", "credits_charged",
    "started_at", "finished_at", "index_version", "warnings", "error", "callback_url",
    "webhook",
)


@dataclass(frozen=True)
class RunView:
    """A gap run as the API shows it. ``credits_charged`` is net: 0 once a failed run's
    charge has been refunded."""

    id: str
    status: str
    domain: str
    competitors: list[str]
    mode: str
    min_overlap: int
    competitor_count: int
    limit: int
    filters: dict[str, Any]
    exclude: list[str]
    created_at: str
    prospect_count: int | None
    total_found: int | None
    credits_charged: int
    started_at: str | None
    finished_at: str | None
    index_version: str | None
    warnings: list[dict[str, Any]] | None
    error: dict[str, Any] | None
    callback_url: str | None = None
    #: ``{status, attempts, last_error, next_attempt_at}``; None without a callback_url.
    webhook: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """Every SPEC run field, in SPEC order; unknown values are None."""
        out = {name: getattr(self, name) for name in RUN_FIELDS}
        out["competitors"] = list(self.competitors)
        out["filters"] = dict(self.filters)
        out["exclude"] = list(self.exclude)
        out["webhook"] = dict(self.webhook) if self.webhook is not None else None
        return out
