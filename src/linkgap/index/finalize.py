"""The finalise step: aggregated domain edges → names, CSR, metrics in a version folder.

Whatever engine aggregated the inputs (the embedded DuckDB one in
``linkgap.index.aggregate``, or a Spark stage whose Parquet domain edges are
loaded with ``LinkAggregator.add_domain_edges``), finalising is the same:

1. the domain names, sorted out of core, go to ``names.bytes`` /
   ``names.offsets.npy``; a domain's id is its position;
2. the domain edges, sorted by (target, source) in those ids, stream into the
   compact CSR (``linkgap.index.csr.CsrWriter``), which sums the exact
   per-domain totals on the way;
3. the aggregation's memory is released and PageRank runs over the CSR in
   row blocks (ids loaded when they fit the budget, else read from the file in
   every iteration); DR, rank and spam follow;
4. unless the build leaves them out (``--no-out-links``), the out-links by
   source that link competitors read are written from the CSR
   (``linkgap.index.outlinks``: in memory when they fit the budget, else
   bucketed through scratch files).

Only per-domain vectors and one block of edges are ever held in memory.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from linkgap.errors import BuildFailed
from linkgap.index import metrics as m
from linkgap.index.budget import MemoryBudget
from linkgap.index.csr import INT32_LIMIT, CsrTotals, CsrWriter, write_names
from linkgap.index.evidence import EvidenceWriter
from linkgap.index.outlinks import OutLinkReport, write_out_links
from linkgap.index.spam import SIGNALS, compute_spam

__all__ = ["FinalizeResult", "SortedDomainEdges", "finalize"]

#: Bytes per domain PageRank holds besides the source ids: six float32
#: vectors, the dofollow indptr (int64) and the out-degrees (int64).
_PAGERANK_BYTES_PER_DOMAIN = 6 * 4 + 8 + 8


class SortedDomainEdges(Protocol):
    """What the finalise step reads (``linkgap.index.build.AggregatedEdges``)."""

    def iter_names(self) -> Iterator[pa.Array]:
        """Domain names in id order (ids 0, 1, 2, … = canonical-name order)."""
        ...

    def iter_edges(self) -> Iterator[Any]:
        """Edges sorted by (dst, src), each once: ``EdgeChunk`` s or record batches with
        ``dst, src, links, dofollow_links, first_seen, last_seen``."""
        ...

    def close(self) -> None:
        """Release the aggregation's memory and temp files."""
        ...


@dataclass
class FinalizeResult:
    """Counts and metric parameters of a finalised version (for its manifest)."""

    domains: int
    totals: CsrTotals
    metrics: dict[str, Any]
    pagerank_mode: str  # "in memory" or "streamed"
    out_links: OutLinkReport | None = None  # None: left out (--no-out-links)
    samples: int | None = None  # evidence samples written; None when none are kept


Progress = Callable[[str, int, "int | None"], None]


def finalize(folder: Path, edges: SortedDomainEdges, domains: int, budget: MemoryBudget,
             progress: Progress, *, out_links: bool = True,
             work: Path | None = None) -> FinalizeResult:
    """Write names, CSR, metrics (and out-links) of ``edges`` into ``folder``; closes
    ``edges``. Scratch files (the CSR writer's, PageRank's filtered ids, the
    out-link ranges) go to ``work``, by default ``work/`` in ``folder``; it is
    removed at the end."""
    work = work if work is not None else folder / "work"
    work.mkdir(parents=True, exist_ok=True)
    try:
        progress("writing", 0, None)
        write_names(folder, edges.iter_names(), domains)
        budget.reserve("csr writer", CsrWriter.memory_bytes(domains))
        writer = CsrWriter(folder, work, domains)
        try:
            for chunk in edges.iter_edges():
                writer.add(*_edge_columns(chunk))
                progress("writing", writer.edges, None)
        except BaseException:
            writer.abort()
            raise
        totals = writer.close()
        del writer
        samples = _write_evidence(folder, edges, domains, progress)
    finally:
        edges.close()
        budget.release("csr writer")
    progress("metrics", 0, None)
    info, mode = _write_metrics(folder, work, totals, budget)
    report = None
    if out_links:
        progress("out-links", 0, None)
        report = write_out_links(folder, work, budget.available())
    shutil.rmtree(work, ignore_errors=True)
    return FinalizeResult(domains, totals, info, mode, report, samples)


