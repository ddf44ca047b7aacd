"""Hand-computed metrics on small graphs: counts, de-duplication, PageRank, DR, rank."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from linkgap import BacklinkIndex
from linkgap.errors import InvalidDomain
from linkgap.index.build import build_from_batches, build_from_links
from linkgap.ingest.base import LINK_SCHEMA

LINKS = [
    ("https://a.com/p1", "https://b.com/", None),
    ("https://a.com/p1", "https://b.com/#top", "nofollow"),  # same pair: stays dofollow
    ("https://a.com/p2", "https://b.com", "nofollow"),
    ("https://a.com/p2", "https://c.com/x", None),
    ("https://c.com/", "https://b.com/page", "sponsored"),
    ("https://c.com/", "https://b.com/page", "UGC"),  # same pair, still not dofollow
    ("https://d.com/", "https://B.com:443/", ""),  # same target URL as a.com/p1's
    ("https://b.com/", "https://a.com/", None),
    ("https://b.com/a", "https://www.b.com/", None),  # internal: never counted
    ("https://blog.b.com/", "https://b.com/x", None),  # internal across subdomains
    ("https://e.org/", "https://a.com/", "nofollow noopener"),
]


def _links3(links: list[tuple[str, str, str | None]]) -> list[tuple[str, str, str]]:
    return [(s, t, r or "") for s, t, r in links]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> BacklinkIndex:
    path = tmp_path_factory.mktemp("golden")
    build_from_links(path, _links3(LINKS))
    return BacklinkIndex.open(path)


def test_domains_sorted_and_looked_up_by_exact_name(index: BacklinkIndex) -> None:
    assert index.num_domains == 5
    assert index.names_of(range(5)) == ["a.com", "b.com", "c.com", "d.com", "e.org"]
    assert index.id_of("c.com") == 2
    assert index.id_of("b.co") is None
    assert index.id_of("bb.com") is None
    assert index.id_of("www.b.com") is None  # never indexed: names are registrable domains
    assert index.name_of(4) == "e.org"
    with pytest.raises(IndexError):
        index.name_of(5)


def test_counts_by_hand(index: BacklinkIndex) -> None:
    b = index.domain("https://WWW.B.com/some/page")
    assert b is not None and b.domain == "b.com"
    # pairs into b.com: a/p1, a/p2, c/ (to /page), d/ (same URL as a/p1's target, other page)
    assert (b.backlinks, b.referring_domains) == (4, 3)
    assert (b.linked_domains, b.outlinks) == (1, 1)
    a = index.domain("a.com")
    assert a is not None
    assert (a.backlinks, a.referring_domains, a.linked_domains, a.outlinks) == (2, 2, 2, 3)
    c = index.domain("c.com")
    assert c is not None and (c.backlinks, c.referring_domains) == (1, 1)
    d = index.domain("d.com")
    assert d is not None and (d.backlinks, d.referring_domains, d.outlinks) == (0, 0, 1)


def test_manifest_counts(index: BacklinkIndex) -> None:
    counts = index.manifest.counts
    assert counts["domains"] == 5
    assert counts["edges"] == 6  # a>b a>c c>b d>b b>a e>a
    assert counts["links"] == 7
    assert counts["dofollow_links"] == 4  # a/p1>b, a/p2>c, d>b, b>a
    assert index.manifest.psl["mode"] == "all"
    assert index.manifest.built_at.endswith("Z")
    assert index.built_at.tzinfo is not None


def test_in_link_csr_by_target(index: BacklinkIndex) -> None:
    b = index.id_of("b.com")
    assert b is not None
    sl = index.in_links_of(b)
    assert index.names_of(index.in_src[sl]) == ["a.com", "c.com", "d.com"]
    assert index.in_links[sl].tolist() == [2, 1, 1]
    assert index.in_dofollow[sl].tolist() == [1, 0, 1]
    assert index.in_dofollow_links[sl].tolist() == [1, 0, 1]
    assert index.in_indptr[-1] == len(index.in_src) == 6
    assert index.in_src.dtype == np.int32
    assert index.in_dofollow.dtype == np.uint8
    assert index.in_links.dtype == np.uint32
    assert index.in_dofollow_links.dtype == np.uint16
    assert index.in_first_seen.dtype == index.in_last_seen.dtype == np.uint16
    assert index.in_first_seen[sl].tolist() == [0, 0, 0]  # 0: no date known


def _dense_pagerank(n: int, edges: list[tuple[int, int]], d: float = 0.85) -> np.ndarray:
    adj = np.zeros((n, n))
    for s, t in edges:
        adj[s, t] = 1.0
    out = adj.sum(axis=1)
    r = np.full(n, 1.0 / n)
    for _ in range(1000):
        nxt = np.zeros(n)
        for s in range(n):
            if out[s]:
                nxt += d * r[s] * adj[s] / out[s]
            else:
                nxt += d * r[s] / n
        nxt += (1 - d) / n
        r = nxt
    return r


def test_pagerank_matches_dense_power_iteration(index: BacklinkIndex) -> None:
    a, b, c, d, e = range(5)
    # the binary dofollow graph: a>b, a>c, d>b, b>a (c>b is sponsored/ugc, e>a nofollow)
    expected = _dense_pagerank(5, [(a, b), (a, c), (d, b), (b, a)])
    assert np.allclose(index.pagerank, expected, rtol=2e-5, atol=0)
    assert index.pagerank.dtype == np.float32  # format 3: 6 significant digits fit
    assert index.pagerank.sum() == pytest.approx(1.0, abs=1e-5)


#: The worked example solved by hand from docs/metrics.md: the exact solution of the PageRank
#: equations (t = 0.0812963), then DR = round_half_up(7.5 * ln(PR * N) + 10) with N = 5.
#: domain: (PageRank, PR * N, 7.5 * ln(PR * N) + 10, DR)
HAND_DR = {
    "a.com": (0.3274124, 1.637062, 13.6968, 14),
    "b.com": (0.2895484, 1.447742, 12.7750, 13),
    "c.com": (0.2204466, 1.102233, 10.7300, 11),
    "d.com": (0.0812963, 0.406481, 3.2484, 0),  # no dofollow referring domain: 0, not 3
    "e.org": (0.0812963, 0.406481, 3.2484, 0),  # only a nofollow link out
}


def test_domain_rating_formula_and_zero_without_dofollow_referrer(index: BacklinkIndex) -> None:
    for name, (pagerank, _, _, dr) in HAND_DR.items():
        i = index.id_of(name)
        assert i is not None
        # iterated to an L1 change below 1e-6 and rounded to 6 digits (docs/metrics.md)
        assert index.pagerank[i] == pytest.approx(pagerank, abs=6e-6), name
        assert index.domain_rating[i] == dr, name
    # e.org links out but nothing dofollow links to d.com or e.org; a.com's
    # only other referrer (e.org) is nofollow, b.com's dofollow link keeps it > 0
    assert index.domain("d.com").domain_rating == 0  # type: ignore[union-attr]
    assert index.domain("e.org").domain_rating == 0  # type: ignore[union-attr]


def test_rank_by_pagerank_ties_by_name(index: BacklinkIndex) -> None:
    order = sorted(range(5), key=lambda i: (-index.pagerank[i], index.name_of(i)))
    assert [int(index.rank[i]) for i in order] == [1, 2, 3, 4, 5]
    d, e = index.id_of("d.com"), index.id_of("e.org")
    assert d is not None and e is not None
    assert index.pagerank[d] == index.pagerank[e]  # both only get the teleport share
    assert index.rank[d] + 1 == index.rank[e] == 5


def test_domain_lookup_unknown_and_invalid(index: BacklinkIndex) -> None:
    assert index.domain("unknown-site.com") is None
    with pytest.raises(InvalidDomain):
        index.domain("localhost")
    with pytest.raises(InvalidDomain):
        index.domain("co.uk")
    assert index.normalize("HTTPS://Sub.C.com:8080/x") == "c.com"


def test_metrics_as_dict_fields(index: BacklinkIndex) -> None:
    row = index.domain("b.com")
    assert row is not None
    assert list(row.as_dict()) == [
        "domain", "domain_rating", "backlinks", "referring_domains", "spam_score",
        "spam_signals", "rank", "linked_domains", "outlinks",
    ]


def _batch(rows: list[tuple[str, str, bool, datetime | None]], dictionary: bool = False
           ) -> pa.RecordBatch:
    from linkgap.domains import DomainNormalizer
    from linkgap.urls import normalize_url

    norm = DomainNormalizer()
    data: dict[str, list[object]] = {k: [] for k in LINK_SCHEMA.names}
    for s, t, df, seen in rows:
        su, tu = normalize_url(s), normalize_url(t)
        assert su and tu
        data["source_url"].append(su.url)
        data["target_url"].append(tu.url)
        data["source_domain"].append(norm.registrable(su.host))
        data["target_domain"].append(norm.registrable(tu.host))
        data["dofollow"].append(df)
        data["anchor"].append("x")
        data["seen_at"].append(seen)
    batch = pa.RecordBatch.from_pydict(data, schema=LINK_SCHEMA)
    if dictionary:
        cols = [c.dictionary_encode() if c.type == pa.string() else c for c in batch.columns]
        batch = pa.RecordBatch.from_arrays(cols, names=batch.schema.names)
    return batch


def test_dedup_across_inputs_seen_dates_and_dictionary_columns(tmp_path: Path) -> None:
    t1 = datetime(2024, 1, 1, tzinfo=UTC)
    t2 = datetime(2024, 3, 1, tzinfo=UTC)
    t3 = datetime(2024, 6, 1, tzinfo=UTC)
    first = _batch([("https://x.com/", "https://y.com/", False, t2),
                    ("https://x.com/2", "https://y.com/", False, None)])
    second = _batch([("https://x.com/", "https://y.com/", True, t1),  # repeat: dofollow wins
                     ("https://x.com/", "https://y.com/", False, t3)], dictionary=True)
    manifest = build_from_batches(tmp_path, [first, second])
    assert manifest.counts["links"] == 2
    assert manifest.counts["dofollow_links"] == 1
    assert manifest.counts["occurrences"] == 4
    index = BacklinkIndex.open(tmp_path)
    y = index.id_of("y.com")
    assert y is not None
    sl = index.in_links_of(y)
    assert index.in_links[sl].tolist() == [2]
    assert index.in_dofollow[sl].tolist() == [1]
    # day codes: days since 1970-01-01 plus 1
    assert index.in_first_seen[sl].tolist() == [int(t1.timestamp()) // 86400 + 1]
    assert index.in_last_seen[sl].tolist() == [int(t3.timestamp()) // 86400 + 1]
    assert index.domain_rating[y] > 0


def test_internal_links_in_batches_are_never_counted(tmp_path: Path) -> None:
    # a producer that forgets to drop internal links must not change any count
    batch = _batch([("https://x.com/", "https://www.x.com/", True, None),
                    ("https://x.com/", "https://z.com/", True, None)])
    manifest = build_from_batches(tmp_path, [batch])
    assert manifest.counts["links"] == 1
    index = BacklinkIndex.open(tmp_path)
    assert index.domain("x.com").backlinks == 0  # type: ignore[union-attr]
    assert index.domain("x.com").outlinks == 1  # type: ignore[union-attr]


def test_icann_only_mode_merges_private_suffix_domains(tmp_path: Path) -> None:
    links = [("https://alice.github.io/", "https://bob.github.io/"),
             ("https://alice.github.io/", "https://c.com/")]
    build_from_links(tmp_path / "all", links)
    index = BacklinkIndex.open(tmp_path / "all")
    assert index.names_of(range(index.num_domains)) == [
        "alice.github.io", "bob.github.io", "c.com"]
    build_from_links(tmp_path / "icann", links, icann_only=True)
    icann = BacklinkIndex.open(tmp_path / "icann")
    assert icann.manifest.psl["mode"] == "icann"
    assert icann.names_of(range(icann.num_domains)) == ["c.com", "github.io"]
    assert icann.normalize("bob.github.io") == "github.io"


def test_docs_worked_example(index: BacklinkIndex) -> None:
    # docs/metrics.md quotes these values for the same graph
    table = {name: index.domain(name) for name in ("a.com", "b.com", "c.com", "d.com", "e.org")}
    assert {n: (m.domain_rating, m.rank) for n, m in table.items() if m} == {
        "a.com": (14, 1), "b.com": (13, 2), "c.com": (11, 3), "d.com": (0, 4), "e.org": (0, 5)}
    assert index.pagerank[index.id_of("a.com")] == pytest.approx(0.327412, abs=2e-6)  # type: ignore[index]
    assert index.pagerank[index.id_of("d.com")] == pytest.approx(0.0812963, abs=2e-7)  # type: ignore[index]


def test_many_names_and_ids_at_once(index: BacklinkIndex) -> None:
    assert index.names_array(np.array([4, 0, 4])).to_pylist() == ["e.org", "a.com", "e.org"]
    assert index.names_of([]) == []
    assert index.ids_of(["e.org", "zzz.com", "a.com"]) == [4, None, 0]
    with pytest.raises(IndexError):
        index.names_of([0, 5])
    with pytest.raises(IndexError):
        index.names_of([-1])
