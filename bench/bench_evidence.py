"""Measure what evidence costs: index size and build time with ``--evidence 0`` vs 3.

    python bench/bench_evidence.py                       # WARC 600 pages + CSV 200k domains
    python bench/bench_evidence.py --csv-domains 2000000 # the 2M-domain links CSV
    python bench/bench_evidence.py --skip-warc --csv-domains 2000000 --keep /tmp/ev

Two inputs, each built twice in this process (the same input, ``--evidence
0`` then ``--evidence 3``), so every ratio compares builds of the same run:

- the WARC benchmark input of ``bench/bench_extract.py`` (generated HTML pages,
  50-150 links each, mixed ``rel``);
- a generated links CSV (``write_links_csv`` below): every one of
  ``--csv-domains`` domains links out, targets drawn from a power law,
  several pages per source domain, anchors, dates and 15% nofollow/ugc rows.

For each it prints the edges, the build time, the per-edge arrays' bytes (the
hot path and its columns, unchanged by evidence), the evidence files' bytes,
the whole version's bytes per edge, and the ratios evidence 3 / evidence 0.
Then the reader's latency on the evidence-3 index: ``links()`` (names →
samples), ``edge_evidence()`` (ids → counts and samples) for random edges,
and ``evidence_table()`` for 10,000 pairs (the bulk read a run's freeze uses),
as median and 99th percentile. Timings are wall clock on a shared machine:
read them as ranges.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parent))

from linkgap import BacklinkIndex  # noqa: E402
from linkgap.index.build import build_index  # noqa: E402

_WORDS = np.array(["seo", "guide", "tools", "review", "best", "cheap", "outreach", "blog",
                   "home", "click here", "read more", "link building", "our partner",
                   "pricing", "docs", "about us"])


def write_links_csv(path: Path, domains: int, seed: int = 5) -> int:
    """A links CSV in which ``domains`` domains link out; returns its rows.

    Each domain is the source of 1-5 rows from 1-3 of its pages; targets follow
    a power law over the same domains (popular sites get most links). Written
    in slices with Arrow's CSV writer, so 2M domains take seconds, not minutes.
    """
    rng = np.random.default_rng(seed)
    per_source = rng.integers(1, 6, domains)
    rows = int(per_source.sum())
    with pacsv.CSVWriter(str(path), pa.schema([
            ("source_url", pa.string()), ("target_url", pa.string()), ("rel", pa.string()),
            ("anchor", pa.string()), ("seen_at", pa.string())])) as writer:
        sources = np.repeat(np.arange(domains, dtype=np.int64), per_source)
        for lo in range(0, rows, 1_000_000):
            src = sources[lo:lo + 1_000_000]
            k = len(src)
            dst = np.minimum((rng.pareto(1.2, k) * 50).astype(np.int64), domains - 1)
            dst = np.where(dst == src, (dst + 1) % domains, dst)
            page = rng.integers(0, 3, k)
            path_no = rng.integers(0, 20, k)
            rel = np.where(rng.random(k) < 0.1, "nofollow",
                           np.where(rng.random(k) < 0.05, "ugc", ""))
            day = np.datetime64("2023-01-01") + rng.integers(0, 900, k).astype("timedelta64[D]")
            writer.write_table(pa.table({
                "source_url": pc.binary_join_element_wise(
                    "https://www.site", pa.array(src.astype(str)), ".com/blog/post-",
                    pa.array(page.astype(str)), ""),
                "target_url": pc.binary_join_element_wise(
                    "https://site", pa.array(dst.astype(str)), ".com/page/",
                    pa.array(path_no.astype(str)), ""),
                "rel": pa.array(rel),
                "anchor": pa.array(_WORDS[rng.integers(0, len(_WORDS), k)]),
                "seen_at": pa.array(day.astype(str)),
            }))
    return rows


def _folder_bytes(index: BacklinkIndex) -> dict[str, Any]:
    usage = index.disk_usage()
    return {**usage, "edges": int(index.manifest.counts["edges"]),
            "samples": int((index.manifest.evidence or {}).get("samples", 0))}


def measure_builds(label: str, inputs: list[str], work: Path,
                   memory_limit: str | None, repeat: int) -> Path:
    """Build ``inputs`` with evidence 0 and 3 (alternately, best of ``repeat`` each); print
    sizes, times and ratios; returns the evidence-3 index directory."""
    results: dict[int, dict[str, Any]] = {}
    for _ in range(repeat):
        for n in (0, 3):
            target = work / f"{label}-evidence-{n}"
            shutil.rmtree(target, ignore_errors=True)
            started = time.perf_counter()
            build_index(target, inputs, evidence=n, memory_limit=memory_limit)
            seconds = time.perf_counter() - started
            best = min(seconds, results.get(n, {}).get("seconds", seconds))
            results[n] = {**_folder_bytes(BacklinkIndex.open(target)), "seconds": best}
    a, b = results[0], results[3]
    print(f"\n== {label}: {a['edges']:,} domain edges, {b['samples']:,} samples kept "
          f"({b['samples'] / max(1, b['edges']):.2f} per edge)")
    print(f"{'':14}{'build s':>10}{'edge B/edge':>13}{'evidence B/edge':>17}"
          f"{'index B/edge':>14}{'index MB':>10}")
    for n, r in results.items():
        print(f"--evidence {n:<3}{r['seconds']:>10.1f}{r['bytes_per_edge']:>13.2f}"
              f"{r['evidence_bytes_per_edge']:>17.2f}{r['index_bytes_per_edge']:>14.2f}"
              f"{r['index_bytes'] / 1e6:>10.1f}")
    print(f"ratios 3/0: build time {b['seconds'] / a['seconds']:.2f}x, whole index "
          f"{b['index_bytes'] / a['index_bytes']:.2f}x; per-edge arrays "
          f"{b['edge_bytes'] / max(1, a['edge_bytes']):.2f}x (the hot path is unchanged); "
          f"evidence {b['evidence_bytes'] / max(1, b['samples']):.1f} bytes per sample")
    return work / f"{label}-evidence-3"


def _percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"median {statistics.median(ordered) * 1e3:.3f} ms, p99 {p99 * 1e3:.3f} ms"


def measure_reads(index_dir: Path, lookups: int, seed: int = 3) -> None:
    """Latency of links(), edge_evidence() and evidence_table() on random edges."""
    index = BacklinkIndex.open(index_dir)
    rng = np.random.default_rng(seed)
    edges = int(index.in_indptr[-1])
    positions = np.sort(rng.integers(0, edges, lookups))
    targets = np.searchsorted(index.in_indptr, positions, side="right") - 1
    sources = np.asarray(index.in_src[positions], dtype=np.int64)
    order = rng.permutation(lookups)
    sources, targets = sources[order], targets[order]
    names = [(index.name_of(int(s)), index.name_of(int(t)))
             for s, t in zip(sources[:lookups], targets[:lookups], strict=True)]
    index.links(*names[0])  # maps the files once, as the first request of a server would
    t_links, t_edge = [], []
    found = 0
    for (s_name, t_name), s, t in zip(names, sources, targets, strict=True):
        started = time.perf_counter()
        found += len(index.links(s_name, t_name))
        t_links.append(time.perf_counter() - started)
        started = time.perf_counter()
        index.edge_evidence(int(s), int(t))
        t_edge.append(time.perf_counter() - started)
    print(f"\n== reads on {index_dir.name} ({lookups:,} random edges, {found:,} samples)")
    print(f"links(source, target):      {_percentiles(t_links)}")
    print(f"edge_evidence(ids):         {_percentiles(t_edge)}")
    # what a run's freeze asks for: its prospects' edges to a few competitors (here the
    # 10 domains with the most referring domains, up to 1,000 in-links of each)
    degree = np.diff(np.asarray(index.in_indptr))
    top = np.argsort(degree)[::-1][:10]
    bt = np.concatenate([np.full(min(1000, int(degree[t])), t) for t in top])
    bs = np.concatenate([np.asarray(index.in_src[index.in_links_of(int(t))])[:1000]
                         for t in top]).astype(np.int64)
    bulk = []
    for _ in range(3):
        started = time.perf_counter()
        rows = index.evidence_table(bs, bt).num_rows
        bulk.append(time.perf_counter() - started)
    print(f"evidence_table({len(bs):,} pairs, 10 targets): best {min(bulk) * 1e3:.0f} ms "
          f"({rows:,} rows)")


def main() -> None:
    """Command line: generate, build twice each, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=600, help="WARC benchmark pages")
    parser.add_argument("--csv-domains", type=int, default=200_000,
                        help="domains of the generated links CSV (2000000 for the 2M figure)")
    parser.add_argument("--skip-warc", action="store_true")
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=2, help="builds per setting (best kept)")
    parser.add_argument("--memory-limit", default=None, help="--memory-limit of the builds")
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temp one)")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="linkgap-bench-evidence-"))
    work.mkdir(parents=True, exist_ok=True)
    # load the Public Suffix List and warm DuckDB before any timed build
    from linkgap.index.build import build_from_links

    build_from_links(work / "warm-up", [("https://a.com/", "https://b.com/")])
    try:
        if not args.skip_warc:
            from bench_extract import write_bench_warc

            warc = work / "bench.warc.gz"
            if not warc.exists():
                write_bench_warc(warc, args.pages, 7, 40_000)
            print(f"WARC input: {args.pages:,} pages, {warc.stat().st_size / 1e6:.1f} MB gzip")
            measure_reads(measure_builds("warc", [str(warc)], work, args.memory_limit,
                                         args.repeat), args.lookups)
        csv_path = work / f"links-{args.csv_domains}.csv"
        if not csv_path.exists():
            started = time.perf_counter()
            rows = write_links_csv(csv_path, args.csv_domains)
            print(f"links CSV: {args.csv_domains:,} domains, {rows:,} rows, "
                  f"{csv_path.stat().st_size / 1e6:.0f} MB, written in "
                  f"{time.perf_counter() - started:.1f} s")
        index_dir = measure_builds(f"csv-{args.csv_domains}", [str(csv_path)], work,
                                   args.memory_limit, args.repeat)
        measure_reads(index_dir, args.lookups)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
