"""The Public Suffix List pass over generated host names: vectorised against per-name lookups.

    python bench/bench_psl.py                        # 10M names, baseline on 200k of them
    nice python bench/bench_psl.py --names 100000000 # the 100M-name pass of SPEC section 10

Names are generated in chunks of ``--chunk`` (default 1M) the way Common
Crawl's vertices look after reversal: ``site<hex>.<tld>``, 30% with a
``www.`` or other subdomain, over a mix of suffixes that includes
multi-label, private (``github.io``, ``blogspot.com``), wildcard (``*.ck``,
``*.kawasaki.jp``) and exception (``!www.ck``) rules. Measured per chunk:

- ``vectorised``: ``DomainNormalizer.registrable_array`` over the chunk (what
  the cc-graph reader runs, once per distinct host);
- ``vertex pass``: reversing ``com.example.www`` names, the canonical-host
  check and the PSL pass, i.e. the cc-graph reader's whole name handling;
- ``per name``: ``DomainNormalizer.registrable`` in a Python loop, on the
  first ``--baseline`` names (the approach this replaced), interleaved.

The results are checked equal on the baseline names. Only the timed
functions count; generating the names does not. Wall and CPU seconds of the
process are both printed (on a shared machine wall time depends on the load).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkgap.domains import DomainNormalizer
from linkgap.ingest.cc_graph import _canonical_hosts, reversed_to_host

_SUFFIXES = ["com", "org", "net", "de", "co.uk", "io", "fr", "nl", "info", "xyz", "com.au",
             "jp", "github.io", "blogspot.com", "ck", "kawasaki.jp", "city.kawasaki.jp",
             "ru", "com.br", "appspot.com"]
_WEIGHTS = np.array([40, 8, 7, 8, 5, 4, 4, 3, 3, 3, 3, 4, 1, 1, .2, .2, .1, 3, 2, .5])
_SUBS = ["www", "blog", "shop", "m", "en"]


def names_chunk(start: int, n: int, rng: np.random.Generator) -> pa.Array:
    """``n`` host names (canonical, ASCII), built with Arrow string kernels."""
    ids = np.arange(start, start + n)
    label = pc.binary_join_element_wise("site", pa.array(np.char.mod("%x", ids)), "")
    sfx = pa.array(_SUFFIXES).take(pa.array(rng.choice(len(_SUFFIXES), n,
                                                       p=_WEIGHTS / _WEIGHTS.sum())))
    host = pc.binary_join_element_wise(label, sfx, ".")
    sub = pa.array(_SUBS).take(pa.array(rng.integers(0, len(_SUBS), n)))
    with_sub = pc.binary_join_element_wise(sub, host, ".")
    return pc.if_else(pa.array(rng.random(n) < 0.3), with_sub, host)


def reverse(names: pa.Array) -> pa.Array:
    """``www.example.com`` → ``com.example.www`` (to feed the vertex pass its input)."""
    return reversed_to_host(names)


def main() -> None:
    """Command line: time the passes and print the totals."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--names", type=int, default=10_000_000)
    parser.add_argument("--chunk", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=200_000)
    args = parser.parse_args()
    norm = DomainNormalizer()
    norm.registrable_array(pa.array(["warm.up.co.uk"]))
    rng = np.random.default_rng(20261201)
    vec = vertex = scalar = 0.0
    vec_cpu = vertex_cpu = 0.0  # CPU seconds of the process: steadier than wall on a busy machine
    scalar_names = 0
    done = 0
    while done < args.names:
        n = min(args.chunk, args.names - done)
        names = names_chunk(done, n, rng)
        reversed_names = reverse(names)
        c0, t0 = time.process_time(), time.perf_counter()
        out = norm.registrable_array(names)
        c1, t1 = time.process_time(), time.perf_counter()
        hosts = reversed_to_host(reversed_names)
        norm.registrable_array(_canonical_hosts(hosts))
        c2, t2 = time.process_time(), time.perf_counter()
        vec += t1 - t0
        vertex += t2 - t1
        vec_cpu += c1 - c0
        vertex_cpu += c2 - c1
        if scalar_names < args.baseline:
            sample = names.slice(0, min(n, args.baseline - scalar_names)).to_pylist()
            t3 = time.perf_counter()
            expected = [norm.registrable(h) for h in sample]
            scalar += time.perf_counter() - t3
            scalar_names += len(sample)
            assert out.slice(0, len(sample)).to_pylist() == expected, "results differ"
        done += n
    per_vec = vec / done * 1e6
    per_vertex = vertex / done * 1e6
    per_scalar = scalar / scalar_names * 1e6
    print(f"{done:,} names in chunks of {args.chunk:,}")
    print(f"  vectorised PSL pass : {vec:8.1f} s  {per_vec:.2f} us/name  "
          f"(CPU {vec_cpu:.1f} s)")
    print(f"  whole vertex pass   : {vertex:8.1f} s  {per_vertex:.2f} us/name "
          f"(reverse + canonical check + PSL; CPU {vertex_cpu:.1f} s)")
    print(f"  load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"  per-name baseline   : {per_scalar:.2f} us/name on {scalar_names:,} names "
          f"(x{per_scalar / per_vec:.1f} slower)")
    print(f"  100M names: vectorised {per_vec * 100:.0f} s, vertex pass "
          f"{per_vertex * 100:.0f} s, per name {per_scalar * 100:.0f} s")


if __name__ == "__main__":
    main()
