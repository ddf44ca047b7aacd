"""The ``links-csv`` reader: CSV, gzip CSV and Parquet rows → links (SPEC section 2)."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest
from support.crawlfiles import truncate_file, write_links_csv, write_links_parquet

from linkgap.errors import BuildFailed

S = "https://src.com/page"


def test_rows_with_every_column(tmp_path, read):
    path = write_links_csv(
        tmp_path / "links.csv",
        [
            (S, "https://B.com/x#f", "", "B, the site", "2024-01-15"),
            (S, "https://c.com/", "NoFollow", "", "2024-01-15T10:20:30Z"),
            (S, "https://d.com/", "ugc noopener", "d", "2024-01-15T10:20:30+02:00"),
            (S, "https://e.com/", "sponsored", "e", ""),
            (S, "https://f.com/", "noopener external", "f", "2024-01-15 10:20:30"),
        ],
    )
    rows = read([path]).rows
    assert [(r["target_url"], r["dofollow"], r["anchor"]) for r in rows] == [
        ("https://b.com/x", True, "B, the site"),
        ("https://c.com/", False, None),
        ("https://d.com/", False, "d"),
        ("https://e.com/", False, "e"),
        ("https://f.com/", True, "f"),
    ]
    assert [r["seen_at"] for r in rows] == [
        datetime(2024, 1, 15, tzinfo=UTC),
        datetime(2024, 1, 15, 10, 20, 30, tzinfo=UTC),
        datetime(2024, 1, 15, 8, 20, 30, tzinfo=UTC),
        None,
        datetime(2024, 1, 15, 10, 20, 30, tzinfo=UTC),
    ]
    assert {r["source_domain"] for r in rows} == {"src.com"}


def test_only_the_required_columns_in_any_order(tmp_path, read):
    path = write_links_csv(
        tmp_path / "l.csv",
        [("https://b.com/", S, "extra")],
        columns=("target_url", "source_url", "comment"),
    )
    rows = read([path]).rows
    assert [
        (r["source_url"], r["target_url"], r["dofollow"], r["anchor"], r["seen_at"]) for r in rows
    ] == [(S, "https://b.com/", True, None, None)]


def test_tricky_rows_are_skipped_and_counted(tmp_path, read):
    path = write_links_csv(
        tmp_path / "tricky.csv.gz",
        [
            '"https://src.com/a,b","https://b.com/x,y",nofollow,"quoted, comma",',
            f"{S},,,,",  # missing target
            f"{S},https://c.com/",  # too few fields
            f"{S},https://c.com/,,,,extra",  # too many fields
            ",https://c.com/,,,",  # missing source
            f"{S},http://[broken/,,,",  # unparseable URL
            f"{S},https://c.com/,,,yesterday",  # bad seen_at
            f"{S},https://c.com/,,,2024-13-45",  # impossible date
            f"{S},mailto:x@c.com,,,",
            f"{S},c.com/no-scheme,,,",  # read as http:// (SPEC 12)
            f"{S},https://1.2.3.4/,,,",
            f"{S},https://www.src.com/internal,,,",
            "ftp://src.com/,https://c.com/,,,",
            "https://localhost/,https://c.com/,,,",
            f"{S},https://bücher.de/ü,,Umlaut,",
            "https://XN--STRAE-OQA.DE/,https://c.com/,,,",
            "",  # a blank line is not a row
        ],
    )
    result = read([path])
    assert [(r["source_url"], r["target_url"], r["anchor"]) for r in result.rows] == [
        ("https://src.com/a,b", "https://b.com/x,y", "quoted, comma"),
        (S, "http://c.com/no-scheme", None),
        (S, "https://xn--bcher-kva.de/ü", "Umlaut"),
        ("https://xn--strae-oqa.de/", "https://c.com/", None),
    ]
    assert result.rows[0]["dofollow"] is False
    assert result.skipped == {
        "bad_csv_row": 4,
        "bad_url": 1,
        "bad_seen_at": 2,
        "not_http_target": 1,
        "target_not_domain": 1,
        "internal_link": 1,
        "bad_source_url": 1,
        "source_not_domain": 1,
    }
    assert result.stats[0].records == 16


@pytest.mark.parametrize(
    "header",
    [("source", "target"), ("url", "target_url"), ("src_url", "dst_url", "rel")],
)
def test_a_wrong_header_is_a_clear_build_failure(tmp_path, read, header):
    path = write_links_csv(tmp_path / "wrong.csv", [("https://a.com/", "https://b.com/")], header)
    with pytest.raises(BuildFailed, match="source_url and target_url"):
        read([path])


def test_an_empty_csv_is_a_clear_build_failure(tmp_path, read):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(BuildFailed, match="not a links file"):
        read([path])


def test_header_case_space_and_bom_are_tolerated(tmp_path, read):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeff Source_URL , TARGET_URL\nhttps://a.com/,https://b.com/\n".encode())
    assert read([path]).targets() == ["https://b.com/"]


def test_a_truncated_gzip_csv_keeps_the_rows_before_the_cut(tmp_path, read):
    rows = [(f"https://s{i}.com/", f"https://t{i}.com/") for i in range(2000)]
    path = write_links_csv(tmp_path / "big.csv.gz", rows, ("source_url", "target_url"))
    size = path.stat().st_size
    truncate_file(path, size // 2)
    result = read([path])
    assert 0 < len(result.rows) < 2000
    assert result.skipped.get("truncated_gzip") == 1
    # every row read is a complete, correct row
    assert all(r["target_url"] == r["source_url"].replace("//s", "//t") for r in result.rows)


def test_parquet_with_timestamps_and_strings(tmp_path, read):
    rows = [
        {
            "source_url": S,
            "target_url": "https://b.com/",
            "rel": "nofollow",
            "anchor": "b",
            "seen_at": datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC),
        },
        {"source_url": S, "target_url": "https://c.com/", "seen_at": None},
        {"source_url": S, "target_url": None},
    ]
    result = read([write_links_parquet(tmp_path / "l.parquet", rows)])
    assert [(r["target_url"], r["dofollow"], r["anchor"], r["seen_at"]) for r in result.rows] == [
        ("https://b.com/", False, "b", datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("https://c.com/", True, None, None),
    ]
    assert result.skipped == {"bad_csv_row": 1}


def test_parquet_string_dates_and_missing_columns(tmp_path, read):
    rows = [(S, "https://b.com/", "2020-05-06"), (S, "https://c.com/", "never")]
    path = write_links_parquet(
        tmp_path / "l.parquet", rows, ("source_url", "target_url", "seen_at")
    )
    result = read([path])
    assert [(r["target_url"], r["seen_at"]) for r in result.rows] == [
        ("https://b.com/", datetime(2020, 5, 6, tzinfo=UTC))
    ]
    assert result.skipped == {"bad_seen_at": 1}


def test_parquet_without_the_required_columns_fails(tmp_path, read):
    path = write_links_parquet(tmp_path / "x.parquet", [("a", "b")], ("from", "to"))
    with pytest.raises(BuildFailed, match="source_url and target_url"):
        read([path])


def test_gzip_csv_named_plainly_is_still_read(tmp_path, read):
    path = tmp_path / "links.csv"
    path.write_bytes(gzip.compress(b"source_url,target_url\nhttps://a.com/,https://b.com/\n"))
    assert read([path]).targets() == ["https://b.com/"]


def test_a_corrupt_parquet_row_group_is_skipped_and_the_others_read(tmp_path, read):
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 2000
    table = pa.table(
        {
            "source_url": [f"https://s{i}.com/" for i in range(n)],
            "target_url": [f"https://t{i}.com/page/{'x' * 50}/{i}" for i in range(n)],
        }
    )
    path = tmp_path / "links.parquet"
    pq.write_table(table, path, row_group_size=500, compression="snappy")
    meta = pq.ParquetFile(path).metadata
    start = meta.row_group(2).column(1).data_page_offset  # the third group's target_url data
    data = bytearray(path.read_bytes())
    for i in range(start + 20, start + 120):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    result = read([path])
    assert result.skipped == {"bad_parquet_row_group": 1}
    expected = [f"https://s{i}.com/" for i in range(n) if not 1000 <= i < 1500]
    assert [r["source_url"] for r in result.rows] == expected
