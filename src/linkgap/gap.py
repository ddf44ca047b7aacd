"""The gap engine (SPEC section 4): arrays in, arrays out.

A *prospect* is a domain P, other than the target T and the competitors, that
links (any rel) to at least ``m`` of the competitors C1…Ck and has no link
(any rel) to T. The engine reads only the in-link slices of the domains a run
names from the CSR-by-target arrays of the index, marks each source with a
bit per competitor in a reusable scratch array, and keeps the sources whose
bit count reaches ``m``.

This module does no I/O and imports no web, CLI or database code: it works on
anything that exposes the arrays and lookups of :class:`GapIndex`
(``linkgap.index.reader.BacklinkIndex`` does).

The opportunity ``score`` is documented in ``docs/scoring.md``; keep the two in
step.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from linkgap.errors import CompetitorsNotIndexed, InvalidDomain, InvalidInput

__all__ = [
    "MAX_COMPETITORS",
    "MODES",
    "SCORE_WEIGHTS",
    "CoreResult",
    "GapIndex",
    "GapResult",
    "competitor_ids",
    "compute_gap",
    "gap_arrays",
    "opportunity_score",
    "validate_run_inputs",
]

#: Most distinct competitors a run may name (SPEC 4).
MAX_COMPETITORS = 20
MODES = ("union", "intersect")

#: Points each part of the opportunity score can contribute (they sum to 100).
SCORE_WEIGHTS = {"authority": 40, "overlap": 30, "dofollow": 15, "referring_domains": 15}
#: Referring domains at which the referring-domains part is full (log scale).
SCORE_RD_SATURATION = 10_000
#: Fraction of the score a spam score of 100 removes (linear in spam_score).
SCORE_SPAM_PENALTY = 0.5

_IPC_META_KEY = b"linkgap.gap"
_IPC_FORMAT = 1


class GapIndex(Protocol):
    """What the engine needs from a backlink index (``BacklinkIndex`` provides it)."""

    version: Any
    in_indptr: np.ndarray
    in_src: np.ndarray
    in_dofollow: np.ndarray
    domain_rating: np.ndarray
    backlinks: np.ndarray
    referring_domains: np.ndarray
    spam_score: np.ndarray
    rank: np.ndarray

    @property
    def num_domains(self) -> int: ...

    def normalize(self, text: str) -> str: ...

    def id_of(self, name: str) -> int | None: ...

    def names_of(self, ids: Sequence[int] | np.ndarray) -> list[str]: ...


# ---------------------------------------------------------------------------
# The array core


class _Scratch(threading.local):
    """Per-thread scratch words, one per domain, reused and all-zero between runs.

    A word holds bit j = links to competitor j, bit ``shift`` + j = one of those
    links is dofollow, and its top bit = excluded. With k ≤ 15 a uint32 word
    (shift 15) is enough, and half the size is markedly faster to scatter into;
    larger k use uint64 words (shift 32). Allocated once per thread at the size
    of the largest index seen (``np.zeros`` pages are only materialised where
    a run writes); a run clears exactly the entries it wrote, so it costs
    O(in-links read), not O(domains).
    """

    def __init__(self) -> None:
        self.words: dict[type, np.ndarray] = {}

    def get(self, n: int, dtype: type) -> np.ndarray:
        words = self.words.get(dtype)
        if words is None or words.shape[0] < n:
            words = self.words[dtype] = np.zeros(n, dtype=dtype)
        return words


_SCRATCH = _Scratch()
_NARROW_K = 15


def _edge_bits(in_dofollow: np.ndarray, lo: int | np.ndarray, hi: int | None, j: int,
               shift: int, word_type: type) -> np.ndarray:
    """Scratch bits of edges ``lo:hi`` (or of the edge positions ``lo``) to competitor j.

    The link bit j, plus bit ``shift`` + j where the edge has a dofollow link.
    """
    dof = np.asarray(in_dofollow[lo:hi] if hi is not None else in_dofollow[lo])
    bits: np.ndarray = np.left_shift((dof > 0).view(np.uint8), shift + j, dtype=word_type)
    bits |= word_type(1 << j)
    return bits


@dataclass(frozen=True)
class CoreResult:
    """Prospects found by :func:`gap_arrays`, in no particular order.

    ``mask`` bit j is set when the prospect links (any rel) to competitor j;
    ``dofollow_mask`` bit j when at least one of those links is dofollow.
    """

    ids: np.ndarray
    mask: np.ndarray
    dofollow_mask: np.ndarray


def gap_arrays(
    in_indptr: np.ndarray,
    in_src: np.ndarray,
    in_dofollow: np.ndarray,
    target: int | None,
    competitors: Sequence[int | None],
    min_overlap: int,
    num_domains: int | None = None,
) -> CoreResult:
    """Find the prospects of one run on the raw CSR-by-target arrays.

    ``target`` is T's domain id (None when T is not indexed); ``competitors``
    the competitor ids in run order (None for one that is not indexed: it keeps
    its bit position but contributes nothing); ``min_overlap`` is m ≥ 1.
    Sources that link to T (any rel), T itself and the competitors are never
    prospects.
    """
    k = len(competitors)
    if not 1 <= k <= 31:
        raise ValueError("between 1 and 31 competitors fit in the scratch word")
    if min_overlap < 1:
        raise ValueError("min_overlap must be at least 1")
    n = int(num_domains if num_domains is not None else in_indptr.shape[0] - 1)
    word_type: type = np.uint32 if k <= _NARROW_K else np.uint64
    shift = _NARROW_K if k <= _NARROW_K else 32
    scratch = _SCRATCH.get(n, word_type)
    low_bits = word_type((1 << k) - 1)
    excluded_bit = word_type(1 << (8 * np.dtype(word_type).itemsize - 1))
    present = [(j, int(c)) for j, c in enumerate(competitors) if c is not None]
    if len(present) < min_overlap:
        # Fewer indexed competitors than the overlap asked for: nobody qualifies.
        empty = np.zeros(0, dtype=np.uint32)
        return CoreResult(np.zeros(0, dtype=np.int64), empty, empty.copy())

    # A source linking to at least m of the p indexed competitors links to at
    # least one of any p - m + 1 of them: the smallest p - m + 1 slices ("seeds")
    # yield every candidate, and the larger ones only add bits to candidates
    # already seen (with m = 1 every slice is a seed; intersect needs only the
    # smallest). Seeds go largest first: while the scratch is all-zero nothing
    # needs reading.
    by_size = sorted(
        ((j, int(in_indptr[c]), int(in_indptr[c + 1])) for j, c in present),
        key=lambda s: s[2] - s[1],
    )
    n_seeds = len(present) - min_overlap + 1
    seeds, others_slices = by_size[:n_seeds][::-1], by_size[n_seeds:]
    first_seen: list[np.ndarray] = []
    try:
        for step, (j, lo, hi) in enumerate(seeds):
            # intp once, so every fancy index below skips a conversion pass.
            src = np.asarray(in_src[lo:hi]).astype(np.intp, copy=False)
            bits = _edge_bits(in_dofollow, lo, hi, j, shift, word_type)
            if step == 0:
                first_seen.append(src)
                scratch[src] = bits
                continue
            before = scratch[src]
            # A source's first appearance is where its mask is still zero; the
            # concatenation of those is every touched source exactly once, so
            # no pass over all domains and no sort is needed. (Sources are
            # unique within one target's slice: one edge per domain pair.)
            first_seen.append(src[before == 0])
            before |= bits
            scratch[src] = before
        for j, lo, hi in others_slices:
            src = np.asarray(in_src[lo:hi]).astype(np.intp, copy=False)
            before = scratch[src]
            hit = np.flatnonzero(before != 0)
            if hit.shape[0]:
                bits = _edge_bits(in_dofollow, lo + hit, None, j, shift, word_type)
                bits |= before[hit]
                scratch[src[hit]] = bits
        touched = np.concatenate(first_seen)
        # Exclusions: T's referrers (any rel), T itself and the competitors,
        # marked with the top bit where they are candidates (non-zero entries).
        excluded = [np.asarray([c for _, c in present], dtype=np.intp)]
        if target is not None:
            lo, hi = int(in_indptr[target]), int(in_indptr[target + 1])
            excluded.append(np.asarray([target], dtype=np.intp))
            excluded.append(np.asarray(in_src[lo:hi]).astype(np.intp, copy=False))
        others = np.concatenate(excluded)
        others = others[scratch[others] != 0]
        scratch[others] |= excluded_bit
        word = scratch[touched]
        # The excluded bit is the top bit, so excluded words are the largest
        # values; they are few, and removing them costs nothing when there are none.
        dropped = np.flatnonzero(word >= excluded_bit)
        if dropped.shape[0]:
            word = np.delete(word, dropped)
            touched = np.delete(touched, dropped)
        if min_overlap > 1:  # every touched source links to at least one competitor
            keep = np.bitwise_count(word & low_bits) >= min_overlap
            word, touched = word[keep], touched[keep]
        ids = touched.astype(np.int64, copy=False)
        out_mask = (word & low_bits).astype(np.uint32, copy=False)
        out_dof = word >> word_type(shift)
        out_dof &= low_bits
        out_dof = out_dof.astype(np.uint32, copy=False)
    finally:
        # Clear exactly what this run wrote, so the scratch is all-zero again.
        for part in first_seen:
            scratch[part] = 0
    return CoreResult(ids, out_mask, out_dof)


# ---------------------------------------------------------------------------
# The opportunity score


# The per-value parts of the formula, precomputed with the same float
# operations as written in the docs, so a run gathers them instead of
# recomputing a logarithm per prospect.
_RD_POINTS = np.minimum(
    1.0, np.log10(1.0 + np.arange(SCORE_RD_SATURATION + 1, dtype=np.float64))
    / np.log10(SCORE_RD_SATURATION),
) * SCORE_WEIGHTS["referring_domains"]
_SPAM_FACTOR = 1.0 - SCORE_SPAM_PENALTY * np.arange(101, dtype=np.float64) / 100.0


def opportunity_score(
    domain_rating: np.ndarray,
    competitor_overlap: np.ndarray,
    k: int,
    dofollow: np.ndarray,
    referring_domains: np.ndarray,
    spam_score: np.ndarray,
) -> np.ndarray:
    """The integer 0-100 opportunity score of ``docs/scoring.md``, vectorised.

    base = 40·DR/100 + 30·overlap/k + 15·dofollow + 15·min(1, log10(1+RD)/4),
    score = round-half-up(base × (1 − 0.5·spam/100)).
    """
    w = SCORE_WEIGHTS
    dr = np.asarray(domain_rating)
    n = dr.shape[0]
    # In place, in the formula's order: two float temporaries whatever the size
    # (fresh large temporaries cost page faults on every run).
    score = np.multiply(dr, float(w["authority"]), dtype=np.float64)
    score /= 100.0
    part = np.multiply(np.asarray(competitor_overlap), float(w["overlap"]), dtype=np.float64)
    part /= k
    score += part
    np.add(score, float(w["dofollow"]), out=score, where=np.asarray(dofollow, dtype=bool))
    index = np.clip(np.asarray(referring_domains), 0, SCORE_RD_SATURATION).astype(
        np.intp, copy=False)
    np.take(_RD_POINTS, index, out=part)
    score += part
    np.take(_SPAM_FACTOR, np.clip(np.asarray(spam_score), 0, 100).astype(np.intp), out=part)
    score *= part
    # Round half up; the tiny epsilon keeps exact halves (e.g. 49.5) rounding up
    # despite float error.
    score += 0.5
    score += 1e-9
    np.floor(score, out=score)
    np.clip(score, 0, 100, out=score)
    return score.astype(np.uint8) if n else np.zeros(0, dtype=np.uint8)


# ---------------------------------------------------------------------------
# The result


_COLUMNS: dict[str, Any] = {
    "id": np.int64,
    "domain_rating": np.uint8,
    "backlinks": np.int64,
    "referring_domains": np.int64,
    "spam_score": np.uint8,
    "rank": np.int64,
    "competitor_overlap": np.uint8,
    "competitor_mask": np.uint32,
    "dofollow_mask": np.uint32,
    "score": np.uint8,
}


@dataclass(eq=False, repr=False)
class GapResult:
    """A finished gap run: its parameters and its kept prospects as columns.

    Rows are ordered best first: ``score`` descending, then canonical name
    ascending (= domain id ascending). ``competitor_mask`` bit j is set when the
    prospect links to ``competitors[j]``; ``dofollow_mask`` bit j when one of
    those links is dofollow. ``names`` is an Arrow string array (no Python
    string per row until a page is cut); ``domains`` gives them as a list.
    """

    target: str
    competitors: list[str]
    mode: str
    min_overlap: int
    total_found: int
    warnings: list[dict[str, str]]
    index_version: str | None
    ids: np.ndarray
    names: pa.Array
    domain_rating: np.ndarray
    backlinks: np.ndarray
    referring_domains: np.ndarray
    spam_score: np.ndarray
    rank: np.ndarray
    competitor_overlap: np.ndarray
    competitor_mask: np.ndarray
    dofollow_mask: np.ndarray
    score: np.ndarray
    limit: int | None = None
    #: Per-result caches used by ``linkgap.prospects`` (sort permutations, pages).
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)
    cache_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def k(self) -> int:
        """Number of distinct competitors of the run."""
        return len(self.competitors)

    @property
    def dofollow(self) -> np.ndarray:
        """Per prospect: at least one of its links to the competitors is dofollow."""
        return self.dofollow_mask != 0

    @property
    def domains(self) -> list[str]:
        """Canonical names of the kept prospects, in row order."""
        return list(self.names.to_pylist())

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def __repr__(self) -> str:
        return (
            f"<GapResult {self.target} vs {', '.join(self.competitors)} mode={self.mode} "
            f"min_overlap={self.min_overlap} prospects={len(self)} "
            f"total_found={self.total_found} index_version={self.index_version}>"
        )

    def competitors_of(self, mask: int) -> list[str]:
        """The run's competitors whose bit is set in ``mask``, in run order."""
        return [c for j, c in enumerate(self.competitors) if (mask >> j) & 1]

    def rows(self, indices: np.ndarray | Sequence[int] | None = None) -> list[dict[str, Any]]:
        """Prospect rows (fields in ``linkgap.prospects.PROSPECT_FIELDS`` order) for ``indices``."""
        idx = np.arange(len(self), dtype=np.int64) if indices is None else np.asarray(
            indices, dtype=np.int64
        )
        if idx.shape[0] == 0:
            return []
        names = self.names.take(pa.array(idx)).to_pylist()
        cols = [
            self.domain_rating[idx].tolist(),
            self.backlinks[idx].tolist(),
            self.referring_domains[idx].tolist(),
            self.competitor_overlap[idx].tolist(),
            self.competitor_mask[idx].tolist(),
            (self.dofollow_mask[idx] != 0).tolist(),
            self.spam_score[idx].tolist(),
            self.score[idx].tolist(),
            self.rank[idx].tolist(),
        ]
        comps: dict[int, list[str]] = {}
        out = []
        for name, dr, bl, rd, ov, cm, df, sp, sc, rk in zip(names, *cols, strict=True):
            listed = comps.get(cm)
            if listed is None:
                listed = comps[cm] = self.competitors_of(cm)
            out.append({
                "domain": name, "domain_rating": dr, "backlinks": bl,
                "referring_domains": rd, "competitor_overlap": ov,
                "competitors": list(listed), "dofollow": df, "spam_score": sp,
                "score": sc, "rank": rk,
            })
        return out

    def prospects(self) -> list[dict[str, Any]]:
        """Every kept prospect as a dict, best first (SPEC 4 fields)."""
        return self.rows()

    def meta(self) -> dict[str, Any]:
        """The run's parameters and outcome (no prospect rows)."""
        return {
            "target": self.target, "competitors": list(self.competitors), "mode": self.mode,
            "min_overlap": self.min_overlap, "k": self.k, "limit": self.limit,
            "total_found": self.total_found, "prospect_count": len(self),
            "warnings": [dict(w) for w in self.warnings], "index_version": self.index_version,
        }

    # -- freezing -----------------------------------------------------------

    def to_ipc(self, compression: str | None = None) -> bytes:
        """Freeze the result as Arrow IPC stream bytes (columns + run metadata)."""
        arrays = [pa.array(np.asarray(getattr(self, c) if c != "id" else self.ids, dtype=t))
                  for c, t in _COLUMNS.items()]
        names = self.names if self.names.type == pa.large_string() else self.names.cast(
            pa.large_string()
        )
        meta = dict(self.meta(), format=_IPC_FORMAT)
        schema = pa.schema(
            [pa.field("domain", pa.large_string())]
            + [pa.field(c, a.type) for c, a in zip(_COLUMNS, arrays, strict=True)],
            metadata={_IPC_META_KEY: json.dumps(meta).encode()},
        )
        batch = pa.RecordBatch.from_arrays([names, *arrays], schema=schema)
        sink = pa.BufferOutputStream()
        options = pa.ipc.IpcWriteOptions(compression=compression)
        with pa.ipc.new_stream(sink, schema, options=options) as writer:
            writer.write_batch(batch)
        return bytes(sink.getvalue().to_pybytes())

    @classmethod
    def from_ipc(cls, data: bytes | pa.Buffer) -> GapResult:
        """Load a result frozen by :meth:`to_ipc` (columns are read-only, zero-copy)."""
        reader = pa.ipc.open_stream(pa.py_buffer(data) if isinstance(data, bytes) else data)
        table = reader.read_all()
        raw = (table.schema.metadata or {}).get(_IPC_META_KEY)
        if raw is None:
            raise ValueError("not a frozen linkgap gap result")
        meta = json.loads(raw)
        if int(meta.get("format", 0)) > _IPC_FORMAT:
            raise ValueError(
                f"this gap result was frozen by a newer linkgap (format {meta['format']})"
            )
        cols: dict[str, np.ndarray] = {}
        for c, t in _COLUMNS.items():
            chunked = table.column(c)
            arr = chunked.chunk(0) if chunked.num_chunks == 1 else chunked.combine_chunks()
            cols[c] = (np.asarray(arr.to_numpy(zero_copy_only=False), dtype=t)
                       if len(arr) else np.zeros(0, dtype=t))
        names_col = table.column("domain")
        names = (names_col.chunk(0) if names_col.num_chunks == 1
                 else names_col.combine_chunks()) if names_col.num_chunks else pa.array(
            [], pa.large_string())
        return cls(
            target=meta["target"], competitors=list(meta["competitors"]), mode=meta["mode"],
            min_overlap=int(meta["min_overlap"]), total_found=int(meta["total_found"]),
            warnings=[dict(w) for w in meta["warnings"]], index_version=meta["index_version"],
            limit=meta.get("limit"), ids=cols["id"], names=names,
            domain_rating=cols["domain_rating"], backlinks=cols["backlinks"],
            referring_domains=cols["referring_domains"], spam_score=cols["spam_score"],
            rank=cols["rank"], competitor_overlap=cols["competitor_overlap"],
            competitor_mask=cols["competitor_mask"], dofollow_mask=cols["dofollow_mask"],
            score=cols["score"],
        )


