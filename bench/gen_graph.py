"""Write a synthetic power-law domain graph in Common Crawl's cc-graph format.

    python bench/gen_graph.py --out /tmp/lg-graph                 # 2M domains, 40M edges
    python bench/gen_graph.py --out /tmp/lg-small --domains 100000 --edges 2000000

Writes ``<prefix>-vertices.txt.gz`` (``id \\t reversed_domain \\t n_hosts``) and
``<prefix>-edges.txt.gz`` (``from_id \\t to_id``), the files ``linkgap index
build`` reads as one ``cc-graph`` input. In- and out-degrees follow power laws
(a few domains get most links, as on the web); edges are distinct and never
self-loops. The same ``--seed`` always gives the same files.
"""

from __future__ import annotations

import argparse
import gzip
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

__all__ = ["power_law_edges", "write_graph"]

# Top-level domains and how often they occur (roughly the web's mix).
_TLDS = ["com", "org", "net", "de", "co.uk", "io", "fr", "nl", "info", "xyz", "com.au", "jp"]
_TLD_WEIGHTS = [0.48, 0.08, 0.07, 0.08, 0.05, 0.04, 0.04, 0.03, 0.03, 0.03, 0.03, 0.04]


def _power_law_ids(rng: np.random.Generator, n: int, size: int, exponent: float) -> np.ndarray:
    """``size`` ids in 0..n-1 with P(id = k) falling like (k+1)^-exponent."""
    u = rng.random(size)
    a = 1.0 - exponent
    x = ((float(n) ** a - 1.0) * u + 1.0) ** (1.0 / a)  # inverse CDF of a power law on [1, n]
    return np.minimum(x.astype(np.int64) - 1, n - 1)


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    # sort-based: numpy's hash-based np.unique is several times slower on int64 keys
    keys.sort()
    if len(keys) == 0:
        return keys
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))]


def power_law_edges(n: int, e: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """``e`` distinct (source, target) pairs over ``n`` domains, sorted by source."""
    rng = np.random.default_rng(seed)
    # Popularity order is shuffled so that ids (and names) say nothing of degree.
    src_perm = rng.permutation(n)
    dst_perm = rng.permutation(n)
    keys = np.zeros(0, dtype=np.int64)
    first = True
    while len(keys) < e:
        want = int((e - len(keys)) * 1.3) + 1000
        s = src_perm[_power_law_ids(rng, n, want, 1.05)]
        # Repeats of popular pairs are merged; the shortfall is topped up with
        # uniformly chosen targets, else the loop would keep drawing the head.
        t = dst_perm[_power_law_ids(rng, n, want, 1.15)] if first else rng.integers(0, n, want)
        first = False
        keep = s != t
        keys = _sorted_unique(np.concatenate((keys, s[keep] * n + t[keep])))
    if len(keys) > e:
        keys = np.sort(rng.choice(keys, size=e, replace=False))
    return keys // n, keys % n


def _vertex_names(n: int, seed: int) -> pa.Array:
    """Reversed domain names (``com.site1a2b``) for ids 0..n-1."""
    rng = np.random.default_rng(seed + 1)
    tlds = rng.choice(len(_TLDS), size=n, p=np.array(_TLD_WEIGHTS) / sum(_TLD_WEIGHTS))
    reversed_tlds = [".".join(reversed(t.split("."))) for t in _TLDS]
    names = [f"{reversed_tlds[t]}.site{i:x}" for i, t in enumerate(tlds.tolist())]
    return pa.array(names, pa.string())


def write_graph(out: Path, prefix: str, n: int, e: int, seed: int = 7) -> tuple[Path, Path]:
    """Write the vertices and edges files; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    vertices = out / f"{prefix}-vertices.txt.gz"
    edges = out / f"{prefix}-edges.txt.gz"
    options = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    hosts = np.random.default_rng(seed + 2).integers(1, 5, n)
    table = pa.table({"id": pa.array(np.arange(n)), "name": _vertex_names(n, seed),
                      "hosts": pa.array(hosts)})
    # gzip level 1: the files are read once, so fast writing beats small files
    with gzip.open(vertices, "wb", compresslevel=1) as fh:
        pacsv.write_csv(table, fh, options)
    src, dst = power_law_edges(n, e, seed)
    with gzip.open(edges, "wb", compresslevel=1) as fh:
        step = 4_000_000
        for i in range(0, len(src), step):
            pacsv.write_csv(pa.table({"s": src[i : i + step], "t": dst[i : i + step]}), fh,
                            options)
    return vertices, edges


def main() -> None:
    """Command line: write one graph."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    parser.add_argument("--prefix", default="graph", help="file name prefix (default: graph)")
    parser.add_argument("--domains", type=int, default=2_000_000)
    parser.add_argument("--edges", type=int, default=40_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    v, e = write_graph(args.out, args.prefix, args.domains, args.edges, args.seed)
    print(f"wrote {v} and {e} ({args.domains:,} domains, {args.edges:,} edges) "
          f"in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
