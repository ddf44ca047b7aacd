"""``GapResult``: a finished run's parameters and its kept prospects, as columns."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["GapResult"]


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
    #: The run-time filters ``{min_authority, max_spam, dofollow}`` (None: not set) and
    #: the excluded domains (canonical), applied before ``limit`` (SPEC 12).
    filters: dict[str, Any] = field(default_factory=lambda: {
        "min_authority": None, "max_spam": None, "dofollow": None})
    exclude: list[str] = field(default_factory=list)
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

    def select(self, indices: np.ndarray | Sequence[int], total_found: int) -> GapResult:
        """A result holding only the rows at ``indices`` (ascending, so still best first),
        found ``total_found`` prospects in all: the run narrowed by a filter the engine
        does not apply itself (the CLI's competitor and search filters, before its limit)."""
        idx = np.asarray(indices, dtype=np.int64)
        columns = ("ids", "domain_rating", "backlinks", "referring_domains", "spam_score",
                   "rank", "competitor_overlap", "competitor_mask", "dofollow_mask", "score")
        return GapResult(
            target=self.target, competitors=list(self.competitors), mode=self.mode,
            min_overlap=self.min_overlap, total_found=int(total_found),
            warnings=[dict(w) for w in self.warnings], index_version=self.index_version,
            names=self.names.take(pa.array(idx, type=pa.int64())),
            **{c: getattr(self, c)[idx] for c in columns},
            limit=self.limit, filters=dict(self.filters), exclude=list(self.exclude),
        )

    def prospects(self) -> list[dict[str, Any]]:
        """Every kept prospect as a dict, best first (SPEC 4 fields)."""
        return self.rows()

    def meta(self) -> dict[str, Any]:
        """The run's parameters and outcome (no prospect rows)."""
        return {
            "target": self.target, "competitors": list(self.competitors), "mode": self.mode,
            "min_overlap": self.min_overlap, "k": self.k, "limit": self.limit,
            "filters": dict(self.filters), "exclude": list(self.exclude),
            "total_found": self.total_found, "prospect_count": len(self),
            "warnings": [dict(w) for w in self.warnings], "index_version": self.index_version,
        }

    # -- freezing (linkgap.gap.serialise) ---------------------------------

    def to_ipc(self, compression: str | None = None) -> bytes:
        """Freeze the result as Arrow IPC stream bytes (columns + run metadata)."""
        from linkgap.gap.serialise import to_ipc

        return to_ipc(self, compression)

    @classmethod
    def from_ipc(cls, data: bytes | pa.Buffer) -> GapResult:
        """Load a result frozen by :meth:`to_ipc` (columns are read-only, zero-copy)."""
        from linkgap.gap.serialise import from_ipc

        return from_ipc(data)
