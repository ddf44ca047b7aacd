"""The HTTP routes of SPEC section 5: thin adapters over ``LinkgapService`` and
``linkgap.prospects``. Each parses its parameters, calls the service, and writes
``{"data": ..., "meta": {...}}``; errors are raised and rendered by
``linkgap.api.errors``.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from annotated_types import Interval
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from linkgap import prospects as pq
from linkgap.api.bodies import fingerprint, idempotent, read_json_body
from linkgap.api.fastpath import page_body
from linkgap.api.listing import csv_export
from linkgap.api.models import (
    DOMAIN_INPUT_SCHEMA,
    QUERY_BOUNDS,
    AccountEnvelope,
    DomainMetricsBody,
    DomainMetricsEnvelope,
    ErrorEnvelope,
    GapRunBody,
    HealthEnvelope,
    ProspectLinksEnvelope,
    ProspectPage,
    RunEnvelope,
    RunList,
    SummaryEnvelope,
)

__all__ = ["router"]

router = APIRouter()

_ERROR_TEXT = {
    400: "Body is not valid JSON (`invalid_json`).",
    401: "Key missing, malformed, unknown or revoked (`unauthorized`).",
    402: "The request costs more credits than the balance (`insufficient_credits`).",
    404: "Unknown run, or a run of another account (`not_found`).",
    409: "Conflict (`run_not_completed` with details.status, or `idempotency_conflict`).",
    410: "The run has expired: retention deleted its prospects (`run_expired`).",
    413: "Body over 64 KiB (`payload_too_large`).",
    415: "Body not sent as application/json (`unsupported_media_type`).",
    422: "Invalid parameter (`invalid_parameter`, `param` names it).",
    429: "Over the key's rate limit (`rate_limited`, Retry-After header).",
    503: "The server has no usable index (`index_unavailable`).",
}


_GAP_422 = (_ERROR_TEXT[422] + " Also `competitors_not_indexed` (`details.missing` lists "
            "them) when fewer than min_overlap competitors are in the index: no prospect "
            "could exist, so nothing is charged or queued.")


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI response entries for the given error statuses, plus 401 and 429 (all of /v1)."""
    wanted = sorted({401, 429, *statuses})
    return {s: {"model": ErrorEnvelope, "description": _ERROR_TEXT[s]} for s in wanted}


def _parse_bool(value: Any) -> Any:
    """Query booleans: true/false/1/0 (case-insensitive), nothing else."""
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise PydanticCustomError("bool_parsing", "must be true, false, 1 or 0")


_INTEGER = re.compile(r"-?[0-9]+(\.0+)?\Z")


def _parse_int(value: Any) -> Any:
    """Query integers: optional minus and digits, and a zero fraction ("5.0" is 5, as JSON
    Schema counts integers); " 5", "5.5" and "5e0" are not integers."""
    if value is None or isinstance(value, int):
        return value
    text = str(value)
    if not _INTEGER.match(text):
        raise PydanticCustomError("int_parsing", "must be an integer")
    text = text.split(".", 1)[0]
    if len(text.lstrip("-")) > 18:
        # Far out of every range; keep the number small enough to compare cheaply.
        return -(10**18) if text.startswith("-") else 10**18
    return int(text)


# Interval before the validator: pydantic then writes minimum/maximum into the schema.
_P, _PP, _DR, _SP = (QUERY_BOUNDS[n] for n in ("page", "per_page", "min_authority", "max_spam"))
PageInt = Annotated[int, Interval(ge=_P[0], le=_P[1]), BeforeValidator(_parse_int)]
PerPageInt = Annotated[int, Interval(ge=_PP[0], le=_PP[1]), BeforeValidator(_parse_int)]
AuthorityInt = Annotated[int, Interval(ge=_DR[0], le=_DR[1]), BeforeValidator(_parse_int)]
SpamInt = Annotated[int, Interval(ge=_SP[0], le=_SP[1]), BeforeValidator(_parse_int)]
QueryBool = Annotated[bool | None, BeforeValidator(_parse_bool)]
Page = Annotated[PageInt, Query(description="1-based page number.")]
PerPage = Annotated[PerPageInt, Query(description="Items per page.")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=255,
    description="Makes the POST safe to retry: a repeat with the same body within 24 h "
                "replays the first answer and charges nothing.",
)]


def _account(request: Request) -> str:
    return str(request.state.principal.account_id)


def _service(request: Request) -> Any:
    return request.app.state.service


def _meta(request: Request, credits: int = 0, **extra: Any) -> dict[str, Any]:
    return {**extra, "request_id": request.state.request_id, "credits_charged": credits}


def _page_meta(request: Request, page: int, per_page: int, total: int) -> dict[str, Any]:
    return _meta(request, page=page, per_page=per_page, total=total,
                 total_pages=math.ceil(total / per_page) if total else 0)


# ---------------------------------------------------------------- health

@router.get("/healthz", response_model=HealthEnvelope, tags=["server"],
            summary="Server health and the index version new runs use",
            responses={503: {"model": ErrorEnvelope, "description": _ERROR_TEXT[503]}})
