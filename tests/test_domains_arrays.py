"""``DomainNormalizer.registrable_array`` gives what ``registrable`` gives, name by name."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkgap.domains import DomainNormalizer, canonical_host


def _rule_names(norm: DomainNormalizer) -> list[str]:
    """Hosts around every rule of the list: the rule, one and two labels more, its parent."""
    names = set()
    for rule in norm._psl._publicsuffix:
        base = rule.lstrip("!").replace("*", "w")
        canonical = canonical_host(base)
        if canonical is None:
            continue
        parent = canonical.split(".", 1)[-1]
        names.update({canonical, f"x.{canonical}", f"a.b.{canonical}", parent,
                      f"y.{parent}"})
    return sorted(names)


@pytest.mark.parametrize("icann_only", [False, True])
def test_every_rule_of_the_list(icann_only: bool) -> None:
    norm = DomainNormalizer(icann_only=icann_only)
    names = _rule_names(norm)
    assert len(names) > 20_000
    got = norm.registrable_array(pa.array(names)).to_pylist()
    assert got == [norm.registrable(n) for n in names]


def test_nulls_single_labels_and_empty_input() -> None:
    norm = DomainNormalizer()
    got = norm.registrable_array(pa.array(["com", None, "a.com", "co.uk", "www.ck", "a.b.ck"]))
    assert got.to_pylist() == [None, None, "a.com", None, "www.ck", "a.b.ck"]
    assert norm.registrable_array(pa.array([], pa.string())).to_pylist() == []
    chunked = pa.chunked_array([["a.b.com"], ["c.org"]])
    assert norm.registrable_array(chunked).to_pylist() == ["b.com", "c.org"]


_label = st.sampled_from(["a", "www", "co", "uk", "com", "jp", "ck", "kawasaki", "city",
                          "github", "io", "blogspot", "xn--p1ai", "zz", "b-c", "1x"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_label, min_size=1, max_size=6).map(".".join), max_size=40))
def test_random_hosts(hosts: list[str]) -> None:
    norm = DomainNormalizer()
    assert norm.registrable_array(pa.array(hosts, pa.string())).to_pylist() == [
        norm.registrable(h) for h in hosts]
