"""Pydantic models of the HTTP API: request bodies (strict) and documented responses.

Request bodies are strict: unknown fields and values of the wrong JSON type are a
422 naming the parameter. Ranges and domain validity are business rules checked
by the service (its InvalidInput names the parameter too); they appear in the
schema (``json_schema_extra``) so the OpenAPI document states them.

Response models document the JSON the routes write; routes build that JSON from
the service's views, and the test-suite checks it against this schema.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from linkgap.domains import DOMAIN_INPUT_MAX_LENGTH, DOMAIN_INPUT_PATTERN
from linkgap.gap.filters import MAX_EXCLUDE
from linkgap.webhooks.addresses import MAX_URL_LENGTH, callback_url_pattern

__all__ = [
    "DOMAIN_INPUT_SCHEMA",
    "QUERY_BOUNDS",
    "Account", "AccountEnvelope", "DomainMetricsBody", "DomainMetricsEnvelope",
    "DomainMetricsRow", "ErrorEnvelope", "GapRunBody", "HealthEnvelope", "Meta",
    "PageMeta", "Prospect", "ProspectLinks", "ProspectLinksEnvelope", "ProspectPage", "Run",
    "RunEnvelope", "RunFilters",
    "RunFiltersBody", "RunList",
    "Summary", "SummaryEnvelope",
]

#: Bounded integer query parameters: (low, high), used for validation and messages.
QUERY_BOUNDS: dict[str, tuple[int, int]] = {
    "page": (1, 1_000_000),
    "per_page": (1, 100),
    "min_authority": (0, 100),
    "max_spam": (0, 100),
}

#: What the document says of every typed domain (body items and the competitor filter):
#: the checks the server makes that a schema can carry. The service checks them again,
#: with the Public Suffix List and UTS-46, and names the offending item in its 422.
DOMAIN_INPUT_SCHEMA: dict[str, Any] = {
    "minLength": 1, "maxLength": DOMAIN_INPUT_MAX_LENGTH, "pattern": DOMAIN_INPUT_PATTERN,
}
DomainText = Annotated[str, Field(json_schema_extra=DOMAIN_INPUT_SCHEMA)]

RunStatus = Literal["queued", "running", "completed", "failed", "expired"]
Mode = Literal["union", "intersect"]


# ---------------------------------------------------------------- request bodies

#: A callback URL: the pattern of a server without http receivers (the document of a
#: server that allows them carries its own: ``api.app``).
CallbackURL = Annotated[str, Field(max_length=MAX_URL_LENGTH, json_schema_extra={
    "format": "uri", "pattern": callback_url_pattern(allow_http=False)})]


class _StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RunFiltersBody(_StrictBody):
    """Run-time filters of ``POST /v1/backlinks/gap``: applied before ``limit``, so the run
    keeps the best ``limit`` prospects that pass them (SPEC 12)."""

    min_authority: int | None = Field(
        None, description="Only prospects with domain_rating ≥ this.",
        json_schema_extra={"minimum": 0, "maximum": 100})
    max_spam: int | None = Field(
        None, description="Only prospects with spam_score ≤ this.",
        json_schema_extra={"minimum": 0, "maximum": 100})
    dofollow: bool | None = Field(
        None, description="true: only prospects with a dofollow link to a competitor; "
                          "false: only those whose links to the competitors are all nofollow.")


class GapRunBody(_StrictBody):
    """Body of ``POST /v1/backlinks/gap``."""

    domain: str = Field(description="Your domain (any form: URL, Unicode, upper case).",
                        examples=["mysite.com"], json_schema_extra=DOMAIN_INPUT_SCHEMA)
    competitors: list[DomainText] = Field(
        description="1 to 20 competitor domains; duplicates after normalisation are merged.",
        examples=[["a.com", "b.com"]],
        json_schema_extra={"minItems": 1, "maxItems": 20},
    )
    mode: Mode = Field("union", description="union (default) or intersect (min_overlap = k).")
    min_overlap: int | None = Field(
        None, description="Union mode: prospects link to at least this many competitors "
                          "(1..k, default 1). With intersect it must equal k.",
        json_schema_extra={"minimum": 1, "maximum": 20},
    )
    limit: int = Field(100, description="Prospects kept, best first by score "
                                        "(10..LINKGAP_MAX_RUN_LIMIT).",
                       json_schema_extra={"minimum": 10})
    filters: RunFiltersBody | None = Field(
        None, description="Run-time filters, applied before limit; total_found counts "
                          "after them.")
    exclude: Annotated[list[DomainText], Field(json_schema_extra={"maxItems": MAX_EXCLUDE})
                       ] | None = Field(
        None, description="Up to 100 domains: a domain linking to any of them (any rel), "
                          "or one of them itself, is not a prospect. Applied before limit; "
                          "your own domain is ignored, a competitor is refused.",
        examples=[["mysister.com", "partner.org"]])
    callback_url: CallbackURL | None = Field(
        None,
        description="Where to POST the run, signed (`Linkgap-Signature`), when it completes "
                    "or fails (docs/webhooks.md). https (http only on a server with "
                    "LINKGAP_WEBHOOK_ALLOW_HTTP), no user name or password; a loopback, "
                    "private or link-local address (or `localhost`) is refused unless the "
                    "server sets LINKGAP_WEBHOOK_ALLOW_PRIVATE, and a name is checked again "
                    "on the addresses it resolves to at every attempt.",
        examples=["https://hooks.example.com/linkgap"],
    )


class DomainMetricsBody(_StrictBody):
    """Body of ``POST /v1/domains/metrics``."""

    domains: list[DomainText] = Field(
        description="1 to 10 domains; one invalid domain makes the request a 422.",
        examples=[["a.com", "b.com"]], json_schema_extra={"minItems": 1, "maxItems": 10},
    )


# ---------------------------------------------------------------- responses

class Meta(BaseModel):
    """Per-response metadata."""

    request_id: str = Field(description="Also in the X-Request-ID header.",
                            examples=["req_3f9c2a7d1e0b4c5a6d7e8f90"])
    credits_charged: int = Field(description="Credits this request cost (0 when free).")


class PageMeta(Meta):
    """Metadata of a paged list."""

    page: int
    per_page: int
    total: int = Field(description="Items after filters.")
    total_pages: int = Field(description="ceil(total / per_page); 0 when total is 0.")


class Notice(BaseModel):
    """A run warning or error."""

    code: str
    message: str


class RunFilters(BaseModel):
    """The run-time filters a run applied (null: not filtered on this)."""

    min_authority: int | None = Field(json_schema_extra={"minimum": 0, "maximum": 100})
    max_spam: int | None = Field(json_schema_extra={"minimum": 0, "maximum": 100})
    dofollow: bool | None


class Webhook(BaseModel):
    """The delivery of a run's callback (SPEC 13)."""

    status: Literal["pending", "delivered", "failed"] = Field(
        description="pending until delivered (a 2xx answer) or given up (failed, 24 hours "
                    "after the first attempt).")
    attempts: int = Field(description="Attempts made so far (0 until the run finishes).")
    last_error: str | None = Field(description="Why the last attempt failed (null when it "
                                               "did not).")
    next_attempt_at: str | None = Field(description="When the next attempt is due (pending "
                                                    "only).")


