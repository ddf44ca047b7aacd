"""The CLI and the API share one rule where the rule is one (issue 7, item 14).

``linkgap domain`` and ``POST /v1/domains/metrics`` answer the same rows (same
fields, same ``fetched_at`` in the same format, found or not); the ``competitor``
filter of ``linkgap gap`` and of the prospects endpoint accept the same typed forms
and refuse the same values with the same message.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from api.apitest_support import COMPETITORS, TARGET, Api

from linkgap.cli import main

ISO_Z_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


DOMAINS = ["https://WWW.Hub0.com/links", "nothere.org", "bücher.de", "hub0.com", "A.COM"]


def test_domain_command_and_metrics_endpoint_give_the_same_rows(
        api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    r = api.post("/v1/domains/metrics", {"domains": DOMAINS})
    assert r.status_code == 200, r.text
    from_api = r.json()["data"]
    code, out, err = _cli(capsys, "domain", "--index", str(api.settings.index), "--format",
                          "json", *DOMAINS)
    assert code == 0, err
    from_cli = json.loads(out)
    assert from_cli == from_api
    assert [row["found"] for row in from_cli] == [True, False, True, True]
    # fetched_at is the build time for every row, found or not, in the API's format.
    assert len({row["fetched_at"] for row in from_cli}) == 1
    assert all(ISO_Z_MS.match(row["fetched_at"]) for row in from_cli)


def test_domain_command_refuses_like_the_endpoint(
        api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    r = api.post("/v1/domains/metrics", {"domains": ["a.com", "co.uk"]})
    assert r.status_code == 422
    error = r.json()["error"]
    code, out, err = _cli(capsys, "domain", "--index", str(api.settings.index), "a.com", "co.uk")
    assert code == 1 and out == ""
    assert err.strip() == f"error: {error['message']}"
    assert error["param"] == "domains[1]"


def test_index_info_shows_the_build_time_in_the_same_format(
        api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(capsys, "index", "info", "--index", str(api.settings.index),
                        "--format", "json")
    assert code == 0
    built_at = json.loads(out)[0]["built_at"]
    r = api.post("/v1/domains/metrics", {"domains": ["a.com"]})
    assert built_at == r.json()["data"][0]["fetched_at"]


def _api_filter(api: Api, run_id: str, competitor: str) -> Any:
    return api.get(f"/v1/backlinks/gap/{run_id}/prospects",
                   params={"competitor": competitor, "per_page": 100})


@pytest.mark.parametrize("typed", ["b.com", "https://WWW.B.COM/page", "B.com."])
def test_competitor_filter_accepts_the_same_typed_forms(
        api: Api, run_id: str, typed: str, capsys: pytest.CaptureFixture[str]) -> None:
    r = _api_filter(api, run_id, typed)
    assert r.status_code == 200, r.text
    from_api = [row["domain"] for row in r.json()["data"]]
    args = ["gap", "--index", str(api.settings.index), TARGET]
    for competitor in COMPETITORS:
        args += ["-c", competitor]
    code, out, err = _cli(capsys, *args, "--competitor-filter", typed, "--format", "json")
    assert code == 0, err
    assert [row["domain"] for row in json.loads(out)] == from_api
    assert from_api and all("b.com" in row["competitors"] for row in r.json()["data"])


@pytest.mark.parametrize("typed", ["d.com", "not a domain", "co.uk"])
def test_competitor_filter_refuses_with_the_same_message(
        api: Api, run_id: str, typed: str, capsys: pytest.CaptureFixture[str]) -> None:
    r = _api_filter(api, run_id, typed)
    assert r.status_code == 422
    message = r.json()["error"]["message"]
    args = ["gap", "--index", str(api.settings.index), TARGET]
    for competitor in COMPETITORS:
        args += ["-c", competitor]
    code, _, err = _cli(capsys, *args, "--competitor-filter", typed)
    assert code == 1
    assert err.strip().splitlines()[-1] == f"error: {message}"


@pytest.mark.parametrize(("body", "flags"), [
    ({"filters": {"dofollow": False}}, ["--no-dofollow"]),
    ({"filters": {"min_authority": 1, "max_spam": 50}},
     ["--min-authority", "1", "--max-spam", "50"]),
    ({"exclude": ["hub0.com", "https://www.hub1.com/"]}, ["--exclude", "hub0.com",
                                                           "-x", "https://www.hub1.com/"]),
])
def test_run_filters_keep_the_same_prospects_before_the_limit_in_the_api_and_the_cli(
        api: Api, capsys: pytest.CaptureFixture[str], body: dict[str, Any],
        flags: list[str]) -> None:
    run_id = api.completed_run(limit=10, **body)
    run = api.get(f"/v1/backlinks/gap/{run_id}").json()["data"]
    from_api = api.get(f"/v1/backlinks/gap/{run_id}/prospects",
                       params={"per_page": 100}).json()["data"]
    competitors = [arg for c in COMPETITORS for arg in ("-c", c)]
    code, out, err = _cli(capsys, "gap", "--index", str(api.settings.index), TARGET,
                          *competitors, "--limit", "10", "--format", "json", *flags)
    assert code == 0, err
    assert json.loads(out) == from_api
    assert f"{run['total_found']:,} prospect" in err
