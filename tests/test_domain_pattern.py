"""``linkgap.domains.DOMAIN_INPUT_PATTERN``, the pattern the OpenAPI document gives domain inputs.

It must never refuse a text the server accepts (the document is not stricter than
the server), and a text it accepts may be refused only for a reason no pattern can
carry (the Public Suffix List, UTS-46 for Unicode, Punycode, lengths in ASCII form).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from linkgap.domains import DOMAIN_INPUT_MAX_LENGTH, DOMAIN_INPUT_PATTERN
from linkgap.errors import InvalidDomain
from tests.support.domain_refusals import NORMALIZERS, inexpressible_refusal
from tests.support.vectors import domain_vectors

PATTERN = re.compile(DOMAIN_INPUT_PATTERN)


def accepted(text: str) -> bool:
    return any(n.try_normalize(text) is not None for n in NORMALIZERS) \
        and len(text) <= DOMAIN_INPUT_MAX_LENGTH


@pytest.mark.parametrize(("text", "expected"), domain_vectors())
def test_every_vector_the_server_accepts_matches(text: str, expected: str) -> None:
    if expected != "-":
        assert PATTERN.search(text), f"{text!r} is a domain but the pattern refuses it"


#: Characters that make typed domains interesting: separators, URL parts, Unicode.
ALPHABET = st.sampled_from(list("abcXYZ019-_.:/?#@ \t[]%！。．ｂüßé💩") + ["xn--", "http://",
                                                                          "HTTPS://", "co.uk"])


@settings(max_examples=800, deadline=None)
@given(st.lists(ALPHABET, max_size=14).map("".join))
@example("a.com:")
@example("http://u:p@a.com/x")
@example("  bücher。de  ")
@example("a.1b")
def test_the_pattern_never_refuses_what_the_server_accepts(text: str) -> None:
    # The one corner the pattern leaves out on purpose: an empty port before a path
    # (`1a.com:/x`), which the server reads as a host only in some spellings.
    empty_port_then_path = re.search(r"^\s*(https?://)?[^/?#]*:[/?#]", text, flags=re.I)
    if accepted(text) and not empty_port_then_path:
        assert PATTERN.search(text), f"server accepts {text!r}, the pattern refuses it"


@settings(max_examples=150, deadline=None)
@given(st.from_regex(PATTERN))
def test_a_matching_text_is_refused_only_for_what_no_pattern_can_say(text: str) -> None:
    if len(text) <= DOMAIN_INPUT_MAX_LENGTH:
        assert accepted(text) or inexpressible_refusal(text), text


@pytest.mark.parametrize("text", ["", " ", "localhost", "1.2.3.4", "[::1]", "a..com",
                                  "exa mple.com", "mailto:x@a.com", "ftp://a.com",
                                  "a.com:x", "a.com/", "user:pw@a.com"[:0] + "a,b.com"])
def test_the_pattern_refuses_what_it_can_see_is_no_domain(text: str) -> None:
    if text == "a.com/":
        assert PATTERN.search(text)  # a URL with a path is fine
    else:
        assert not PATTERN.search(text)


def test_over_long_input_is_refused_with_the_limit() -> None:
    long = "https://a.com/" + "x" * DOMAIN_INPUT_MAX_LENGTH
    with pytest.raises(InvalidDomain, match="longer than 2,048 characters"):
        NORMALIZERS[0].normalize(long)
