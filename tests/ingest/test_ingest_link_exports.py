"""Links CSVs exported by SEO tools (SPEC 12): header aliases, delimiters, BOMs, --target."""

from __future__ import annotations

import codecs
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linkgap.errors import BuildFailed
from linkgap.index.build import build_index, shared_normalizer
from linkgap.index.reader import BacklinkIndex
from linkgap.ingest import plan_inputs, read_input
from linkgap.ingest.base import InputStats
from linkgap.ingest.link_columns import (
    ColumnMap,
    detect_delimiter,
    link_type_is_nofollow,
    normalize_column,
    with_default_scheme,
)

#: The three links every export below describes: (source, target, nofollow, anchor).
LINKS = [
    ("https://blog.example.org/post", "https://mysite.com/", False, "Great tool"),
    ("https://news.example.net/a", "https://mysite.com/pricing", True, "pricing"),
    ("forum.example.io/t/1", "mysite.com/docs", False, "docs"),
]
EXPECTED = {
    ("https://blog.example.org/post", "https://mysite.com/", True, "Great tool"),
    ("https://news.example.net/a", "https://mysite.com/pricing", False, "pricing"),
    ("http://forum.example.io/t/1", "http://mysite.com/docs", True, "docs"),
}


def _write(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",",
           encoding: str = "utf-8") -> Path:
    def line(cells: list[str]) -> str:
        return delimiter.join(f'"{c}"' if delimiter in c or " " in c else c for c in cells)

    text = "\n".join([line(header), *(line(r) for r in rows)]) + "\n"
    if encoding == "utf-16":
        path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    elif encoding == "utf-8-sig":
        path.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _ahrefs(path: Path) -> Path:
    header = ["Referring page title", "Referring page URL", "Domain rating", "Target URL",
              "Anchor", "Nofollow", "UGC", "Sponsored", "First seen", "Last seen"]
    rows = [["t", s, "50", t, a, "true" if nf else "false", "false", "false",
             "2024-03-01 10:00:00", "2024-05-01 10:00:00"] for s, t, nf, a in LINKS]
    return _write(path, header, rows)


def _semrush(path: Path) -> Path:
    header = ["Page ascore", "Source title", "Source url", "Target url", "Anchor",
              "External links", "Internal links", "Nofollow", "Sponsored", "Ugc",
              "First seen", "Last seen"]
    rows = [["12", "t", s, t, a, "3", "9", "false", "true" if nf else "false", "false",
             "2024-03-01", "2024-05-01"] for s, t, nf, a in LINKS]
    return _write(path, header, rows)


def _majestic(path: Path) -> Path:
    header = ["Source URL", "Target URL", "Anchor Text", "Flag NoFollow", "First Indexed",
              "Last Seen"]
    rows = [[s, t, a, "1" if nf else "0", "2024-03-01", "2024-05-01"] for s, t, nf, a in LINKS]
    return _write(path, header, rows, delimiter="\t")


def _moz(path: Path) -> Path:
    header = ["URL From", "URL To", "Anchor Text", "Link Type", "Spam Score"]
    rows = [[s, t, a, "nofollow" if nf else "follow", "1"] for s, t, nf, a in LINKS]
    return _write(path, header, rows, delimiter=";", encoding="utf-8-sig")


def _links(path: Path, link_target: str | None = None) -> tuple[set[tuple], InputStats]:
    [spec] = plan_inputs([str(path)], link_target=link_target)
    stats = InputStats(spec)
    rows: set[tuple] = set()
    for batch in read_input(spec, shared_normalizer(False), stats):
        for r in batch.to_pylist():
            rows.add((r["source_url"], r["target_url"], r["dofollow"], r["anchor"]))
    return rows, stats


@pytest.mark.parametrize("writer", [_ahrefs, _semrush, _majestic, _moz],
                         ids=["ahrefs", "semrush", "majestic", "moz"])
def test_each_tools_export_gives_the_same_links(writer, tmp_path: Path) -> None:
    rows, stats = _links(writer(tmp_path / "export.csv"))
    assert rows == EXPECTED
    assert stats.skipped == {}
    assert {"source", "target", "anchor"} <= set(stats.columns)


def test_the_summary_names_the_columns_it_read(tmp_path: Path) -> None:
    _, stats = _links(_ahrefs(tmp_path / "ahrefs.csv"))
    assert stats.columns == {
        "source": "Referring page URL", "target": "Target URL", "anchor": "Anchor",
        "seen_at": "First seen", "nofollow": "Nofollow, UGC, Sponsored"}
    assert stats.as_dict()["columns"] == stats.columns


def test_a_semicolon_file_with_a_utf16_bom(tmp_path: Path) -> None:
    header = ["Source url", "Target url", "Anchor"]
    rows = [["https://bücher.example.de/x", "https://mysite.com/", "Bücher; Übersicht"]]
    path = _write(tmp_path / "utf16.csv", header, rows, delimiter=";", encoding="utf-16")
    links, stats = _links(path)
    assert links == {("https://xn--bcher-kva.example.de/x", "https://mysite.com/", True,
                      "Bücher; Übersicht")}
    assert stats.skipped == {}


