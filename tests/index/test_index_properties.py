"""Invariants of the index on random graphs (hypothesis)."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.indexes import build_test_index

from linkgap import BacklinkIndex
from linkgap.domains import DomainNormalizer

HOSTS = ["a.com", "www.a.com", "b.org", "c.net", "blog.c.net", "d.co.uk", "e.github.io",
         "f.github.io", "g9.xyz"]
RELS = ["", "nofollow", "ugc", "sponsored", "noopener"]

link = st.tuples(
    st.sampled_from(HOSTS), st.integers(0, 3), st.sampled_from(HOSTS), st.integers(0, 3),
    st.sampled_from(RELS),
).map(lambda t: (f"https://{t[0]}/p{t[1]}", f"https://{t[2]}/q{t[3]}", t[4]))

ARRAYS = ("backlinks", "referring_domains", "linked_domains", "outlinks", "pagerank",
          "domain_rating", "rank", "spam_score", "spam_signals", "in_indptr", "in_src",
          "in_links", "in_dofollow")


def _has_external(links: list[tuple[str, str, str]]) -> bool:
    norm = DomainNormalizer()
    return any(norm.try_normalize(s) != norm.try_normalize(t) for s, t, _ in links)


def _build(path: Path, links: list[tuple[str, str, str]], parts: int = 1) -> BacklinkIndex:
    """The index of ``links`` written as ``parts`` links-csv files (the path real files take)."""
    build_test_index(path, links, files=parts)
    return BacklinkIndex.open(path)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(link, min_size=1, max_size=40), st.randoms(use_true_random=False),
       st.integers(1, 4))
def test_metrics_invariants_and_independence_of_input_order(
    links: list[tuple[str, str, str]], rnd: random.Random, parts: int
) -> None:
    if not _has_external(links):
        return
    with tempfile.TemporaryDirectory() as tmp:
        ix = _build(Path(tmp) / "one", links)
        n = ix.num_domains
        bl, rd = np.asarray(ix.backlinks), np.asarray(ix.referring_domains)
        assert (rd <= bl).all()
        assert (np.asarray(ix.linked_domains) <= np.asarray(ix.outlinks)).all()
        assert bl.sum() == ix.manifest.counts["links"] == np.asarray(ix.outlinks).sum()
        dr = np.asarray(ix.domain_rating).astype(int)
        pr = np.asarray(ix.pagerank)
        assert ((dr >= 0) & (dr <= 100)).all()
        order = np.argsort(pr, kind="stable")
        assert (np.diff(dr[order]) >= 0).all()  # DR never falls as PageRank rises
        assert abs(pr.sum() - 1) < 1e-5
        names = ix.names_of(range(n))
        assert names == sorted(names)
        expected_rank = sorted(range(n), key=lambda i: (-pr[i], names[i]))
        assert [int(ix.rank[i]) for i in expected_rank] == list(range(1, n + 1))
        no_dofollow_rd = np.array([
            not (np.asarray(ix.in_dofollow[ix.in_links_of(i)]) > 0).any() for i in range(n)])
        assert (dr[no_dofollow_rd] == 0).all() and (dr[~no_dofollow_rd] >= 1).all()
        spam = np.asarray(ix.spam_score)
        assert ((spam >= 0) & (spam <= 100)).all()
        assert all(name in names for name in (ix.domain(h).domain for h in HOSTS  # type: ignore[union-attr]
                                              if ix.domain(h) is not None))

        shuffled = list(links)
        rnd.shuffle(shuffled)
        other = _build(Path(tmp) / "two", shuffled + shuffled[: len(shuffled) // 2], parts)
        assert other.names_of(range(other.num_domains)) == names
        for name in ARRAYS:
            assert np.array_equal(getattr(ix, name), getattr(other, name)), name