class Run(BaseModel):
    """A gap run; every field is always present, null while unknown."""

    id: str = Field(examples=["run_4c1f0a9e2b7d6c3a5e8f1b2d"])
    status: RunStatus
    domain: str
    competitors: list[str]
    mode: Mode
    min_overlap: int | None
    competitor_count: int
    limit: int
    filters: RunFilters = Field(description="The run-time filters, applied before limit.")
    exclude: list[str] = Field(description="The excluded domains (canonical), applied "
                                           "before limit.")
    created_at: str = Field(description="ISO-8601 UTC, ending in Z.")
    prospect_count: int | None = Field(description="Prospects kept.")
    total_found: int | None = Field(description="Prospects found in all, after the "
                                                "run-time filters and exclusions.")
    credits_charged: int | None
    started_at: str | None
    finished_at: str | None
    index_version: str | None
    warnings: list[Notice] | None
    error: Notice | None
    callback_url: str | None = Field(description="Where the run is POSTed when it ends.")
    webhook: Webhook | None = Field(description="The callback's delivery; null without a "
                                                "callback_url.")


class RunEnvelope(BaseModel):
    """One run."""

    data: Run
    meta: Meta


class RunList(BaseModel):
    """A page of the account's runs, newest first."""

    data: list[Run]
    meta: PageMeta


class Prospect(BaseModel):
    """A link prospect (SPEC section 4)."""

    domain: str
    domain_rating: int
    backlinks: int
    referring_domains: int
    competitor_overlap: int
    competitors: list[str]
    dofollow: bool
    spam_score: int
    score: int
    rank: int


class LinkSample(BaseModel):
    """One sample link from a prospect's pages to a competitor (SPEC 12)."""

    source_url: str = Field(description="The linking page.")
    target_url: str = Field(description="The competitor's page it links to.")
    anchor: str | None = Field(description="Anchor text (up to 200 characters); null when "
                                           "the link had none.")
    dofollow: bool
    first_seen: str | None = Field(description="ISO-8601 UTC; null when unknown.")
    last_seen: str | None