def test_search_console_latest_links_need_target(tmp_path: Path) -> None:
    path = _write(tmp_path / "latest-links.csv", ["Linking page", "Last crawled"],
                  [["https://blog.example.org/post", "2024-05-02"],
                   ["news.example.net/a", "2024-05-03"]])
    with pytest.raises(BuildFailed, match="give --target DOMAIN"):
        plan_inputs([str(path)])
    links, _ = _links(path, link_target="MySite.com")
    assert links == {("https://blog.example.org/post", "http://mysite.com/", True, None),
                     ("http://news.example.net/a", "http://mysite.com/", True, None)}


def test_target_column_wins_over_the_target_option(tmp_path: Path) -> None:
    links, _ = _links(_ahrefs(tmp_path / "a.csv"), link_target="other.com")
    assert links == EXPECTED


def test_a_file_without_a_source_column_is_refused_with_the_names_to_use(
        tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", ["Domain", "Target URL"], [["a.com", "https://b.com/"]])
    with pytest.raises(BuildFailed, match="Referring page URL") as raised:
        plan_inputs([str(path)])
    assert "docs/inputs.md" in raised.value.message


def test_parquet_exports_use_the_same_names(tmp_path: Path) -> None:
    s, t, nf, a = zip(*LINKS, strict=True)
    pq.write_table(pa.table({"Referring page URL": list(s), "Target URL": list(t),
                             "Anchor": list(a), "Nofollow": list(nf)}), tmp_path / "e.parquet")
    rows, _ = _links(tmp_path / "e.parquet")
    assert rows == EXPECTED


def test_a_tool_export_is_detected_by_content_too(tmp_path: Path) -> None:
    path = _majestic(tmp_path / "majestic_export.txt")  # no .csv name: sniffed
    [spec] = plan_inputs([str(path)])
    assert spec.format == "links-csv"


def test_dates_come_from_the_first_seen_column(tmp_path: Path) -> None:
    index = build_index(tmp_path / "idx", [str(_semrush(tmp_path / "s.csv"))])
    assert index.manifest.counts["links"] == 3
    opened = BacklinkIndex.open(tmp_path / "idx")
    assert opened.domain("mysite.com").referring_domains == 3


def test_index_build_target_option_end_to_end(tmp_path: Path) -> None:
    path = _write(tmp_path / "gsc.csv", ["Linking page", "Last crawled"],
                  [["https://blog.example.org/post", "2024-05-02"]])
    env_home = tmp_path / "home"
    cmd = [sys.executable, "-m", "linkgap", "index", "build", "--index", str(tmp_path / "i")]
    refused = subprocess.run([*cmd, str(path)], capture_output=True, text=True,
                             env={**os.environ, "LINKGAP_HOME": str(env_home)})
    assert refused.returncode == 1 and "--target DOMAIN" in refused.stderr
    done = subprocess.run([*cmd, "--target", "mysite.com", str(path)], capture_output=True,
                          text=True, env={**os.environ, "LINKGAP_HOME": str(env_home)})
    assert done.returncode == 0, done.stderr
    assert ("columns read from " + str(path) + ": source <- 'Linking page', "
            "seen_at <- 'Last crawled'") in done.stderr
    assert BacklinkIndex.open(tmp_path / "i").domain("mysite.com").backlinks == 1


@pytest.mark.parametrize(("name", "normal"), [
    ("Referring page URL", "referringpageurl"), ("source_url", "sourceurl"),
    ("URL-From", "urlfrom"), (" Anchor Text ", "anchortext"), ("FlagNoFollow", "flagnofollow"),
])
def test_header_names_match_without_case_spaces_or_punctuation(name: str, normal: str) -> None:
    assert normalize_column(name) == normal


def test_column_roles_pick_the_best_alias_first() -> None:
    cols = ColumnMap.from_header(["Last seen", "URL To", "First seen", "Linking page", "rel"])
    assert (cols.source, cols.target, cols.seen_at, cols.rel) == (
        "Linking page", "URL To", "First seen", "rel")


@pytest.mark.parametrize(("value", "nofollow"), [
    ("nofollow", True), ("UGC", True), ("Sponsored link", True), ("follow", False),
    ("dofollow", False), ("", False), (None, False),
])
def test_link_type_values(value: str | None, nofollow: bool) -> None:
    assert link_type_is_nofollow(value) is nofollow


@pytest.mark.parametrize(("url", "read_as"), [
    ("example.com/page", "http://example.com/page"), ("//cdn.example.com/x", "http://cdn.example.com/x"),
    ("https://a.com/", "https://a.com/"), ("mailto:x@y.com", "mailto:x@y.com"),
    ("example.com:8080/x", "http://example.com:8080/x"), ("bücher.de", "http://bücher.de"),
])
def test_scheme_less_urls_are_read_as_http(url: str, read_as: str) -> None:
    assert with_default_scheme(url) == read_as


@pytest.mark.parametrize(("line", "delimiter"), [
    ("a,b,c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ('"a,1";b;c', ";"), ("abc", ","),
])
def test_delimiter_detection(line: str, delimiter: str) -> None:
    assert detect_delimiter(line) == delimiter