def _write_evidence(folder: Path, edges: SortedDomainEdges, domains: int,
                    progress: Progress) -> int | None:
    """The evidence files (``linkgap.index.evidence``) when the aggregation kept samples.

    An aggregation without ``iter_samples`` (or one returning None) keeps none:
    no file is written.
    """
    iter_samples = getattr(edges, "iter_samples", None)
    batches = iter_samples() if iter_samples is not None else None
    if batches is None:
        return None
    progress("evidence", 0, None)
    writer = EvidenceWriter(folder, domains)
    try:
        for batch in batches:
            writer.add(batch)
            progress("evidence", writer.samples, None)
    except ValueError as exc:  # out of order or naming unknown ids: a damaged staging folder
        writer.abort()
        raise BuildFailed(f"the sample links of the build are damaged: {exc}; nothing was "
                          "published") from None
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def _edge_columns(chunk: Any) -> tuple[np.ndarray, ...]:
    """dst, src, links, dofollow_links, first_seen, last_seen of an EdgeChunk or batch."""
    if isinstance(chunk, pa.RecordBatch):
        return tuple(chunk.column(name).to_numpy(zero_copy_only=False).astype(np.int64,
                                                                               copy=False)
                     for name in ("dst", "src", "links", "dofollow_links", "first_seen",
                                  "last_seen"))
    return (chunk.dst, chunk.src, chunk.links, chunk.dofollow_links, chunk.first_seen,
            chunk.last_seen)


def _write_metrics(folder: Path, work: Path, totals: CsrTotals,
                   budget: MemoryBudget) -> tuple[dict[str, Any], str]:
    """PageRank, DR, rank and spam from the CSR and the writer's totals."""
    df_rd = np.load(work / "dofollow_referring_domains.npy")
    n = len(df_rd)
    df_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(df_rd, out=df_indptr[1:])
    src_path = folder / "in_src.npy" if totals.all_dofollow else work / "pagerank-src.npy"
    source = m.FileSource(src_path)
    try:
        src_bytes = len(source) * source.dtype.itemsize
        in_memory = src_bytes + _PAGERANK_BYTES_PER_DOMAIN * n <= budget.available()
        src: np.ndarray | m.FileSource = source.load() if in_memory else source
        out_degree = np.load(work / "dofollow_linked_domains.npy")
        pr = m.pagerank(df_indptr, src, out_degree)
        del src, out_degree, df_indptr
    finally:
        source.close()
    dr = m.domain_rating(pr.pagerank, df_rd)
    rank = m.rank_by_pagerank(pr.pagerank)
    # Stored narrow (format 3): PageRank keeps PAGERANK_DIGITS = 6 significant digits,
    # which float32 holds exactly enough to keep every tie and every order; a rank is
    # at most n, exact in the source ids' width.
    np.save(folder / "pagerank.npy", pr.pagerank.astype(np.float32))
    np.save(folder / "domain_rating.npy", dr)
    np.save(folder / "rank.npy", rank.astype(np.int32 if n < INT32_LIMIT else np.int64))
    del dr, rank
    counts = m.DomainCounts(
        backlinks=np.load(folder / "backlinks.npy"),
        referring_domains=np.load(folder / "referring_domains.npy").astype(np.int64),
        dofollow_referring_domains=df_rd,
        linked_domains=np.load(folder / "linked_domains.npy").astype(np.int64),
        outlinks=np.load(folder / "outlinks.npy"),
        dofollow_linked_domains=np.zeros(0, dtype=np.int64),  # not a spam signal input
        top_referrer_links=np.load(work / "top_referrer_links.npy"),
        dofollow_backlinks=np.load(work / "dofollow_backlinks.npy"),
    )
    names = np.memmap(folder / "names.bytes", dtype=np.uint8, mode="r") if n else np.zeros(
        0, dtype=np.uint8)
    offsets = np.load(folder / "names.offsets.npy", mmap_mode="r")
    spam_score, spam_signals = compute_spam(counts, names, offsets)
    del names, counts
    np.save(folder / "spam_score.npy", spam_score)
    np.save(folder / "spam_signals.npy", spam_signals)
    mode = "in memory" if in_memory else "streamed"
    return {
        "pagerank": {
            "damping": m.DAMPING,
            "tolerance": m.TOLERANCE,
            "max_iterations": m.MAX_ITERATIONS,
            "iterations": pr.iterations,
            "delta": pr.delta,
            "converged": pr.converged,
            "significant_digits": m.PAGERANK_DIGITS,
            "graph": "binary dofollow domain graph",
        },
        "domain_rating": {
            "formula": "clamp(round_half_up(scale * ln(pagerank * domains) + offset), 1, 100); "
            "0 without a dofollow referring domain",
            "scale": m.DR_SCALE,
            "offset": m.DR_OFFSET,
        },
        "spam": {"signals": [{"name": s.name, "points": s.points} for s in SIGNALS]},
    }, mode
