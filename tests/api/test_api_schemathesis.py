"""Property-based tests from the OpenAPI document (schemathesis, in-process over ASGI).

For every operation, schema-valid and schema-invalid requests (with a valid key)
must never produce a 500 (nor log an unhandled error), and every response must
match what the document says: status code, content type, headers and body schema.
A schema-valid request is never a 422 for a reason the document could have said
(SPEC 14): only for what no schema can carry (the Public Suffix List, UTS-46,
competitors not in the index or not in the run, min_overlap against the number
of distinct competitors, your own domain among the competitors, a callback URL whose
address is not public).
Run-scoped operations are also driven against a real completed run, so their 200
answers are checked too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pytest
import schemathesis
from api.apitest_support import Api
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support.domain_refusals import inexpressible_refusal


def _value_at(case: Any, param: str) -> Any:
    """The request value an error's ``param`` names (``competitors[1]``, ``competitor``, the
    ``domain`` of a path)."""
    match = re.fullmatch(r"([a-z_]+)(?:\[(\d+)\])?", param)
    if match is None:
        return None
    name, index = match.group(1), match.group(2)
    # Path parameters are kept percent-encoded, as they are sent.
    path = {k: unquote(v) if isinstance(v, str) else v
            for k, v in (case.path_parameters or {}).items()}
    source = case.body if isinstance(case.body, dict) and name in case.body else (
        path if name in path else case.query or {})
    value = source.get(name)
    if index is not None and isinstance(value, list) and int(index) < len(value):
        return value[int(index)]
    return value


def _inexpressible(error: dict[str, Any], case: Any) -> bool:
    """True when a 422 is for a reason no JSON Schema can carry."""
    details = error.get("details") or {}
    if error.get("code") == "competitors_not_indexed" or "allowed" in details:
        return True  # what the index holds, and which competitors a run has
    param = str(error.get("param") or "")
    if param == "callback_url" and re.search(
            r"is a loopback(, private or link-local address| name)", str(error.get("message"))):
        return True  # which addresses are public (127.1, ::ffff:10.0.0.1, localhost) is no
        # pattern's to say; the shape of the URL is, and the document carries it
    if param == "min_overlap" or "is your own domain" in str(error.get("message")):
        return True  # these depend on the distinct competitors after normalisation
    if re.fullmatch(r"(domain|competitors\[\d+\]|domains\[\d+\]|competitor)", param):
        value = _value_at(case, param)
        return isinstance(value, str) and inexpressible_refusal(value)
    return False


@schemathesis.check
def schema_valid_is_not_refused(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schema-valid request answered 422 must be refused for an inexpressible reason."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    error = response.json()["error"]
    if not _inexpressible(error, case):
        raise AssertionError(f"a schema-valid request was refused with 422: {error} "
                             f"(query {case.query!r}); the "
                             "document should say so")
    return None


CHECKS: list[Callable[..., Any]] = [
    not_a_server_error, status_code_conformance, content_type_conformance,
    response_headers_conformance, response_schema_conformance, schema_valid_is_not_refused,
]
EXAMPLES = 25


def _operations(api: Api) -> list[Any]:
    app = api.client.app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def _exercise(operation: Any, mode: GenerationMode, headers: dict[str, str],
              path_parameters: dict[str, str] | None = None) -> bool:
    """Run the checks on generated requests; False when the mode can express no request
    (schema-invalid data for an operation that takes no constrained input)."""
    # Not schemathesis' negative_data_rejection: it counts an unknown query parameter as
    # invalid, while SPEC 5 says unknown query parameters are ignored (the explicit
    # rejection tests of every parameter live in test_api_prospects/test_api_runs).
    checks = list(CHECKS)
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=checks)

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.NEGATIVE:
            return False
        raise
    return True


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_matches_the_document(api: Api, mode: GenerationMode) -> None:
    operations = _operations(api)
    assert {f"{op.method.upper()} {op.path}" for op in operations} == {
        "GET /healthz", "GET /v1/account", "GET /v1/backlinks/gap", "POST /v1/backlinks/gap",
        "GET /v1/backlinks/gap/{run_id}", "GET /v1/backlinks/gap/{run_id}/prospects",
        "GET /v1/backlinks/gap/{run_id}/summary", "GET /v1/backlinks/gap/{run_id}/diff",
        "GET /v1/backlinks/gap/{run_id}/prospects/{domain}", "POST /v1/domains/metrics",
        "GET /v1/domains/{domain}/competitors",
    }
    skipped = {f"{op.method.upper()} {op.path}" for op in operations
               if not _exercise(op, mode, api.headers)}
    # Only operations without a constrained parameter or body have no invalid form.
    assert skipped <= {"GET /healthz", "GET /v1/account", "GET /v1/backlinks/gap/{run_id}"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_run_operations_on_a_completed_run(api: Api, run_id: str,
                                           mode: GenerationMode) -> None:
    for operation in _operations(api):
        if "{run_id}" in operation.path:
            exercised = _exercise(operation, mode, api.headers, {"run_id": run_id})
            assert exercised or operation.path == "/v1/backlinks/gap/{run_id}"
