"""The FastAPI application: routes, the web page, error handlers and the OpenAPI document.

``create_app(service, settings)`` builds an app around a ready ``LinkgapService``;
it starts no threads (``linkgap serve`` starts the service's worker).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from linkgap import __version__
from linkgap.api.accesslog import AccessLog
from linkgap.api.competitors import router as competitors_router
from linkgap.api.diffs import router as diff_router
from linkgap.api.errors import install_error_handlers
from linkgap.api.fastpath import ProspectsFastPath
from linkgap.api.gateway import GatewayMiddleware
from linkgap.api.headers import CorsPolicy
from linkgap.api.models import QUERY_BOUNDS, DomainMetricsBody, GapRunBody
from linkgap.api.ratelimit import SharedRateLimiter
from linkgap.api.routes import router
from linkgap.service import LinkgapService
from linkgap.settings import Settings
from linkgap.webhooks.addresses import callback_url_pattern

__all__ = ["STATIC_DIR", "create_app"]

#: The web page's files: ``/`` serves index.html, ``/static/<name>`` the rest.
STATIC_DIR = Path(str(files("linkgap") / "web" / "static"))

_DESCRIPTION = """\
Find link prospects: domains that link to your competitors but not to you.

Everything under `/v1` needs `Authorization: Bearer <key>` (`linkgap keys create`).
Every JSON response carries `meta.request_id` (also the `X-Request-ID` header) and,
under `/v1`, `meta.credits_charged`. Every error has one shape:
`{"error": {"code", "message", "param"?, "details"?}, "meta": {"request_id"}}`.
"""


def create_app(service: LinkgapService, settings: Settings, *,
               access_log: AccessLog | None = None) -> FastAPI:
    """The linkgap HTTP app serving ``service`` (SPEC sections 5 and 9); ``access_log``
    gets a line per request (``linkgap serve`` passes one unless LINKGAP_ACCESS_LOG is
    false)."""
    app = FastAPI(
        title="linkgap",
        version=__version__,
        description=_DESCRIPTION,
        redoc_url=None,
        docs_url=None,  # FastAPI's Swagger UI loads from a CDN; /docs below is served offline
        separate_input_output_schemas=False,
    )
    app.router.redirect_slashes = False  # /v1/account/ is an unknown path, not a redirect
    app.state.service = service
    app.state.settings = settings

    app.include_router(router)
    app.include_router(diff_router)
    app.include_router(competitors_router)

    @app.get("/", include_in_schema=False)
    def index_page() -> Response:
        page = STATIC_DIR / "index.html"
        if not page.is_file():
            raise StarletteHTTPException(404)
        return FileResponse(page, media_type="text/html; charset=utf-8")

    @app.get("/docs", include_in_schema=False)
    def api_reference() -> Response:
        return FileResponse(STATIC_DIR / "apidocs.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")

    install_error_handlers(app, QUERY_BOUNDS)
    app.add_middleware(
        GatewayMiddleware,
        authenticate=service.authenticate,
        limiter=SharedRateLimiter(service.rate_lease, service.rate_return,
                                  int(settings.rate_limit)),
        cors=CorsPolicy(settings.cors_origins or ()),
        body_timeout=float(settings.body_timeout),
        max_head_bytes=int(settings.max_header_bytes),
        authenticate_cached=service.authenticate_cached,
        fast_path=ProspectsFastPath(service).body,
        access_log=access_log,
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _openapi_document(app, settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


_HEADER_DOCS: dict[str, tuple[str, str]] = {
    "X-Request-ID": ("string", "This request's id (also meta.request_id)."),
    "RateLimit-Limit": ("integer", "Requests allowed per minute for this key."),
    "RateLimit-Remaining": ("integer", "Requests left in the current window."),
    "RateLimit-Reset": ("integer", "Seconds until the oldest counted request leaves the window."),
    "Retry-After": ("integer", "Seconds to wait before retrying."),
    "Location": ("string", "The new run's URL."),
    "WWW-Authenticate": ("string", "Bearer"),
    "Content-Disposition": ("string", "attachment, for CSV."),
    "Idempotent-Replayed": ("string", "true when the answer replays an earlier request's."),
    "Connection": ("string", "close: the server closes the connection after this answer."),
}

#: Answers the server can give on every operation, before its route runs (the gateway
#: and the connection layer, :mod:`linkgap.api.gateway`, :mod:`linkgap.api.connections`).
_TRANSPORT_ERRORS: dict[str, str] = {
    "408": "The request body did not arrive within LINKGAP_BODY_TIMEOUT ({body_timeout} s) "
           "(`request_timeout`); the connection is closed.",
    "413": "Body over 64 KiB (`payload_too_large`); the connection is closed.",
    "431": "Request head (request line and headers) over LINKGAP_MAX_HEADER_BYTES "
           "({max_header_bytes} bytes) (`headers_too_large`); answered before the key is "
           "checked, and the connection is closed.",
}
#: Statuses answered before the key is checked: no RateLimit-* headers.
_BEFORE_AUTH = {"401", "431"}


def _header(name: str, required: bool = True) -> dict[str, Any]:
    kind, text = _HEADER_DOCS[name]
    return {"description": text, "required": required, "schema": {"type": kind}}


def _openapi_document(app: FastAPI, settings: Any) -> dict[str, Any]:
    """FastAPI's document, completed: body schemas, server limits, security, headers."""
    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for model in (GapRunBody, DomainMetricsBody):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    schemas["GapRunBody"]["properties"]["limit"]["maximum"] = int(settings.max_run_limit)
    callback = schemas["GapRunBody"]["properties"]["callback_url"]
    for option in callback.get("anyOf", [callback]):
        if option.get("type") == "string":
            option["pattern"] = callback_url_pattern(
                allow_http=bool(settings.webhook_allow_http))
    doc["components"]["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer",
                   "description": "An API key from `linkgap keys create`."},
    }
    for path, operations in doc.get("paths", {}).items():
        under_v1 = path.startswith("/v1/")
        for method, op in operations.items():
            if under_v1:
                op["security"] = [{"bearer": []}]
            responses = op.get("responses", {})
            auto = responses.get("422", {}).get("content", {}).get("application/json", {})
            if auto.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                # FastAPI's automatic 422: the routes that can answer 422 declare it.
                del responses["422"]
            for status, text in _TRANSPORT_ERRORS.items():
                responses.setdefault(status, {"description": text.format(
                    body_timeout=settings.body_timeout,
                    max_header_bytes=settings.max_header_bytes)})
                responses[status]["content"] = {"application/json": {"schema": {
                    "$ref": "#/components/schemas/ErrorEnvelope"}}}
            op["responses"] = dict(sorted(responses.items()))
            for status, response in op["responses"].items():
                content = response.get("content", {})
                headers = response.setdefault("headers", {})
                headers["X-Request-ID"] = _header("X-Request-ID")
                if status in _TRANSPORT_ERRORS:
                    headers["Connection"] = _header("Connection")
                if under_v1 and status not in _BEFORE_AUTH:
                    for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
                        headers[name] = _header(name)
                if status == "429":
                    headers["Retry-After"] = _header("Retry-After")
                if status == "401":
                    headers["WWW-Authenticate"] = _header("WWW-Authenticate")
                if status == "202":
                    headers["Location"] = _header("Location")
                if status.startswith("2") and method == "post":
                    headers["Idempotent-Replayed"] = _header("Idempotent-Replayed", False)
                if "text/csv" in content:
                    headers["Content-Disposition"] = _header("Content-Disposition", False)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return doc