def healthz(request: Request) -> Response:
    """Public: ``status`` ok and the published index version; 503 when there is none."""
    version = str(_service(request).index().version)
    return JSONResponse({"data": {"status": "ok", "index_version": version},
                         "meta": {"request_id": request.state.request_id}})


# ---------------------------------------------------------------- runs

@router.post("/v1/backlinks/gap", status_code=202, response_model=RunEnvelope, tags=["runs"],
             summary="Start a gap run",
             responses={**_errors(400, 402, 409, 413, 415, 422, 503), 422: {
                 "model": ErrorEnvelope, "description": _GAP_422}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"$ref": "#/components/schemas/GapRunBody"}}}}})
async def create_run(request: Request, idempotency_key: IdempotencyKey = None) -> Response:
    """Queue a gap run; 202 with a Location header, the run, and the credits it cost."""
    body, parsed = await read_json_body(request, GapRunBody)
    service = _service(request)
    account_id = _account(request)

    def call(idem: Any) -> tuple[Any, int]:
        return service.create_run(
            account_id, domain=body.domain, competitors=body.competitors, mode=body.mode,
            min_overlap=body.min_overlap, limit=body.limit,
            filters=None if body.filters is None else body.filters.model_dump(),
            exclude=body.exclude, callback_url=body.callback_url, idempotency=idem,
        )

    def respond(view: Any, charged: int) -> tuple[int, dict[str, Any]]:
        return 202, {"data": view.as_dict(), "meta": _meta(request, charged)}

    return await run_in_threadpool(
        idempotent, request, service, account_id, idempotency_key,
        fingerprint(request.url.path, parsed), call, respond,
    )


@router.get("/v1/backlinks/gap", response_model=RunList, tags=["runs"],
            summary="The account's runs, newest first", responses=_errors(422))
def list_runs(
    request: Request,
    page: Page = 1,
    per_page: PerPage = 50,
    status: Annotated[Literal["queued", "running", "completed", "failed", "expired"] | None,
                      Query(description="Only runs with this status.")] = None,
) -> Response:
    """A page of the account's runs (newest first, ties by id)."""
    views, total = _service(request).list_runs(
        _account(request), status=status, page=page, per_page=per_page)
    return JSONResponse({"data": [v.as_dict() for v in views],
                         "meta": _page_meta(request, page, per_page, total)})


@router.get("/v1/backlinks/gap/{run_id}", response_model=RunEnvelope, tags=["runs"],
            summary="One run", responses=_errors(404))
def get_run(request: Request, run_id: str) -> Response:
    """The run with every field (null while unknown)."""
    view = _service(request).get_run(_account(request), run_id)
    return JSONResponse({"data": view.as_dict(), "meta": _meta(request)})


# ---------------------------------------------------------------- prospects

#: Order and format of the prospect lists (the prospects and the diff of a run).
SortParam = Annotated[Literal[pq.SORTS], Query(  # type: ignore[valid-type]
    description="Order by this field; rank orders by authority "
                "(sort=rank&order=desc lists rank 1 first).")]
OrderParam = Annotated[Literal["asc", "desc"], Query(description="Sort direction.")]
FormatParam = Annotated[Literal["json", "csv"] | None, Query(
    description="json (default) or csv; `Accept: text/csv` also selects CSV.")]


class Filters:
    """The prospect filters shared by the prospects and summary endpoints."""

    def __init__(
        self,
        min_authority: Annotated[AuthorityInt | None, Query(
            description="Only prospects with domain_rating ≥ this.")] = None,
        max_spam: Annotated[SpamInt | None, Query(
            description="Only prospects with spam_score ≤ this.")] = None,
        dofollow: Annotated[QueryBool, Query(
            description="true: only prospects with a dofollow link to a competitor (to "
                        "`competitor` when given); false: only those without. "
                        "Accepts true/false/1/0.")] = None,
        competitor: Annotated[str | None, Query(
            description="Only prospects linking to this competitor (normalised; must be "
                        "one of the run's competitors).",
            json_schema_extra=DOMAIN_INPUT_SCHEMA)] = None,
        q: Annotated[str | None, Query(
            description="Case-insensitive substring of the prospect's domain "
                        "(canonical or Unicode form).")] = None,
    ) -> None:
        self.min_authority = min_authority
        self.max_spam = max_spam
        self.dofollow = dofollow
        self.competitor = competitor
        self.q = q


def _query(result: Any, filters: Filters, sort: str = "score", order: str = "desc"
           ) -> pq.ProspectQuery:
    competitor = pq.resolve_competitor(result, filters.competitor) if filters.competitor \
        else None
    return pq.ProspectQuery(
        min_authority=filters.min_authority, max_spam=filters.max_spam,
        dofollow=filters.dofollow, competitor=competitor, q=filters.q or None,
        sort=sort, order=order,
    )


