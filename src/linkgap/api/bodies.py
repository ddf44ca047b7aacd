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
from linkgap.service import IdempotentRequest, Replay, StoredResponse

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


def _location(status: int, body: dict[str, Any]) -> dict[str, str]:
    data = body.get("data")
    if status == 202 and isinstance(data, dict) and isinstance(data.get("id"), str):
        return {"Location": f"/v1/backlinks/gap/{data['id']}"}
    return {}


def _replay(request: Request, stored: StoredResponse) -> JSONResponse:
    body = json.loads(json.dumps(stored.body))  # a private copy to stamp
    meta = body.setdefault("meta", {})
    meta["request_id"] = request.state.request_id
    return JSONResponse(body, status_code=stored.status,
                        headers={**_location(stored.status, body), "Idempotent-Replayed": "true"})


def idempotent(
    request: Request,
    service: Any,
    account_id: str,
    key: str | None,
    fp: str,
    call: Callable[[IdempotentRequest | None], tuple[Any, int]],
    respond: Callable[[Any, int], tuple[int, dict[str, Any]]],
) -> JSONResponse:
    """Answer a POST once per Idempotency-Key (blocking: call from a worker thread).

    ``call(idempotency)`` does the work and returns (result, credits charged);
    ``respond(result, charged)`` makes the (status, body) to send. With a key, the
    answer is recorded by the service in the same transaction as the charge and
    the row it pays for, so a crash leaves all three or none: a repeat either
    replays (with this request's id in ``meta.request_id``, the first answer's
    ``credits_charged`` and ``Idempotent-Replayed: true``) or runs as new. A repeat
    that arrives while the first is in its transaction waits for it. Answers the
    request decided without charging (402, 422, …) are recorded too, as SPEC
    section 5 asks; a server-side condition (503 no index, a crash) is not, so the
    same request can succeed later. Another body under the same key is a 409.
    """
    idem = None
    if key is not None:
        stored = service.idempotency_lookup(account_id, key, fp)
        if stored is not None:
            return _replay(request, stored)
        idem = IdempotentRequest(key, fp, respond)
    try:
        result, charged = call(idem)
    except Replay as replay:
        return _replay(request, StoredResponse(int(replay.record.status or 200),
                                               dict(replay.record.body or {})))
    except LinkgapError as exc:
        if key is None or exc.status >= 500:
            raise
        response = linkgap_error_response(request.scope, exc)
        first = service.idempotency_record(account_id, key, fp, response.status_code,
                                           json.loads(bytes(response.body)))
        return response if first is None else _replay(request, first)
    status, body = respond(result, charged)
    return JSONResponse(body, status_code=status, headers=_location(status, body))