class CompetitorLinks(BaseModel):
    """The prospect's links to one competitor: counts, dates and sample links."""

    competitor: str
    links_total: int = Field(description="Links from the prospect to the competitor, any "
                                         "rel.")
    dofollow_links: int
    first_seen: str | None = Field(description="Earliest seen of those links (null when "
                                               "unknown).")
    last_seen: str | None
    samples: list[LinkSample] = Field(description="Up to the index's --evidence N links: "
                                                  "dofollow first, then earliest seen, then "
                                                  "URL order.")


class ProspectLinks(Prospect):
    """A prospect with the links behind it (SPEC 12)."""

    links: list[CompetitorLinks] = Field(description="Per competitor it links to, in run "
                                                     "order.")
    links_frozen: bool = Field(description="true: frozen with the run (its first "
                                           "LINKGAP_EVIDENCE_FREEZE_MAX prospects); false: "
                                           "read from the current index.")
    links_index_version: str = Field(description="The index version the links come from.")


class ProspectLinksEnvelope(BaseModel):
    """One prospect and its links."""

    data: ProspectLinks
    meta: Meta


class ProspectPage(BaseModel):
    """A page of a run's prospects."""

    data: list[Prospect]
    meta: PageMeta


class Band(BaseModel):
    """Prospects in one domain_rating band."""

    band: str = Field(examples=["70-79"])
    min: int
    max: int
    count: int


class OverlapCount(BaseModel):
    """Prospects linking to exactly ``overlap`` competitors."""

    overlap: int
    count: int


class DofollowSplit(BaseModel):
    """Prospects with and without a dofollow link (to the ``competitor`` filter, if given)."""

    dofollow: int
    nofollow: int


class Summary(BaseModel):
    """Counts over a run's (filtered) prospects."""

    total: int
    domain_rating: list[Band]
    competitor_overlap: list[OverlapCount]
    dofollow: DofollowSplit


class SummaryEnvelope(BaseModel):
    """A run summary."""

    data: Summary
    meta: Meta


class DomainMetricsRow(BaseModel):
    """Metrics of one requested domain; the metric fields are null when ``found`` is false."""

    input: str
    domain: str
    found: bool
    domain_rating: int | None
    backlinks: int | None
    referring_domains: int | None
    spam_score: int | None
    spam_signals: list[str] | None
    rank: int | None
    linked_domains: int | None
    outlinks: int | None
    fetched_at: str | None = Field(description="Build time of the index version read.")


class DomainMetricsEnvelope(BaseModel):
    """Metrics in input order."""

    data: list[DomainMetricsRow]
    meta: Meta


class Credits(BaseModel):
    """An account's credit balance."""

    available: int
    monthly_quota: int
    monthly_used: int
    topup_balance: int
    resets_at: str


class Pricing(BaseModel):
    """What runs and domain look-ups cost on this server (server settings)."""

    run_cost_divisor: int = Field(description="D in the run cost max(1, ceil(k × limit / D)) "
                                              "(LINKGAP_RUN_COST_DIVISOR).", examples=[30])
    metrics_cost: int = Field(description="Credits per domain found by POST "
                                          "/v1/domains/metrics (LINKGAP_METRICS_COST).")
    competitors_cost: int = Field(description="Credits per GET /v1/domains/{domain}/"
                                              "competitors of an indexed domain "
                                              "(LINKGAP_COMPETITORS_COST).")
    max_run_limit: int = Field(description="Largest limit a run may ask for "
                                           "(LINKGAP_MAX_RUN_LIMIT).")
    max_competitors: int = Field(description="Most distinct competitors in one run.")


class Account(BaseModel):
    """The calling key's account, and the prices that apply to it."""

    name: str
    credits: Credits
    pricing: Pricing


class AccountEnvelope(BaseModel):
    """The account."""

    data: Account
    meta: Meta


class Health(BaseModel):
    """Server health."""

    status: Literal["ok"]
    index_version: str = Field(description="The published index version new runs use.")


class HealthMeta(BaseModel):
    """Metadata outside /v1."""

    request_id: str


class HealthEnvelope(BaseModel):
    """Health answer."""

    data: Health
    meta: HealthMeta


class ErrorDetail(BaseModel):
    """The error itself: a stable machine code and a sentence."""

    code: str = Field(examples=["invalid_parameter"])
    message: str = Field(examples=["per_page must be between 1 and 100"])
    param: str | None = Field(None, description="The offending parameter, "
                                                "e.g. per_page or competitors[1].")
    details: dict[str, Any] | None = Field(None, description="Structured extras "
                                                             "(status, allowed, ...).")


class ErrorMeta(BaseModel):
    """Metadata of an error (credits_charged, always 0, under /v1 only)."""

    request_id: str
    credits_charged: int | None = None


class ErrorEnvelope(BaseModel):
    """The one error shape."""

    error: ErrorDetail
    meta: ErrorMeta
