"""``linkgap domain`` and ``linkgap index info``: every output format and exit code."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from linkgap.cli import main
from linkgap.index.build import build_from_links

LINKS = [
    ("https://a.com/", "https://b.com/"),
    ("https://c.com/", "https://b.com/", "nofollow"),
    ("https://c.com/", "https://a.com/"),
    ("https://b.com/", "https://spam-4-you-123.xyz/"),
]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-index")
    build_from_links(path, LINKS)
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())  # messages are wrapped to the terminal width


def test_domain_json_rows_in_input_order(index_dir: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "domain", "--index", str(index_dir), "--format", "json",
                          "https://www.B.com/x", "unknown.org", "a.com", "b.com")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["domain"] for r in rows] == ["b.com", "unknown.org", "a.com"]  # b.com merged
    b, unknown, _a = rows
    assert b["input"] == "https://www.B.com/x"
    assert b["found"] is True
    assert (b["backlinks"], b["referring_domains"], b["linked_domains"]) == (2, 2, 1)
    assert b["rank"] >= 1 and 0 <= b["domain_rating"] <= 100
    assert b["fetched_at"].endswith("Z")
    assert unknown["found"] is False
    assert all(unknown[k] is None for k in ("domain_rating", "backlinks", "rank", "spam_score"))


def test_domain_csv(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "domain", "--index", str(index_dir), "--format", "csv",
                        "spam-4-you-123.xyz", "nothere.com")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["domain"] == "spam-4-you-123.xyz"
    assert rows[0]["found"] == "true"
    signals = rows[0]["spam_signals"].split(";")
    assert {"digits_in_name", "hyphens_in_name", "abused_tld"} <= set(signals)
    assert rows[1]["found"] == "false" and rows[1]["backlinks"] == ""


def test_domain_table(index_dir: Path, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    code, out, _ = _run(capsys, "domain", "--index", str(index_dir), "c.com")
    assert code == 0
    assert "c.com" in out and "true" in out


def test_domain_invalid_is_an_error(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "domain", "--index", str(index_dir), "a.com", "localhost")
    assert code == 1
    assert out == ""
    assert "localhost" in err and "not a registrable domain" in err


def test_domain_usage_error_without_arguments(index_dir: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = _run(capsys, "domain", "--index", str(index_dir))
    assert code == 2
    code, _, _ = _run(capsys, "domain", "--index", str(index_dir), "--format", "xml", "a.com")
    assert code == 2


def test_no_index_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "domain", "--index", str(tmp_path / "none"), "a.com")
    assert code == 1 and out == ""
    assert "no index" in err
    code, _, err = _run(capsys, "index", "info", "--index", str(tmp_path / "none"))
    assert code == 1 and "linkgap index build" in err


def test_default_index_from_environment(index_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LINKGAP_INDEX", str(index_dir))
    code, out, _ = _run(capsys, "domain", "--format", "json", "a.com")
    assert code == 0 and json.loads(out)[0]["found"] is True
    monkeypatch.delenv("LINKGAP_INDEX")
    monkeypatch.setenv("LINKGAP_HOME", str(index_dir.parent))
    code, out, err = _run(capsys, "index", "info", "--format", "json")
    assert code == 1 and str(index_dir.parent / "index") in err


def test_index_info_formats(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "index", "info", "--index", str(index_dir), "--format", "json")
    assert code == 0
    (row,) = json.loads(out)
    assert row["domains"] == 4 and row["links"] == 4 and row["dofollow_links"] == 3
    assert row["psl_mode"] == "all" and row["psl_version"]
    assert row["version"] == (index_dir / "CURRENT").read_text().strip()
    assert row["built_at"].endswith("Z")
    assert row["metrics"]["pagerank"]["damping"] == 0.85
    code, out, _ = _run(capsys, "index", "info", "--index", str(index_dir), "--format", "csv")
    (crow,) = list(csv.DictReader(io.StringIO(out)))
    assert crow["version"] == row["version"] and crow["edges"] == str(row["edges"])
    code, out, _ = _run(capsys, "index", "info", "--index", str(index_dir))
    assert code == 0 and row["version"] in out and "psl_mode" in out


def test_index_build_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = _run(capsys, "index", "build", "--index", str(tmp_path))
    assert code == 2
    code, _, _ = _run(capsys, "index", "build", "--index", str(tmp_path),
                      "--input-format", "pdf", "x.warc")
    assert code == 2
    assert not (tmp_path / "CURRENT").exists()


def test_index_build_warms_the_gap_kernel_for_the_new_version(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkgap.gap import kernel

    warmed: list[str] = []
    monkeypatch.setattr(kernel, "warm", lambda index: warmed.append(str(index.version)))
    links = tmp_path / "links.csv"
    links.write_text("source_url,target_url\nhttps://a.com/,https://b.com/\n", encoding="utf-8")
    code, _, err = _run(capsys, "index", "build", "--index", str(tmp_path / "ix"), str(links))
    assert code == 0, err
    assert warmed == [(tmp_path / "ix" / "CURRENT").read_text(encoding="utf-8").strip()]