# ---------------------------------------------------------------------------
# A run on an index


def _normalize(index: GapIndex, text: object, param: str) -> str:
    if not isinstance(text, str):
        raise InvalidInput(f"{param} must be a domain name given as text", param=param)
    try:
        return index.normalize(text)
    except InvalidDomain as exc:
        raise InvalidDomain(exc.value, exc.reason, param=param) from None


def validate_run_inputs(
    index: GapIndex,
    domain: object,
    competitors: object,
    mode: object,
    min_overlap: object,
    limit: object,
) -> tuple[str, list[str], str, int, int | None]:
    """Normalise and check a run's inputs; returns (T, competitors, mode, m, limit)."""
    if mode not in MODES:
        raise InvalidInput(f"mode must be 'union' or 'intersect', not {mode!r}", param="mode")
    target = _normalize(index, domain, "domain")
    if isinstance(competitors, str):
        competitors = [competitors]
    if not isinstance(competitors, Iterable):
        raise InvalidInput("competitors must be a list of domain names", param="competitors")
    raw = list(competitors)
    if not raw:
        raise InvalidInput("give at least one competitor domain", param="competitors")
    if len(raw) > 1000:
        raise InvalidInput(
            f"at most {MAX_COMPETITORS} competitors can be compared at once", param="competitors"
        )
    comps: list[str] = []
    for i, text in enumerate(raw):
        name = _normalize(index, text, f"competitors[{i}]")
        if name == target:
            raise InvalidInput(
                f"{text!r} is your own domain ({target}); list only competitors' domains",
                param=f"competitors[{i}]",
            )
        if name not in comps:
            comps.append(name)
    k = len(comps)
    if k > MAX_COMPETITORS:
        raise InvalidInput(
            f"at most {MAX_COMPETITORS} distinct competitors can be compared at once "
            f"({k} were given)", param="competitors",
        )
    if min_overlap is not None and (isinstance(min_overlap, bool)
                                    or not isinstance(min_overlap, int | np.integer)):
        raise InvalidInput("min_overlap must be a whole number", param="min_overlap")
    if mode == "intersect":
        if min_overlap is not None and int(min_overlap) != k:
            raise InvalidInput(
                f"min_overlap cannot be {min_overlap} in intersect mode, which always means "
                f"all {k} competitors; leave it out or use union mode", param="min_overlap",
            )
        m = k
    else:
        m = 1 if min_overlap is None else int(min_overlap)
        if not 1 <= m <= k:
            raise InvalidInput(
                f"min_overlap must be between 1 and the number of distinct competitors ({k})",
                param="min_overlap",
            )
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int | np.integer):
            raise InvalidInput("limit must be a whole number", param="limit")
        if int(limit) < 1:
            raise InvalidInput("limit must be at least 1", param="limit")
        limit = int(limit)
    return target, comps, str(mode), m, limit