@router.get(
    "/v1/backlinks/gap/{run_id}/prospects", response_model=ProspectPage, tags=["runs"],
    summary="A run's prospects: filter, sort, page, or export CSV",
    responses={
        200: {"description": "A page of prospects, or with format=csv (or Accept: text/csv) "
                             "every filtered prospect as a CSV attachment.",
              "content": {"text/csv": {"schema": {"type": "string"}}}},
        **_errors(404, 409, 410, 422),
    },
)
def list_prospects(
    request: Request,
    run_id: str,
    filters: Annotated[Filters, Depends()],
    sort: SortParam = "score",
    order: OrderParam = "desc",
    page: Page = 1,
    per_page: PerPage = 50,
    format: FormatParam = None,
    include: Annotated[Literal["links"] | None, Query(
        description="CSV only: `links` writes one row per sample link behind each "
                    "prospect (prospect fields first, then competitor, source_url, "
                    "target_url, anchor, link_dofollow). A JSON page ignores it: a "
                    "prospect's links as JSON are at …/prospects/{domain}.")] = None,
) -> Response:
    """Filtered, sorted prospects of a completed run, a page as JSON or all as CSV."""
    service = _service(request)
    account_id = _account(request)
    result = service.run_result(account_id, run_id)
    query = _query(result, filters, sort, order)

    def links_csv() -> Any:
        # A CSV whose links need the index answers 503 before it starts streaming.
        service.check_links_readable(run_id, result)

        def links_of(rows: Any) -> Any:
            return (links for _, links, _, _ in service.prospect_links(
                account_id, run_id, result, rows))

        return pq.iter_csv_with_links(result, query, links_of)

    if include == "links":
        csv = csv_export(request, format, links_csv,
                         f"linkgap-{run_id}-prospect-links.csv")
    else:
        csv = csv_export(request, format, lambda: pq.iter_csv(result, query),
                         f"linkgap-{run_id}-prospects.csv")
    if csv is not None:
        return csv
    data, total = pq.query_page_json(result, query, page, per_page)
    return Response(page_body(data, request.state.request_id, page, per_page, total),
                    media_type="application/json")


@router.get("/v1/backlinks/gap/{run_id}/prospects/{domain}",
            response_model=ProspectLinksEnvelope, tags=["runs"],
            summary="One prospect and the links behind it (free)",
            responses={**_errors(404, 409, 410, 503), 404: {
                "model": ErrorEnvelope,
                "description": "Unknown run, a run of another account, or a domain that is "
                               "not a prospect of the run (`not_found`)."}})
def get_prospect(
    request: Request, run_id: str,
    domain: Annotated[str, Path(description="The prospect, in any form (URL, Unicode, "
                                            "upper case); URL-encode it as a path segment.")],
) -> Response:
    """Every prospect field plus ``links``: per competitor it links to, in run order, the
    counts, dates and sample links; frozen with the run for its first
    LINKGAP_EVIDENCE_FREEZE_MAX prospects, else read from the current index (503 when
    there is none)."""
    data = _service(request).prospect(_account(request), run_id, domain)
    return JSONResponse({"data": data, "meta": _meta(request)})


@router.get("/v1/backlinks/gap/{run_id}/summary", response_model=SummaryEnvelope,
            tags=["runs"], summary="Counts over a run's prospects (same filters)",
            responses=_errors(404, 409, 410, 422))
def run_summary(request: Request, run_id: str,
                filters: Annotated[Filters, Depends()]) -> Response:
    """Prospects by domain_rating band, competitor overlap and dofollow, after filters."""
    result = _service(request).run_result(_account(request), run_id)
    return JSONResponse({"data": pq.summarize(result, _query(result, filters)),
                         "meta": _meta(request)})


# ---------------------------------------------------------------- metrics and account

@router.post("/v1/domains/metrics", response_model=DomainMetricsEnvelope, tags=["domains"],
             summary="Metrics of 1-10 domains",
             responses=_errors(400, 402, 409, 413, 415, 422, 503),
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {
                     "$ref": "#/components/schemas/DomainMetricsBody"}}}}})
async def domain_metrics(request: Request, idempotency_key: IdempotencyKey = None) -> Response:
    """Metrics in input order; one credit per domain found, cache hits free, 402 all-or-nothing."""
    body, parsed = await read_json_body(request, DomainMetricsBody)
    service = _service(request)
    account_id = _account(request)

    def call(idem: Any) -> tuple[Any, int]:
        return service.domain_metrics(
            account_id, body.domains, idempotency=idem)

    def respond(rows: Any, charged: int) -> tuple[int, dict[str, Any]]:
        return 200, {"data": rows, "meta": _meta(request, charged)}

    return await run_in_threadpool(
        idempotent, request, service, account_id, idempotency_key,
        fingerprint(request.url.path, parsed), call, respond,
    )


@router.get("/v1/account", response_model=AccountEnvelope, tags=["account"],
            summary="The calling key's account and credits", responses=_errors())
def account(request: Request) -> Response:
    """The account name, its credit balance, and what runs cost on this server."""
    service = _service(request)
    view = service.account(_account(request))
    return JSONResponse({"data": {**view.as_dict(), "pricing": service.pricing()},
                         "meta": _meta(request)})
