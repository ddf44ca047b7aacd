"""The OpenAPI 3.1 document at /openapi.json states the SPEC 5 contract."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api.apitest_support import Api

ERROR_REF = "#/components/schemas/ErrorEnvelope"
PROSPECTS = "/v1/backlinks/gap/{run_id}/prospects"


@pytest.fixture
def doc(api: Api) -> dict[str, Any]:
    r = api.client.get("/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _params(doc: dict[str, Any], path: str, method: str = "get") -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in doc["paths"][path][method].get("parameters", [])}


def test_version_and_security(doc: dict[str, Any]) -> None:
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearer"] == {
        **doc["components"]["securitySchemes"]["bearer"], "type": "http", "scheme": "bearer"}
    for path, ops in doc["paths"].items():
        for op in ops.values():
            if path.startswith("/v1/"):
                assert op["security"] == [{"bearer": []}]
                assert "401" in op["responses"] and "429" in op["responses"]
            else:
                assert "security" not in op


def test_every_error_response_uses_the_error_shape(doc: dict[str, Any]) -> None:
    for ops in doc["paths"].values():
        for op in ops.values():
            for status, response in op["responses"].items():
                schema = response["content"]["application/json"]["schema"]
                if int(status) >= 400:
                    assert schema == {"$ref": ERROR_REF}, (status, op["operationId"])
                assert response["headers"]["X-Request-ID"]["required"] is True
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    error = doc["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "message"}


@pytest.mark.parametrize("path,method,statuses", [
    ("/v1/backlinks/gap", "post", {"202", "400", "401", "402", "409", "413", "415", "422",
                                   "429", "503"}),
    ("/v1/backlinks/gap", "get", {"200", "401", "422", "429"}),
    ("/v1/backlinks/gap/{run_id}", "get", {"200", "401", "404", "429"}),
    (PROSPECTS, "get", {"200", "401", "404", "409", "410", "422", "429"}),
    ("/v1/backlinks/gap/{run_id}/summary", "get", {"200", "401", "404", "409", "410", "422",
                                                   "429"}),
    ("/v1/domains/metrics", "post", {"200", "400", "401", "402", "409", "413", "415", "422",
                                     "429", "503"}),
    ("/v1/account", "get", {"200", "401", "429"}),
    ("/healthz", "get", {"200", "503"}),
])
def test_documented_statuses(doc: dict[str, Any], path: str, method: str,
                             statuses: set[str]) -> None:
    # Every operation can also be answered before its route runs: 408, 413, 431.
    assert set(doc["paths"][path][method]["responses"]) == statuses | {"408", "413", "431"}


def test_prospect_parameters(doc: dict[str, Any]) -> None:
    params = _params(doc, PROSPECTS)
    assert set(params) == {"run_id", "min_authority", "max_spam", "dofollow", "competitor", "q",
                           "sort", "order", "page", "per_page", "format", "include"}
    page = params["page"]["schema"]
    assert (page["minimum"], page["maximum"], page["default"]) == (1, 1_000_000, 1)
    per_page = params["per_page"]["schema"]
    assert (per_page["minimum"], per_page["maximum"], per_page["default"]) == (1, 100, 50)
    for name in ("min_authority", "max_spam"):
        integer = params[name]["schema"]["anyOf"][0]
        assert (integer["type"], integer["minimum"], integer["maximum"]) == ("integer", 0, 100)
    assert params["dofollow"]["schema"]["anyOf"][0] == {"type": "boolean"}
    assert params["sort"]["schema"]["enum"] == [
        "score", "rank", "backlinks", "referring_domains", "domain_rating",
        "competitor_overlap", "spam_score"]
    assert params["sort"]["schema"]["default"] == "score"
    assert params["order"]["schema"]["default"] == "desc"
    assert params["format"]["schema"]["anyOf"][0]["enum"] == ["json", "csv"]
    ok = doc["paths"][PROSPECTS]["get"]["responses"]["200"]
    assert set(ok["content"]) == {"application/json", "text/csv"}
    summary = _params(doc, "/v1/backlinks/gap/{run_id}/summary")
    assert set(summary) == {"run_id", "min_authority", "max_spam", "dofollow", "competitor", "q"}


def test_run_list_parameters(doc: dict[str, Any]) -> None:
    params = _params(doc, "/v1/backlinks/gap")
    assert set(params) == {"page", "per_page", "status"}
    assert params["status"]["schema"]["anyOf"][0]["enum"] == [
        "queued", "running", "completed", "failed", "expired"]


def test_request_bodies(doc: dict[str, Any], api: Api) -> None:
    schemas = doc["components"]["schemas"]
    run = schemas["GapRunBody"]
    assert run["additionalProperties"] is False
    assert set(run["required"]) == {"domain", "competitors"}
    assert run["properties"]["limit"]["minimum"] == 10
    assert run["properties"]["limit"]["maximum"] == api.settings.max_run_limit
    assert run["properties"]["limit"]["default"] == 100
    assert run["properties"]["mode"]["enum"] == ["union", "intersect"]
    assert run["properties"]["competitors"]["maxItems"] == 20
    metrics = schemas["DomainMetricsBody"]
    assert metrics["additionalProperties"] is False
    assert metrics["properties"]["domains"]["maxItems"] == 10
    for path in ("/v1/backlinks/gap", "/v1/domains/metrics"):
        op = doc["paths"][path]["post"]
        assert op["requestBody"]["required"] is True
        assert list(op["requestBody"]["content"]) == ["application/json"]
        assert _params(doc, path, "post")["Idempotency-Key"]["in"] == "header"


def test_response_headers(doc: dict[str, Any]) -> None:
    created = doc["paths"]["/v1/backlinks/gap"]["post"]["responses"]
    assert created["202"]["headers"]["Location"]["required"] is True
    assert "Retry-After" in created["429"]["headers"]
    assert "WWW-Authenticate" in created["401"]["headers"]
    for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
        assert name in created["202"]["headers"]
        assert name not in created["401"]["headers"]


def test_schema_keywords_are_json_schema(doc: dict[str, Any]) -> None:
    """No pydantic-only keys (ge/le/gt/lt) leak into the document."""
    for node in _walk(doc):
        if "type" in node and isinstance(node["type"], str):
            assert not {"ge", "le", "gt", "lt"} & set(node), node


def test_refs_resolve(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for node in _walk(doc):
        ref = node.get("$ref")
        if isinstance(ref, str):
            assert ref.startswith("#/components/schemas/")
            assert ref.rsplit("/", 1)[1] in schemas, ref


def _body_validator(doc: dict[str, Any], name: str) -> Any:
    import jsonschema_rs  # schemathesis' validator: it reads patterns as ECMA-262 does

    # The body schema inside the whole document, so its $refs resolve.
    schema = {**doc["components"]["schemas"][name], "components": doc["components"]}
    return jsonschema_rs.Draft202012Validator(schema)


@pytest.mark.parametrize(("name", "body"), [
    ("GapRunBody", {"domain": "mysite.com", "competitors": [""]}),
    ("GapRunBody", {"domain": "", "competitors": ["a.com"]}),
    ("GapRunBody", {"domain": "mysite.com", "competitors": ["localhost"]}),
    ("GapRunBody", {"domain": "mysite.com", "competitors": [f"c{i}.com" for i in range(21)]}),
    ("GapRunBody", {"domain": "mysite.com", "competitors": ["exa mple.com"]}),
    ("DomainMetricsBody", {"domains": [""]}),
    ("DomainMetricsBody", {"domains": ["1.2.3.4"]}),
    ("DomainMetricsBody", {"domains": ["mailto:a@b.com"]}),
    ("DomainMetricsBody", {"domains": ["https://a.com/" + "x" * 2048]}),
])
def test_bodies_the_server_refuses_are_invalid_in_the_document(
        doc: dict[str, Any], api: Api, name: str, body: dict[str, Any]) -> None:
    assert not _body_validator(doc, name).is_valid(body)
    path = "/v1/backlinks/gap" if name == "GapRunBody" else "/v1/domains/metrics"
    assert api.post(path, body).status_code == 422


@pytest.mark.parametrize(("name", "body"), [
    ("GapRunBody", {"domain": "https://WWW.MySite.com/x", "competitors": ["a.com", "B.COM."],
                    "limit": 100.0}),
    ("DomainMetricsBody", {"domains": ["bücher.de", "http://user:pw@a.com:8080/p?q#f"]}),
])
def test_bodies_the_server_accepts_are_valid_in_the_document(
        doc: dict[str, Any], api: Api, name: str, body: dict[str, Any]) -> None:
    assert _body_validator(doc, name).is_valid(body)
    path = "/v1/backlinks/gap" if name == "GapRunBody" else "/v1/domains/metrics"
    assert api.post(path, body).status_code in (200, 202)


def test_the_competitor_filter_carries_the_domain_pattern(doc: dict[str, Any]) -> None:
    from linkgap.domains import DOMAIN_INPUT_PATTERN

    schema = _params(doc, PROSPECTS)["competitor"]["schema"]
    assert schema["pattern"] == DOMAIN_INPUT_PATTERN
    assert (schema["minLength"], schema["maxLength"]) == (1, 2048)