def _warnings(
    target: str, target_id: int | None, comps: list[str], comp_ids: list[int | None],
) -> list[dict[str, str]]:
    out = []
    if target_id is None:
        out.append({
            "code": "target_not_indexed",
            "message": (
                f"{target} is not in the backlink index, so nothing is known to link to it: "
                "every domain linking to the competitors is listed, and the list has not "
                "been narrowed by your own backlinks."
            ),
        })
    k = len(comps)
    for name, cid in zip(comps, comp_ids, strict=True):
        if cid is None:
            out.append({"code": "competitor_not_indexed", "message": (
                f"Competitor {name} is not in the backlink index: it contributes no prospects "
                f"but still counts as one of the {k} competitors.")})
    return out


def competitor_ids(index: GapIndex, competitors: list[str], mode: str,
                   min_overlap: int) -> list[int | None]:
    """The index ids of a run's (validated) competitors, None where one is not indexed.

    Raises ``CompetitorsNotIndexed`` when fewer than ``min_overlap`` of them are
    indexed: no prospect could exist, so the run is refused rather than computed
    (and, over the API, charged).
    """
    ids = [index.id_of(c) for c in competitors]
    missing = [c for c, i in zip(competitors, ids, strict=True) if i is None]
    indexed = len(ids) - len(missing)
    if indexed >= min_overlap:
        return ids
    k = len(competitors)
    if mode == "intersect":
        reason = f"in intersect mode a prospect must link to all {k} competitors"
    elif indexed == 0:
        reason = "no competitor of the run is indexed"
    else:
        reason = (f"only {indexed} of the {k} competitors {'is' if indexed == 1 else 'are'} "
                  f"indexed, fewer than the min_overlap of {min_overlap}")
    raise CompetitorsNotIndexed(
        f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not in the backlink "
        f"index: {reason}, so no prospect can exist. Check the spelling of the competitors.",
        missing=missing,
    )


