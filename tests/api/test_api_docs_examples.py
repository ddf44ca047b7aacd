"""The curl examples of docs/api.md run as written against ``linkgap demo`` data and
``linkgap serve``: every ``sh`` block, in order, in one shell."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from api.apitest_support import cli_env, run_cli, start_server

pytestmark = pytest.mark.slow

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"
DOC_URL = "http://127.0.0.1:8000"


def sh_blocks(text: str) -> list[str]:
    """The ```sh code blocks of a markdown text."""
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


def test_api_md_has_examples_for_every_endpoint() -> None:
    script = "\n".join(sh_blocks(API_MD.read_text(encoding="utf-8")))
    for needle in ("-X POST http://127.0.0.1:8000/v1/backlinks/gap", "/v1/backlinks/gap/$RUN\"",
                   "/v1/backlinks/gap?", "/prospects?", "/summary?", "/v1/domains/metrics",
                   "/v1/account", "/healthz", "Idempotency-Key", "Accept: text/csv",
                   "/prospects/$BEST", "include=links",
                   "/v1/domains/mysite.example/competitors?limit=5"):
        assert needle in script, needle


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_api_md_examples_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = run_cli(home, "demo", "--no-serve", "--home", str(home), "--domains", "2000")
    key = re.search(r"lgk_[0-9A-Za-z_]+", out)
    assert key, out
    server = start_server(home / "demo", "docs")  # the demo keeps everything in home/demo
    try:
        blocks = sh_blocks(API_MD.read_text(encoding="utf-8"))
        script = "set -eu\n" + "\n".join(blocks).replace(DOC_URL, server.url)
        work = tmp_path / "work"
        work.mkdir()
        env = {**cli_env(home / "demo"), "LINKGAP_KEY": key.group(0)}
        done = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True,
                              text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr + done.stdout
    finally:
        server.stop()
    output = done.stdout
    # The only error the examples show on purpose is the per_page one.
    codes = re.findall(r'"code":"([a-z_]+)"', output)
    assert codes.count("invalid_parameter") == 1, codes
    # Warnings: the run example excludes a sister site the demo web does not have.
    assert not set(codes) - {"invalid_parameter", "target_not_indexed",
                             "competitor_not_indexed", "exclude_not_indexed"}, codes
    assert '"status":"completed"' in output
    assert "HTTP/1.1 202" in output  # the -i example
    assert '"total_pages":' in output and '"dofollow":{"dofollow":' in output
    csv_files = sorted(p.name for p in work.glob("*.csv"))
    assert len(csv_files) == 3 and "prospects.csv" in csv_files, csv_files
    for name in csv_files:
        header = (work / name).read_text(encoding="utf-8").splitlines()[0]
        assert header.startswith("domain,domain_rating,")
    links_header = (work / "prospect-links.csv").read_text(encoding="utf-8").splitlines()[0]
    assert links_header.endswith(",competitor,source_url,target_url,anchor,link_dofollow")
    assert '"links":[{"competitor":' in output and '"links_frozen":true' in output
    assert output.endswith("}") and '{"data":{"status":"ok","index_version":' in output
