"""Bounded build memory: spilling under a tiny limit, --temp-dir, streamed PageRank, kills."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from linkgap import BacklinkIndex
from linkgap.cli import main
from linkgap.errors import BuildFailed, InvalidInput
from linkgap.index import aggregate, finalize
from linkgap.index import metrics as m
from linkgap.index import pagerank as compiled_pagerank
from linkgap.index.aggregate import LinkAggregator
from linkgap.index.budget import MemoryBudget, parse_size
from linkgap.index.build import build_from_batches, build_from_links
from linkgap.index.csr import NpyWriter
from linkgap.index.versions import read_current
from linkgap.ingest.base import LINK_SCHEMA

#: The PageRank engines this machine can run.
ENGINES = ("compiled", "scipy") if compiled_pagerank.available() else ("scipy",)


def _links_batch(k: int, seed: int = 1) -> pa.RecordBatch:
    """``k`` distinct page links between a few thousand domains."""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, 3000, k)
    dst = (src + rng.integers(1, 3000, k)) % 3000
    return pa.RecordBatch.from_arrays([
        pa.array([f"https://s{s}.com/page/{i}" for i, s in enumerate(src)]),
        pa.array([f"https://t{t}.com/" for t in dst]),
        pa.array([f"s{s}.com" for s in src]), pa.array([f"t{t}.com" for t in dst]),
        pa.array(rng.random(k) < 0.7), pa.nulls(k, pa.string()),
        pa.nulls(k, pa.timestamp("s", tz="UTC")),
    ], schema=LINK_SCHEMA)


def test_sizes() -> None:
    assert parse_size("2GB") == 2_000_000_000
    assert parse_size("512MiB") == 512 * 2**20
    assert parse_size("1.5g") == 1_500_000_000
    for bad in ("lots", "", "2XB", "1MB"):
        with pytest.raises(InvalidInput):
            parse_size(bad)


def test_duckdb_gets_the_limit_less_what_the_build_holds() -> None:
    budget = MemoryBudget(1000 * 2**20)
    assert budget.duckdb_share == 1000 * 2**20
    budget.reserve("vectors", 300 * 2**20)
    assert budget.duckdb_share == 700 * 2**20
    budget.reserve("more", 10_000 * 2**20)
    assert budget.duckdb_share == 250 * 2**20  # never below a quarter
    budget.release("more")
    budget.release("vectors")
    assert budget.available() == 1000 * 2**20


def test_tiny_limit_spills_to_the_temp_dir_and_gives_the_same_index(tmp_path: Path) -> None:
    batch = _links_batch(200_000)
    temp = tmp_path / "spill-here"
    # Without evidence: the link text (evidence builds) needs a larger minimum limit.
    small = build_from_batches(tmp_path / "small", [batch], memory_limit="32MiB",
                               temp_dir=temp, evidence=0)
    assert small.build is not None
    assert small.build["memory_limit"] == 32 * 2**20
    assert small.build["peak_spill_bytes"] > 0  # DuckDB really wrote to the temp folder
    assert list(temp.iterdir()) == []  # and the build removed its folder there
    assert not list((tmp_path / "small").glob("tmp-*"))
    big = build_from_batches(tmp_path / "big", [batch], memory_limit="2GB", evidence=0)
    assert big.build is not None and big.build["peak_spill_bytes"] == 0
    x, y = BacklinkIndex.open(tmp_path / "small"), BacklinkIndex.open(tmp_path / "big")
    for name in ("in_indptr", "in_src", "in_links", "in_dofollow", "backlinks", "outlinks",
                 "pagerank", "rank", "spam_signals"):
        assert np.array_equal(getattr(x, name), getattr(y, name)), name
    assert x.manifest.counts == y.manifest.counts


def test_finalising_scratch_goes_under_the_temp_dir_too(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # The CSR writer's scratch, PageRank's filtered ids and the out-link ranges (up to
    # 8 bytes per edge) belong with the spill: off the index's disk when --temp-dir is
    # given, and gone when the build ends.
    seen: list[tuple[Path, bool]] = []
    real = finalize.write_out_links

    def spy(folder: Path, work: Path, memory: int) -> Any:
        seen.append((work, (folder / "work").exists()))
        assert work.is_dir()
        return real(folder, work, memory)

    monkeypatch.setattr(finalize, "write_out_links", spy)
    temp = tmp_path / "scratch-disk"
    build_from_batches(tmp_path / "ix", [_links_batch(20_000)], memory_limit="64MiB",
                       temp_dir=temp, evidence=0)
    (work, in_build_folder), = seen
    assert work.resolve().is_relative_to(temp.resolve()) and not in_build_folder
    assert list(temp.iterdir()) == []  # removed with the build's temp folder
    seen.clear()
    build_from_batches(tmp_path / "plain", [_links_batch(20_000)], memory_limit="64MiB",
                       evidence=0)
    (work, _), = seen
    assert work.parent.name.startswith("tmp-") and work.name == "work"


def _threads_after_finish(tmp_path: Path, batch: pa.RecordBatch, threads: int | None) -> int:
    agg = LinkAggregator(tmp_path / f"spill-{threads}", MemoryBudget(2 * 2**30),
                         threads=threads, evidence=0)
    try:
        agg.add(batch)
        agg.finish()
        return int(agg._con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    finally:
        agg.close()


def test_a_small_aggregation_runs_on_one_thread_unless_told(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    batch = _links_batch(2_000)
    assert _threads_after_finish(tmp_path, batch, None) == 1
    assert _threads_after_finish(tmp_path, batch, 2) == 2  # the caller's choice stands
    monkeypatch.setattr(aggregate, "_ONE_THREAD_ROWS", 1_000)  # now the input is large
    con = duckdb.connect()
    default = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    con.close()
    assert _threads_after_finish(tmp_path, batch, None) == default


def test_too_small_a_limit_is_a_clear_error_and_publishes_nothing(tmp_path: Path) -> None:
    build_from_links(tmp_path, [("https://a.com/", "https://b.com/")])
    before = read_current(tmp_path)
    with pytest.raises(BuildFailed, match="more memory than its --memory-limit"):
        build_from_batches(tmp_path, [_links_batch(200_000)], memory_limit="16MiB")
    assert read_current(tmp_path) == before
    assert not list(tmp_path.glob("tmp-*"))


def test_pagerank_read_from_the_file_equals_pagerank_in_memory(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 500
    dst = np.sort(rng.integers(0, n, 6000))
    src = rng.integers(0, n, 6000).astype(np.int32)
    indptr = np.concatenate(([0], np.cumsum(np.bincount(dst, minlength=n)))).astype(np.int64)
    out = np.bincount(src, minlength=n)
    writer = NpyWriter(tmp_path / "src.npy", np.int32)
    writer.write(src)
    writer.close()
    source = m.FileSource(tmp_path / "src.npy")
    try:
        streamed = {engine: m.pagerank(indptr, source, out, block_edges=700, engine=engine)
                    for engine in ENGINES}
    finally:
        source.close()
    # Either engine gives the bits of the same engine over the whole array in memory.
    for engine in ENGINES:
        whole = m.pagerank(indptr, src, out, block_edges=700, engine=engine)
        assert streamed[engine].iterations == whole.iterations
        assert np.array_equal(streamed[engine].pagerank, whole.pagerank)
    if len(ENGINES) == 2:
        np.testing.assert_allclose(streamed["compiled"].pagerank, streamed["scipy"].pagerank,
                                   rtol=1e-4)


def test_a_build_that_cannot_hold_the_ids_streams_them(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    batch = _links_batch(5000)
    build_from_batches(tmp_path / "memory", [batch])
    monkeypatch.setattr(finalize, "_PAGERANK_BYTES_PER_DOMAIN", 10**12)
    manifest = build_from_batches(tmp_path / "streamed", [batch])
    assert manifest.build is not None and manifest.build["pagerank_ids"] == "streamed"
    x, y = BacklinkIndex.open(tmp_path / "memory"), BacklinkIndex.open(tmp_path / "streamed")
    assert x.manifest.build["pagerank_ids"] == "in memory"  # type: ignore[index]
    # Streamed ids go through the same iteration as ids in memory: the same bits.
    assert np.array_equal(x.pagerank, y.pagerank)
    assert np.array_equal(x.domain_rating, y.domain_rating)


@pytest.mark.skipif("compiled" not in ENGINES, reason="numba is not installed")
def test_memory_limits_that_stream_or_hold_the_ids_give_the_same_pagerank(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A graph big enough for the compiled iteration (its threshold lowered), cut into
    # many blocks and chunks; each domain counted as 100 kB of PageRank vectors, so
    # that 1 GB holds the ids and 64 MB does not.
    monkeypatch.setattr(m, "COMPILED_MIN_EDGES", 1)
    monkeypatch.setattr(compiled_pagerank, "BLOCK_EDGES", 64)
    monkeypatch.setattr(m, "BLOCK_EDGES", 1000)
    monkeypatch.setattr(finalize, "_PAGERANK_BYTES_PER_DOMAIN", 100_000)
    chunk_counts: list[int] = []
    real_chunks = compiled_pagerank._chunks

    def counted_chunks(*args: Any) -> list[tuple[int, int]]:
        chunks = real_chunks(*args)
        chunk_counts.append(len(chunks))
        return chunks

    monkeypatch.setattr(compiled_pagerank, "_chunks", counted_chunks)
    csv = tmp_path / "links.csv"
    rng = np.random.default_rng(3)
    k = 20_000
    src, dst = rng.integers(0, 3000, k) ** 2 // 3000, rng.integers(0, 3000, k)  # skewed
    with open(csv, "w", encoding="utf-8") as fh:
        fh.write("source_url,target_url\n")
        fh.writelines(f"https://s{s}.com/p{i},https://t{t}.org/\n"
                      for i, (s, t) in enumerate(zip(src.tolist(), dst.tolist(), strict=True)))
    modes = {}
    for limit in ("1GB", "64MB"):
        index = tmp_path / limit
        assert main(["index", "build", "--index", str(index), "--memory-limit", limit,
                     str(csv)]) == 0
        opened = BacklinkIndex.open(index)
        modes[limit] = opened.manifest.build["pagerank_ids"]  # type: ignore[index]
    assert modes == {"1GB": "in memory", "64MB": "streamed"}
    assert len(chunk_counts) == 1 and chunk_counts[0] > 3  # the streamed build, in chunks
    held, streamed = BacklinkIndex.open(tmp_path / "1GB"), BacklinkIndex.open(tmp_path / "64MB")
    assert np.array_equal(held.pagerank, streamed.pagerank)
    assert np.array_equal(held.domain_rating, streamed.domain_rating)
    assert np.array_equal(held.rank, streamed.rank)


def _start_build(index: Path, temp: Path, csv: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "linkgap", "index", "build", "--index", str(index),
         "--memory-limit", "32MiB", "--temp-dir", str(temp), str(csv)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "LINKGAP_HOME": str(index.parent / "home")},
    )


def _wait_for_spill_folder(proc: subprocess.Popen[bytes], temp: Path) -> Path:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = list(temp.glob("linkgap-tmp-*")) if temp.exists() else []
        if found:
            return found[0]
        assert proc.poll() is None, "the build ended before it could be interrupted"
        time.sleep(0.02)
    raise AssertionError("the build never made its temp folder")


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A links CSV whose build takes a few seconds."""
    path = tmp_path_factory.mktemp("kill") / "links.csv"
    rng = np.random.default_rng(9)
    k = 400_000
    src, dst = rng.integers(0, 5000, k), rng.integers(0, 5000, k)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("source_url,target_url\n")
        fh.writelines(f"https://s{s}.com/p{i},https://t{t}.org/\n"
                      for i, (s, t) in enumerate(zip(src.tolist(), dst.tolist(), strict=True)))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_killed_build_leaves_the_published_index_and_its_temp_files_go(
    tmp_path: Path, big_csv: Path, how: signal.Signals
) -> None:
    index, temp = tmp_path / "index", tmp_path / "temp"
    published = build_from_links(index, [("https://a.com/", "https://b.com/")]).version
    proc = _start_build(index, temp, big_csv)
    spill = _wait_for_spill_folder(proc, temp)
    time.sleep(0.3)
    proc.send_signal(how)
    proc.wait(timeout=60)
    assert read_current(index) == published
    reader = BacklinkIndex.open(index)
    assert reader.version == published and reader.domain("b.com") is not None
    if how == signal.SIGTERM:  # ended like Ctrl-C: everything removed on the way out
        assert not spill.exists()
        assert not list(index.glob("tmp-*"))
    else:  # killed outright: the next build removes what was left
        assert spill.exists() and list(index.glob("tmp-*"))
        build_from_links(index, [("https://c.com/", "https://d.com/")])
        assert not spill.exists()
        assert not list(index.glob("tmp-*"))