def _names(index: GapIndex, ids: np.ndarray) -> pa.Array:
    """Canonical names of ``ids`` as an Arrow large_string array."""
    gather = getattr(index, "names_array", None)  # BacklinkIndex: no Python strings
    if gather is not None:
        names = gather(ids)
        return names if names.type == pa.large_string() else names.cast(pa.large_string())
    return pa.array(index.names_of(ids), type=pa.large_string())


def _best_first(score: np.ndarray, ids: np.ndarray, limit: int | None) -> np.ndarray:
    """Positions of the ``limit`` best rows: score descending, then id ascending."""
    # One int64 key orders both: ids < 2^40 and scores ≤ 100 keep it exact.
    key = score.astype(np.int64)
    np.subtract(100, key, out=key)
    key <<= 40
    key |= ids
    n = key.shape[0]
    if limit is not None and limit < n:
        part = np.argpartition(key, limit - 1)[:limit]
        return part[np.argsort(key[part], kind="stable")]
    return np.argsort(key, kind="stable")


def compute_gap(
    index: GapIndex,
    domain: str,
    competitors: Sequence[str],
    mode: str = "union",
    min_overlap: int | None = None,
    limit: int | None = None,
) -> GapResult:
    """Run a gap analysis on ``index`` (SPEC 4) and return the frozen result.

    Inputs are normalised with the index's rules; invalid ones raise
    ``InvalidInput`` (``InvalidDomain`` for names) with ``param`` set to
    ``domain``, ``competitors[i]``, ``competitors``, ``mode``, ``min_overlap``
    or ``limit``; fewer than ``min_overlap`` indexed competitors raise
    ``CompetitorsNotIndexed``. ``limit=None`` keeps every prospect.
    """
    target, comps, mode, m, limit = validate_run_inputs(
        index, domain, competitors, mode, min_overlap, limit
    )
    comp_ids = competitor_ids(index, comps, mode, m)
    target_id = index.id_of(target)
    core = gap_arrays(
        index.in_indptr, index.in_src, index.in_dofollow, target_id, comp_ids, m,
        num_domains=index.num_domains,
    )
    ids = core.ids
    dr = np.asarray(index.domain_rating[ids], dtype=np.uint8)
    rd = np.asarray(index.referring_domains[ids], dtype=np.int64)
    spam = np.asarray(index.spam_score[ids], dtype=np.uint8)
    overlap = np.bitwise_count(core.mask).astype(np.uint8)
    score = opportunity_score(dr, overlap, len(comps), core.dofollow_mask != 0, rd, spam)
    order = _best_first(score, ids, limit)
    kept = ids[order]
    version = getattr(index, "version", None)
    return GapResult(
        target=target, competitors=comps, mode=mode, min_overlap=m,
        total_found=int(ids.shape[0]), warnings=_warnings(target, target_id, comps, comp_ids),
        index_version=None if version is None else str(version), limit=limit,
        ids=kept, names=_names(index, kept),
        domain_rating=dr[order], backlinks=np.asarray(index.backlinks[kept], dtype=np.int64),
        referring_domains=rd[order], spam_score=spam[order],
        rank=np.asarray(index.rank[kept], dtype=np.int64), competitor_overlap=overlap[order],
        competitor_mask=core.mask[order].astype(np.uint32),
        dofollow_mask=core.dofollow_mask[order].astype(np.uint32), score=score[order],
    )
