"""The one place that turns errors into HTTP responses.

Every error linkgap answers has the same shape (SPEC section 5)::

    {"error": {"code": "...", "message": "...", "param": "...", "details": {...}},
     "meta": {"request_id": "req_...", "credits_charged": 0}}

``param`` and ``details`` appear only when they carry something; ``credits_charged``
appears under ``/v1`` (an error never charges anything). This module maps the
``linkgap.errors`` tree, FastAPI's request validation errors and Starlette's HTTP
exceptions onto that shape, and turns anything unexpected into a logged 500 that
reveals nothing about the input.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import Scope

from linkgap.errors import LinkgapError

__all__ = [
    "error_body",
    "error_response",
    "install_error_handlers",
    "linkgap_error_response",
    "param_from_loc",
    "validation_error_response",
    "validation_message",
]

logger = logging.getLogger("linkgap.api")

#: HTTP status → stable code for Starlette/FastAPI errors that do not come from linkgap.
_HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_parameter",
    429: "rate_limited",
}

_HTTP_MESSAGES: dict[int, str] = {
    404: "no such path",
    405: "method not allowed on this path",
}


def is_paid_get_path(path: str) -> bool:
    """True for the GET that costs credits (link competitors): HEAD is refused there, since
    a HEAD would be charged without showing what it bought."""
    return path.startswith("/v1/domains/") and path.endswith("/competitors")


def is_api_path(path: str) -> bool:
    """True for paths under ``/v1``, where auth applies and ``meta.credits_charged`` is reported."""
    return path == "/v1" or path.startswith("/v1/")


def error_response(
    scope: Scope,
    status: int,
    code: str,
    message: str,
    *,
    param: str | None = None,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A JSON error response in the one linkgap error shape, for the request in ``scope``."""
    state = scope.get("state") or {}
    body = error_body(code, message, str(state.get("request_id", "")),
                      api=is_api_path(scope.get("path", "")), param=param, details=details)
    return JSONResponse(body, status_code=status, headers=headers)


def error_body(code: str, message: str, request_id: str, *, api: bool = False,
               param: str | None = None, details: Mapping[str, Any] | None = None
               ) -> dict[str, Any]:
    """The one error shape: ``{"error": {code, message, param?, details?}, "meta": {...}}``
    (``meta.credits_charged`` under ``/v1``). Also used for answers the HTTP server writes
    itself, before a request reaches the app (431, 408)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if param is not None:
        error["param"] = param
    if details:
        error["details"] = dict(details)
    meta: dict[str, Any] = {"request_id": request_id}
    if api:
        meta["credits_charged"] = 0
    return {"error": error, "meta": meta}


def linkgap_error_response(scope: Scope, exc: LinkgapError) -> JSONResponse:
    """The response for a deliberate linkgap error (the ``linkgap.errors`` tree)."""
    status = exc.status
    if status >= 500 and status not in (501, 503):
        # A linkgap error without an HTTP meaning (a build or database problem) reaching
        # the API is a server-side fault, not the caller's: log it, reveal nothing.
        logger.error("unmapped linkgap error %s answering %s (%s): %s", exc.code,
                     scope.get("path"), (scope.get("state") or {}).get("request_id"),
                     exc.operator_message)
        return error_response(scope, 500, "internal_error", "internal server error")
    if exc.operator_detail:
        # Server paths and OS errors are for the operator's log, never for the caller.
        logger.warning("%s answering %s (%s): %s", exc.code, scope.get("path"),
                       (scope.get("state") or {}).get("request_id"), exc.operator_message)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_response(
        scope, status, exc.code, exc.message, param=exc.param, details=exc.details,
        headers=headers,
    )


def param_from_loc(loc: Sequence[Any]) -> str | None:
    """A pydantic error location as a parameter name: ``("body", "competitors", 1)`` →
    ``competitors[1]``; the ``body``/``query``/``path`` prefix is dropped."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name = f"{name}.{part}" if name else str(part)
    return name or None


_TYPE_NAMES = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "string_type": "a string", "list_type": "a list", "bool_type": "a boolean",
    "bool_parsing": "true, false, 1 or 0", "model_type": "a JSON object",
    "dict_type": "a JSON object",
}


def validation_message(err: Mapping[str, Any], param: str | None) -> str:
    """A sentence for one pydantic error, naming the parameter."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    subject = param or "request body"
    if kind == "missing":
        return f"{subject} is required"
    if kind == "extra_forbidden":
        return f"unknown field {subject!r}"
    if kind in _TYPE_NAMES:
        return f"{subject} must be {_TYPE_NAMES[kind]}"
    if kind == "literal_error" and "expected" in ctx:
        return f"{subject} must be one of {ctx['expected']}"
    if kind in ("greater_than_equal", "less_than_equal"):
        bounds = err.get("_bounds")
        if bounds is not None:
            return f"{subject} must be between {bounds[0]} and {bounds[1]}"
        if "ge" in ctx:
            return f"{subject} must be at least {ctx['ge']}"
        return f"{subject} must be at most {ctx['le']}"
    if kind in ("too_short", "too_long"):
        return f"{subject}: {err.get('msg', 'wrong length')}"
    return f"{subject}: {err.get('msg', 'invalid value')}"


def validation_error_response(scope: Scope, errors: Sequence[Mapping[str, Any]],
                         bounds: Mapping[str, tuple[int, int]] | None = None) -> JSONResponse:
    """422 ``invalid_parameter`` for the first error (or 400 ``invalid_json``)."""
    if not errors:
        return error_response(scope, 422, "invalid_parameter", "invalid request")
    first = dict(errors[0])
    if first.get("type") == "json_invalid":
        reason = first.get("msg")
        message = "request body is not valid JSON" + (f": {reason}" if reason else "")
        return error_response(scope, 400, "invalid_json", message)
    param = param_from_loc(first.get("loc", ()))
    if bounds and param is not None and param in bounds:
        first["_bounds"] = bounds[param]
    return error_response(
        scope, 422, "invalid_parameter", validation_message(first, param), param=param
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route accepts on the path in ``scope`` (for the Allow header)."""
    allowed = []
    for method in _METHODS:
        probe = {**scope, "method": method, "fastapi": {}}
        if any(route.matches(probe)[0] is Match.FULL for route in app.router.routes):
            allowed.append(method)
    if "GET" in allowed and "HEAD" not in allowed and not is_paid_get_path(scope["path"]):
        allowed.insert(1, "HEAD")  # served by the gateway as a GET without a body
    return allowed


def install_error_handlers(app: FastAPI, bounds: Mapping[str, tuple[int, int]]) -> None:
    """Register the handlers that give every error the linkgap shape.

    ``bounds`` gives the (low, high) range of bounded query parameters so that a
    range error reads "per_page must be between 1 and 100".
    """

    async def on_linkgap(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LinkgapError)
        return linkgap_error_response(request.scope, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return validation_error_response(request.scope, list(exc.errors()), bounds)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        headers = dict(exc.headers or {})
        if status == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, request.scope))
        code = _HTTP_CODES.get(status, "http_error" if status < 500 else "internal_error")
        detail = exc.detail if isinstance(exc.detail, str) else None
        message = _HTTP_MESSAGES.get(status) or detail or "request failed"
        return error_response(request.scope, status, code, message, headers=headers or None)

    app.add_exception_handler(LinkgapError, on_linkgap)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
