"""Link competitors through a built index: the out-link files of ``index build``, the
library (``BacklinkIndex.competitors``) against a brute force over Python sets, the
50,000 cap on a real index, ``--no-out-links`` and indexes without out-link files,
and ``linkgap competitors`` on the command line."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from support.crawlfiles import write_cc_graph
from support.indexes import build_test_index

from linkgap import BacklinkIndex, LinkCompetitors
from linkgap.cli import main
from linkgap.competitors import link_competitors_of
from linkgap.errors import InvalidDomain, InvalidInput, OutLinksMissing
from linkgap.index.build import build_index
from linkgap.index.competitors import DEFAULT_CAP


def random_cc_graph(folder: Path, seed: int, n: int = 160, edges: int = 2500
                    ) -> tuple[list[str], set[tuple[str, str]]]:
    """A cc-graph input pair of a random graph with hubs; (domain names, edge set)."""
    rng = random.Random(seed)
    names = [f"site{i:03d}.com" for i in range(n)]
    hubs = rng.sample(range(n), 6)
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < edges:
        s = rng.randrange(n)
        t = rng.choice(hubs) if rng.random() < 0.3 else rng.randrange(n)
        if s != t:
            pairs.add((s, t))
    write_cc_graph(folder, "graph", [(i, "com." + names[i][:-4], 1) for i in range(n)],
                   sorted(pairs))
    return names, {(names[s], names[t]) for s, t in pairs}


def brute_force(pairs: set[tuple[str, str]], strength: dict[str, float], target: str,
                limit: int, cap: int) -> list[tuple[str, int, float]]:
    """Competitor rows from Python sets: the definition of SPEC 13, written plainly."""
    referrers: dict[str, set[str]] = {}
    for s, t in pairs:
        referrers.setdefault(t, set()).add(s)
    mine = sorted(referrers.get(target, set()))
    if len(mine) > cap:
        mine = sorted(mine, key=lambda r: (-strength[r], r))[:cap]
    used = set(mine)
    rows = []
    for other, theirs in referrers.items():
        shared = len(used & theirs)
        if other != target and shared:
            rows.append((other, shared, shared / (len(used) + len(theirs) - shared)))
    rows.sort(key=lambda r: (-r[1], -r[2], r[0]))
    return rows[:limit]


@pytest.fixture(scope="module")
def graph_index(tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[Path, list[str], set[tuple[str, str]]]:
    folder = tmp_path_factory.mktemp("competitors")
    names, pairs = random_cc_graph(folder / "inputs", seed=5)
    build_index(folder / "index", [str(p) for p in sorted((folder / "inputs").iterdir())])
    return folder / "index", names, pairs


def strengths(index: BacklinkIndex) -> dict[str, float]:
    return dict(zip(index.names_of(range(len(index))), index.pagerank.tolist(), strict=True))


def test_the_build_stores_out_links_by_source(
        graph_index: tuple[Path, list[str], set[tuple[str, str]]]) -> None:
    index_dir, _, pairs = graph_index
    index = BacklinkIndex.open(index_dir)
    assert index.has_out_links and index.manifest.build is not None
    assert index.manifest.build["out_links"] is True
    assert index.out_indptr is not None and index.out_dst is not None
    assert index.out_dst.dtype == np.int32 and len(index.out_dst) == len(pairs)
    for source_id in range(len(index)):
        row = index.out_dst[index.out_indptr[source_id]:index.out_indptr[source_id + 1]]
        want = sorted(t for s, t in pairs if s == index.name_of(source_id))
        assert index.names_of(row) == want  # ascending ids = ascending names
    usage = index.disk_usage()
    edges = len(pairs)
    assert usage["out_links"] is True
    assert usage["out_link_bytes"] == 4 * edges + 8 * (len(index) + 1) + 2 * 128
    assert usage["bytes_per_edge"] == 5.0  # a web graph: only in_src and in_dofollow in full


def test_competitors_equal_the_brute_force(
        graph_index: tuple[Path, list[str], set[tuple[str, str]]]) -> None:
    index_dir, names, pairs = graph_index
    index = BacklinkIndex.open(index_dir)
    strength = strengths(index)
    for target in names[::9]:
        for limit in (1, 7, 20, 100):
            got = index.competitors(target, limit=limit)
            want = brute_force(pairs, strength, target, limit, DEFAULT_CAP)
            assert isinstance(got, LinkCompetitors) and got.found and not got.capped
            assert [(r["domain"], r["shared_referring_domains"]) for r in got.rows] == \
                [(d, s) for d, s, _ in want], (target, limit)
            assert [r["jaccard"] for r in got.rows] == [round(j, 6) for _, _, j in want]
            for row in got.rows:
                assert row["domain_rating"] == index.domain(row["domain"]).domain_rating
            assert got.referring_domains == got.referring_domains_used == \
                len({s for s, t in pairs if t == target})


@pytest.mark.parametrize("cap", [1, 5, 20])
def test_a_small_cap_keeps_the_strongest_referrers(
        graph_index: tuple[Path, list[str], set[tuple[str, str]]], cap: int) -> None:
    index_dir, names, pairs = graph_index
    index = BacklinkIndex.open(index_dir)
    strength = strengths(index)
    for target in names[::13]:
        got = link_competitors_of(index, target, 100, cap=cap)
        total = len({s for s, t in pairs if t == target})
        assert got.capped == (total > cap)
        assert got.referring_domains == total
        assert got.referring_domains_used == min(total, cap)
        want = brute_force(pairs, strength, target, 100, cap)
        assert [(r["domain"], r["shared_referring_domains"], r["jaccard"]) for r in got.rows] \
            == [(d, s, round(j, 6)) for d, s, j in want]


def test_typed_domains_are_normalised_and_checked(
        graph_index: tuple[Path, list[str], set[tuple[str, str]]]) -> None:
    index = BacklinkIndex.open(graph_index[0])
    assert index.competitors("https://WWW.Site001.com/page").domain == "site001.com"
    with pytest.raises(InvalidDomain):
        index.competitors("co.uk")
    for bad in (0, 101, "5", True):
        with pytest.raises(InvalidInput, match="limit must be an integer between 1 and 100"):
            index.competitors("site001.com", limit=bad)  # type: ignore[arg-type]
    unknown = index.competitors("not-indexed.org")
    assert not unknown.found and unknown.rows == [] and unknown.referring_domains == 0


def test_a_domain_over_the_cap_uses_its_strongest_50000(tmp_path: Path) -> None:
    # big.com has 50,003 referring domains; r0..r2 link to hub.com too, so they are
    # stronger than the rest; among the equally weak, the last names are dropped.
    n_ref = DEFAULT_CAP + 3
    refs = [f"r{i:05d}.net" for i in range(n_ref)]
    vertices = [(0, "com.big", 1), (1, "com.hub", 1), (2, "com.even", 1), (3, "com.tail", 1),
                (4, "org.booster", 1)]
    vertices += [(5 + i, "net." + r[:-4], 1) for i, r in enumerate(refs)]
    edges = [(5 + i, 0) for i in range(n_ref)]
    edges += [(5 + i, 2) for i in range(0, n_ref, 2)]  # every other one links to even.com
    edges += [(5 + i, 3) for i in range(n_ref - 10, n_ref)]  # the last ten to tail.com
    edges += [(4, 5 + i) for i in range(3)]  # booster.org makes r00000..r00002 stronger
    edges += [(5 + i, 1) for i in range(3)]
    write_cc_graph(tmp_path / "inputs", "big", vertices, edges)
    build_index(tmp_path / "index", [str(p) for p in sorted((tmp_path / "inputs").iterdir())])
    index = BacklinkIndex.open(tmp_path / "index")
    got = index.competitors("big.com", limit=100)
    assert got.capped and got.referring_domains == n_ref
    assert got.referring_domains_used == DEFAULT_CAP
    # The three weakest (equal PageRank, last names) are left out: r50000..r50002, so
    # tail.com shares 7 of its 10 and even.com loses r50000 and r50002.
    rows = {r["domain"]: r for r in got.rows}
    assert rows["tail.com"]["shared_referring_domains"] == 7
    assert rows["even.com"]["shared_referring_domains"] == (n_ref + 1) // 2 - 2
    assert rows["hub.com"]["shared_referring_domains"] == 3
    assert rows["even.com"]["jaccard"] == round(
        ((n_ref + 1) // 2 - 2) / (DEFAULT_CAP + (n_ref + 1) // 2 - ((n_ref + 1) // 2 - 2)), 6)
    assert [r["domain"] for r in got.rows] == ["even.com", "tail.com", "hub.com"]


LINKS = [("https://a.com/", "https://t.com/"), ("https://b.com/", "https://t.com/"),
         ("https://a.com/", "https://rival.com/"), ("https://b.com/x", "https://rival.com/"),
         ("https://a.com/", "https://other.com/")]


def test_no_out_links_builds_without_them_and_refuses_competitors(tmp_path: Path) -> None:
    report = build_test_index(tmp_path / "index", LINKS, out_links=False)
    assert report.manifest.build is not None and report.manifest.build["out_links"] is False
    assert not (report.path / "out_dst.npy").exists()
    assert not (report.path / "out_indptr.npy").exists()
    index = BacklinkIndex.open(tmp_path / "index")
    assert not index.has_out_links and index.disk_usage()["out_link_bytes"] == 0
    assert len(index.gap("t.com", ["rival.com"])) == 0  # the rest of the index works
    with pytest.raises(OutLinksMissing, match="built without them"):
        index.competitors("t.com")
    assert OutLinksMissing.status == 501 and OutLinksMissing.code == "out_links_missing"


def test_an_index_without_out_link_files_still_opens(tmp_path: Path) -> None:
    # A version written before out-links existed has neither file nor manifest key.
    report = build_test_index(tmp_path / "index", LINKS)
    for stem in ("out_indptr", "out_dst"):
        (report.path / f"{stem}.npy").unlink()
    manifest_path = report.path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["build"]["out_links"]
    manifest_path.write_text(json.dumps(manifest))
    index = BacklinkIndex.open(tmp_path / "index")
    assert index.domain("t.com") is not None and not index.has_out_links
    with pytest.raises(OutLinksMissing):
        index.competitors("t.com")


def test_cli_competitors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_test_index(tmp_path / "index", LINKS)
    index = str(tmp_path / "index")
    assert main(["competitors", "https://www.T.com/", "--index", index,
                 "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == [
        {"domain": "rival.com", "shared_referring_domains": 2, "jaccard": 1.0,
         "domain_rating": BacklinkIndex.open(index).domain("rival.com").domain_rating},
        {"domain": "other.com", "shared_referring_domains": 1, "jaccard": 0.5,
         "domain_rating": BacklinkIndex.open(index).domain("other.com").domain_rating},
    ]
    assert "t.com has 2 referring domains" in err
    assert main(["competitors", "t.com", "--index", index, "--limit", "1"]) == 0
    out, _ = capsys.readouterr()
    assert "rival.com" in out and "other.com" not in out
    assert main(["competitors", "a.com", "--index", index]) == 0
    out, err = capsys.readouterr()
    assert "a.com has 0 referring domains" in err
    assert out.strip() == "no link competitors for a.com: no other domain shares a " \
                          "referring domain with it"
    assert main(["competitors", "nowhere.org", "--index", index, "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    assert out == "domain,shared_referring_domains,jaccard,domain_rating\n"
    assert "nowhere.org is not in the index" in err


def test_cli_competitors_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_test_index(tmp_path / "index", LINKS, out_links=False)
    index = str(tmp_path / "index")
    assert main(["competitors", "t.com", "--index", index]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: link competitors need the out-links by source")
    assert "\n" not in err
    assert main(["competitors", "localhost", "--index", index]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: 'localhost'") and "\n" not in err
    assert main(["competitors", "t.com", "--index", index, "--limit", "101"]) == 2
    shutil.rmtree(tmp_path / "index")
    assert main(["competitors", "t.com", "--index", index]) == 1
    assert "no index has been built yet" in capsys.readouterr().err


def test_cli_build_no_out_links(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from support.crawlfiles import write_links_csv

    csv_path = write_links_csv(tmp_path / "links.csv", [(s, t, "") for s, t in LINKS],
                               columns=("source_url", "target_url", "rel"))
    index = str(tmp_path / "index")
    assert main(["index", "build", "--index", index, "--no-out-links", str(csv_path)]) == 0
    capsys.readouterr()
    assert main(["index", "info", "--index", index, "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)[0]
    assert info["out_links"] is False and info["out_link_bytes"] == 0
    assert main(["index", "build", "--index", index, str(csv_path)]) == 0
    capsys.readouterr()
    assert main(["index", "info", "--index", index, "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)[0]
    assert info["out_links"] is True
    assert info["out_link_bytes_per_edge"] > 4  # 4 per edge plus 8 per domain
    assert main(["index", "build", "--index", index, "--stage-only", str(tmp_path / "s"),
                 "--engine", "spark", "--no-out-links", str(csv_path)]) == 2
    assert "--no-out-links" in capsys.readouterr().err
