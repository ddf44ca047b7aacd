"""The small shared rules: rel tokens, robots directives, dates, and the graph's name shortcuts."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkgap.domains import canonical_host
from linkgap.ingest.cc_graph import _canonical_hosts, reversed_to_host
from linkgap.ingest.rules import (
    charset_of,
    is_html_content_type,
    parse_seen_at,
    rel_is_nofollow,
    robots_nofollow,
)


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        (None, False),
        ("", False),
        ("nofollow", True),
        ("NOFOLLOW", True),
        ("external nofollow", True),
        ("ugc", True),
        ("Sponsored", True),
        ("noopener noreferrer", False),
        ("no-follow", False),
    ],
)
def test_rel_is_nofollow(rel, expected):
    assert rel_is_nofollow(rel) is expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], False),
        (["nofollow"], True),
        (["NoFollow"], True),
        (["none"], True),
        (["noindex"], False),
        (["noindex,nofollow"], True),
        (["googlebot: nofollow"], True),
        (["googlebot:nofollow"], True),
        (["googlebot-news: none"], True),
        (["googlebot: noindex, nofollow"], True),
        (["unavailable_after: 25 Jun 2010 15:00:00 PST"], False),
        (["max-snippet: -1, max-image-preview: large"], False),
        (["noarchive", "bingbot: noindex nofollow"], True),
        (["index, follow"], False),
    ],
)
def test_robots_nofollow(values, expected):
    assert robots_nofollow(values) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text/html", True),
        ("TEXT/HTML; charset=UTF-8", True),
        ("application/xhtml+xml", True),
        (" text/html ;q=1", True),
        ("text/plain", False),
        ("application/json", False),
        ("", False),
        (None, False),
    ],
)
def test_is_html_content_type(value, expected):
    assert is_html_content_type(value) is expected


def test_charset_of():
    assert charset_of("text/html; charset=ISO-8859-1") == "iso-8859-1"
    assert charset_of('text/html; Charset="utf-8"; x=y') == "utf-8"
    assert charset_of("text/html") is None
    assert charset_of(None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-15", datetime(2024, 1, 15, tzinfo=UTC)),
        ("2024-01-15T10:20:30Z", datetime(2024, 1, 15, 10, 20, 30, tzinfo=UTC)),
        ("2024-01-15T10:20:30.999Z", datetime(2024, 1, 15, 10, 20, 30, tzinfo=UTC)),
        ("2024-01-15 10:20:30+02:00", datetime(2024, 1, 15, 8, 20, 30, tzinfo=UTC)),
        ("2024-01-15T10:20", datetime(2024, 1, 15, 10, 20, tzinfo=UTC)),
        (" 2024-01-15 ", datetime(2024, 1, 15, tzinfo=UTC)),
        ("15/01/2024", None),
        ("yesterday", None),
        ("2024-02-30", None),
        ("", None),
    ],
)
def test_parse_seen_at(text, expected):
    parsed = parse_seen_at(text)
    if expected is None:
        assert parsed is None
    else:
        assert parsed == int(expected.timestamp())


def test_reversed_names_become_hosts():
    names = pa.array(["com.example.www", "uk.co.bbc", "localhost", "", "a..b"])
    assert reversed_to_host(names).to_pylist() == [
        "www.example.com",
        "bbc.co.uk",
        "localhost",
        "",
        "b..a",
    ]


LABEL = st.one_of(
    st.from_regex(r"[a-z0-9_-]{1,8}", fullmatch=True),
    st.sampled_from(["xn--bcher-kva", "xn--zz", "123", "A", "ü", "a b", "x" * 64, ""]),
)


@settings(max_examples=300, deadline=None)
@given(labels=st.lists(LABEL, min_size=1, max_size=5))
def test_the_plain_name_shortcut_agrees_with_canonical_host(labels):
    host = ".".join(labels)
    assert _canonical_hosts(pa.array([host])).to_pylist() == [canonical_host(host)]
