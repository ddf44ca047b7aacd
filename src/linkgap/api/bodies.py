"""Reading JSON request bodies strictly, and Idempotency-Key handling for the POSTs.

Order of checks for a POST body: media type (415), JSON syntax (400), shape and
types against the strict model (422 naming the parameter). Range and domain
rules are the service's.
"""

from __future__ import annotations

import email.message
import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from linkgap.api.errors import linkgap_error_response
from linkgap.errors import LinkgapError

__all__ = ["fingerprint", "idempotent", "read_json_body"]

M = TypeVar("M", bound=BaseModel)


def _is_json_media_type(value: str | None) -> bool:
    if not value:
        return False
    message = email.message.Message()
    message["content-type"] = value
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


async def read_json_body(request: Request, model: type[M]) -> tuple[M, Any]:
    """The request body validated against ``model``, and the parsed JSON it came from.

    Raises a 415 HTTPException when the body is not declared ``application/json``,
    and RequestValidationError (rendered as 400 invalid_json or 422
    invalid_parameter) when it is not JSON or does not fit the model.
    """
    if not _is_json_media_type(request.headers.get("content-type")):
        raise StarletteHTTPException(
            415, detail="the request body must be JSON, sent with 'Content-Type: application/json'"
        )
    raw = await request.body()
    try:
        parsed = json.loads(raw, parse_int=_bounded_int, parse_float=_integral_as_int,
                            parse_constant=_no_constant)
        # A lone surrogate escape ("\\ud800") parses but is no Unicode text.
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except json.JSONDecodeError as exc:
        raise _invalid_json(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except UnicodeError:
        raise _invalid_json("text that is not valid UTF-8 or contains a lone surrogate "
                            "escape") from None
    except ValueError as exc:  # NaN/Infinity, which JSON does not have
        raise _invalid_json(str(exc)) from None
    except RecursionError:
        raise _invalid_json("nested too deeply") from None
    try:
        return model.model_validate(parsed), parsed
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def _invalid_json(reason: str) -> RequestValidationError:
    return RequestValidationError([{"type": "json_invalid", "loc": ("body",), "msg": reason}])


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _bounded_int(text: str) -> int:
    """JSON integers, with absurdly long ones (Python refuses > 4300 digits) clamped far
    outside every range, so they read as out of range rather than as invalid JSON."""
    digits = text.lstrip("-")
    if len(digits) > 30:
        return -(10**30) if text.startswith("-") else 10**30
    return int(text)


def _integral_as_int(text: str) -> int | float:
    """JSON numbers with a fraction or exponent; integral ones (``100.0``, ``1e2``) are
    integers, as JSON Schema 2020-12 (and so the OpenAPI document) counts them."""
    value = float(text)
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def fingerprint(path: str, parsed: Any) -> str:
    """A stable digest of a POST (path + body as JSON, key order ignored) for idempotency."""
    canonical = json.dumps({"path": path, "body": parsed}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _replay_headers(status: int, body: dict[str, Any]) -> dict[str, str]:
    headers = {"Idempotent-Replayed": "true"}
    data = body.get("data")
    if status == 202 and isinstance(data, dict) and isinstance(data.get("id"), str):
        headers["Location"] = f"/v1/backlinks/gap/{data['id']}"
    return headers


def idempotent(
    request: Request,
    service: Any,
    account_id: str,
    key: str | None,
    fp: str,
    produce: Callable[[], tuple[int, dict[str, Any], dict[str, str]]],
) -> JSONResponse:
    """Answer a POST once per Idempotency-Key (blocking: call from a worker thread).

    ``produce`` does the work and returns (status, body, headers). Without a key it
    simply runs. With one: a repeat of a recorded request replays the recorded
    status and body (with this request's id in ``meta.request_id``, the first
    response's ``credits_charged``, and ``Idempotent-Replayed: true``); a
    different body under the same key is a 409 (raised by the service). What is
    recorded: every answer the request itself decided — successes and client
    errors (402, 422, …), as SPEC section 5 asks. A server-side condition (503
    no index, a crash) is not recorded, so the same request can succeed later.
    """
    if key is None:
        status, body, headers = produce()
        return JSONResponse(body, status_code=status, headers=headers)
    stored = service.idempotency_begin(account_id, key, fp)
    if stored is not None:
        body = json.loads(json.dumps(stored.body))  # a private copy to stamp
        meta = body.setdefault("meta", {})
        meta["request_id"] = request.state.request_id
        return JSONResponse(body, status_code=stored.status,
                            headers=_replay_headers(stored.status, body))
    try:
        status, body, headers = produce()
    except LinkgapError as exc:
        if exc.status >= 500:
            service.idempotency_abandon(account_id, key)
            raise
        response = linkgap_error_response(request.scope, exc)
        service.idempotency_complete(account_id, key, response.status_code,
                                     json.loads(bytes(response.body)))
        return response
    except BaseException:
        service.idempotency_abandon(account_id, key)
        raise
    service.idempotency_complete(account_id, key, status, body)
    return JSONResponse(body, status_code=status, headers=headers)
