"""Run diffs (SPEC 13): what changed between two frozen gap runs of one domain.

``diff_results(new, old)`` matches the kept prospects of two runs **by canonical
name** (domain ids are positions in one index version and differ between
versions) and sorts every prospect into one of:

- ``added``: kept by ``new``, not by ``old``;
- ``removed``: kept by ``old``, not by ``new``;
- ``changed``: kept by both, with at least one of :data:`DIFF_FIELDS` different
  (``competitors`` compared as a set, ``dofollow`` as the prospect's flag);
- unchanged: kept by both with equal fields (counted, never listed).

The entries are held as one :class:`linkgap.gap.GapResult` (``RunDiff.entries``)
whose rows carry the values the user sees for each entry: the new run's for
added and changed prospects, the old run's for removed ones. So the prospect
filters, sorts and pages of :mod:`linkgap.prospects` apply to diffs unchanged
(ties by canonical name, across both index versions). Competitor bits of the
entries index the union of both runs' competitors (new run's first), so the
``competitor`` filter accepts a competitor of either run.

Everything is NumPy/Arrow over the columns; Python dicts are made only for the
rows of the page returned.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkgap.csvcells import safe_cell
from linkgap.errors import InvalidInput
from linkgap.gap import GapResult
from linkgap.prospects import (
    PROSPECT_FIELDS,
    ProspectQuery,
    filter_indices,
    page_indices,
    sorted_indices,
)

__all__ = [
    "DIFF_FIELDS",
    "DIFF_KINDS",
    "RunDiff",
    "diff_counts",
    "diff_csv_header",
    "diff_page",
    "diff_results",
    "iter_diff_csv",
]

#: Entry kinds, in the order of ``RunDiff.kind`` codes (0, 1, 2).
DIFF_KINDS: tuple[str, ...] = ("added", "removed", "changed")
#: Prospect fields compared for ``changed`` (every prospect field but the name).
DIFF_FIELDS: tuple[str, ...] = tuple(f for f in PROSPECT_FIELDS if f != "domain")
_ADDED, _REMOVED, _CHANGED = range(3)
#: Numeric columns compared directly (competitors and dofollow are compared as sets/flags).
_NUMERIC = ("domain_rating", "backlinks", "referring_domains", "competitor_overlap",
            "spam_score", "score", "rank")


@dataclass(eq=False, repr=False)
class RunDiff:
    """The difference between ``new`` (the run) and ``old`` (the run it is compared with).

    ``entries`` rows are best first (score desc, canonical name asc); the arrays
    ``kind`` (code into :data:`DIFF_KINDS`), ``source_row`` (row in ``new`` for added
    and changed, in ``old`` for removed), ``old_row`` (row in ``old`` for changed,
    -1 otherwise) and ``changed`` (bit i = ``DIFF_FIELDS[i]`` differs) are aligned
    with them. ``unchanged`` counts the prospects both kept with equal fields.
    """

    new: GapResult
    old: GapResult
    entries: GapResult
    kind: np.ndarray
    source_row: np.ndarray
    old_row: np.ndarray
    changed: np.ndarray
    unchanged: int
    _subsets: dict[int, tuple[GapResult, np.ndarray]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    def __repr__(self) -> str:
        counts = np.bincount(self.kind, minlength=3)
        return (f"<RunDiff {self.new.target} added={counts[0]} removed={counts[1]} "
                f"changed={counts[2]} unchanged={self.unchanged}>")

    def subset(self, kind: str | None) -> tuple[GapResult, np.ndarray]:
        """The entries of one kind (all when None) and their positions in ``entries``.

        Each subset is a result of its own, so its sort orders are cached apart.
        """
        if kind is None:
            return self.entries, np.arange(len(self), dtype=np.int64)
        code = _kind_code(kind)
        with self._lock:
            hit = self._subsets.get(code)
        if hit is not None:
            return hit
        rows = np.flatnonzero(self.kind == code)
        made = (_take(self.entries, rows), rows)
        with self._lock:
            self._subsets[code] = made
        return made


def _kind_code(kind: str) -> int:
    try:
        return DIFF_KINDS.index(kind)
    except ValueError:
        raise InvalidInput(f"kind must be one of {', '.join(DIFF_KINDS)}, not {kind!r}",
                           param="kind", details={"allowed": list(DIFF_KINDS)}) from None


def _take(result: GapResult, rows: np.ndarray) -> GapResult:
    """The rows ``rows`` of ``result`` (in that order) as a result of their own."""
    return GapResult(
        target=result.target, competitors=list(result.competitors), mode=result.mode,
        min_overlap=result.min_overlap, total_found=int(rows.shape[0]),
        warnings=[], index_version=result.index_version, ids=result.ids[rows],
        names=result.names.take(pa.array(rows, pa.int64())),
        domain_rating=result.domain_rating[rows], backlinks=result.backlinks[rows],
        referring_domains=result.referring_domains[rows], spam_score=result.spam_score[rows],
        rank=result.rank[rows], competitor_overlap=result.competitor_overlap[rows],
        competitor_mask=result.competitor_mask[rows], dofollow_mask=result.dofollow_mask[rows],
        score=result.score[rows], limit=None,
    )


def _remap(masks: np.ndarray, positions: list[int], dtype: type[np.unsignedinteger[Any]]
           ) -> np.ndarray:
    """Competitor bit masks with bit j moved to bit ``positions[j]``."""
    out = np.zeros(masks.shape[0], dtype=dtype)
    wide = masks.astype(np.uint64)
    for j, pos in enumerate(positions):
        out |= (((wide >> np.uint64(j)) & np.uint64(1)) << np.uint64(pos)).astype(dtype)
    return out


def _positions(names: pa.Array, value_set: pa.Array) -> np.ndarray:
    """For each name, its row in ``value_set`` (-1 when absent)."""
    found = pc.index_in(names, value_set=value_set)
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def diff_results(new: GapResult, old: GapResult) -> RunDiff:
    """Compare two frozen runs (of the same domain: the caller checks it)."""
    union = list(new.competitors) + [c for c in old.competitors if c not in new.competitors]
    dtype: type[np.unsignedinteger[Any]] = np.uint32 if len(union) <= 32 else np.uint64
    new_bits = list(range(new.k))
    old_bits = [union.index(c) for c in old.competitors]
    new_comp = _remap(new.competitor_mask, new_bits, dtype)
    new_dof = _remap(new.dofollow_mask, new_bits, dtype)
    old_comp = _remap(old.competitor_mask, old_bits, dtype)
    old_dof = _remap(old.dofollow_mask, old_bits, dtype)

    in_old = _positions(new.names, old.names)          # per new row
    in_new = _positions(old.names, new.names)          # per old row
    added = np.flatnonzero(in_old < 0)
    removed = np.flatnonzero(in_new < 0)
    both_new = np.flatnonzero(in_old >= 0)
    both_old = in_old[both_new]

    changed_bits = np.zeros(both_new.shape[0], dtype=np.uint16)
    for i, name in enumerate(DIFF_FIELDS):
        if name == "competitors":
            differs = new_comp[both_new] != old_comp[both_old]
        elif name == "dofollow":
            differs = (new.dofollow_mask[both_new] != 0) != (old.dofollow_mask[both_old] != 0)
        else:
            differs = (np.asarray(getattr(new, name))[both_new]
                       != np.asarray(getattr(old, name))[both_old])
        changed_bits[differs] |= np.uint16(1 << i)
    is_changed = changed_bits != 0
    changed_new = both_new[is_changed]
    changed_old = both_old[is_changed]

    # Entry rows: added (new), changed (new), removed (old).
    from_new = np.concatenate([added, changed_new])
    kind = np.concatenate([np.full(added.shape[0], _ADDED, np.uint8),
                           np.full(changed_new.shape[0], _CHANGED, np.uint8),
                           np.full(removed.shape[0], _REMOVED, np.uint8)])
    source_row = np.concatenate([from_new, removed]).astype(np.int64)
    old_row = np.concatenate([np.full(added.shape[0], -1, np.int64), changed_old,
                              np.full(removed.shape[0], -1, np.int64)]).astype(np.int64)
    changed = np.concatenate([np.zeros(added.shape[0], np.uint16), changed_bits[is_changed],
                              np.zeros(removed.shape[0], np.uint16)])

    def column(name: str) -> np.ndarray:
        return np.concatenate([np.asarray(getattr(new, name))[from_new],
                               np.asarray(getattr(old, name))[removed]])

    names = pa.concat_arrays([
        new.names.take(pa.array(from_new, pa.int64())).cast(pa.large_string()),
        old.names.take(pa.array(removed, pa.int64())).cast(pa.large_string()),
    ])
    # Ids of two index versions do not compare: number the entries in name order
    # instead, so "ties by id" stays "ties by canonical name".
    by_name = np.asarray(pc.sort_indices(names).to_numpy(), dtype=np.int64)
    ids = np.empty(by_name.shape[0], dtype=np.int64)
    ids[by_name] = np.arange(by_name.shape[0], dtype=np.int64)
    score = column("score")
    order = np.lexsort((ids, -score.astype(np.int64)))  # best first, as a run's rows are

    entries = GapResult(
        target=new.target, competitors=union, mode=new.mode, min_overlap=new.min_overlap,
        total_found=int(order.shape[0]), warnings=[], index_version=new.index_version,
        ids=ids[order], names=names.take(pa.array(order, pa.int64())),
        domain_rating=column("domain_rating")[order], backlinks=column("backlinks")[order],
        referring_domains=column("referring_domains")[order],
        spam_score=column("spam_score")[order], rank=column("rank")[order],
        competitor_overlap=column("competitor_overlap")[order],
        competitor_mask=np.concatenate([new_comp[from_new], old_comp[removed]])[order],
        dofollow_mask=np.concatenate([new_dof[from_new], old_dof[removed]])[order],
        score=score[order], limit=None,
    )
    return RunDiff(new=new, old=old, entries=entries, kind=kind[order],
                   source_row=source_row[order], old_row=old_row[order],
                   changed=changed[order],
                   unchanged=int(both_new.shape[0] - changed_new.shape[0]))


def _entry_rows(diff: RunDiff, positions: np.ndarray) -> list[dict[str, Any]]:
    """Entries at ``positions`` of ``diff.entries`` as dicts: ``kind``, the prospect as
    its run shows it (competitors in that run's order), and ``changes``
    (``{field: {"old", "new"}}`` for changed entries, null otherwise)."""
    kinds = diff.kind[positions]
    src = diff.source_row[positions]
    rows: list[dict[str, Any] | None] = [None] * int(positions.shape[0])
    for code, result in ((_ADDED, diff.new), (_CHANGED, diff.new), (_REMOVED, diff.old)):
        at = np.flatnonzero(kinds == code)
        if not at.shape[0]:
            continue
        shown = result.rows(src[at])
        olds = diff.old.rows(diff.old_row[positions][at]) if code == _CHANGED else None
        bits = diff.changed[positions][at].tolist()
        for n, (i, row) in enumerate(zip(at.tolist(), shown, strict=True)):
            changes = None
            if olds is not None:
                changes = {f: {"old": olds[n][f], "new": row[f]}
                           for b, f in enumerate(DIFF_FIELDS) if (bits[n] >> b) & 1}
            rows[i] = {"kind": DIFF_KINDS[code], **row, "changes": changes}
    return [r for r in rows if r is not None]


def diff_page(diff: RunDiff, query: ProspectQuery, kind: str | None = None, page: int = 1,
              per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
    """One page of filtered, sorted entries (optionally of one ``kind``) and their total."""
    subset, positions = diff.subset(kind)
    rows, total = page_indices(subset, query, page, per_page)
    return _entry_rows(diff, positions[rows]), total


def diff_counts(diff: RunDiff, query: ProspectQuery) -> dict[str, int]:
    """Entries of each kind that pass the query's filters (``kind`` aside)."""
    counts = np.bincount(diff.kind[filter_indices(diff.entries, query)], minlength=3)
    return {k: int(counts[i]) for i, k in enumerate(DIFF_KINDS)}


def diff_csv_header() -> list[str]:
    """CSV columns: kind, the prospect fields, the changed field names, the old values."""
    return ["kind", *PROSPECT_FIELDS, "changed", *(f"old_{f}" for f in DIFF_FIELDS)]


def _csv_lines(rows: list[dict[str, Any]], header: bool, newline: str) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    if header:
        writer.writerow(diff_csv_header())
    for row in rows:
        changes = row["changes"] or {}
        writer.writerow(
            [row["kind"], *(safe_cell(row[f]) for f in PROSPECT_FIELDS),
             ";".join(changes),
             *(safe_cell(changes[f]["old"]) if f in changes else "" for f in DIFF_FIELDS)])
    return buf.getvalue()


def iter_diff_csv(diff: RunDiff, query: ProspectQuery, kind: str | None = None,
                  chunk: int = 10_000, newline: str = "\r\n") -> Iterator[str]:
    """Every filtered entry (optionally of one ``kind``) as CSV text, in pieces.

    ``old_<field>`` cells are filled for the fields a changed entry changed, and
    empty otherwise; ``changed`` lists those fields joined with ``;``.
    """
    subset, positions = diff.subset(kind)
    order = sorted_indices(subset, query)
    yield _csv_lines([], header=True, newline=newline)
    for start in range(0, order.shape[0], chunk):
        yield _csv_lines(_entry_rows(diff, positions[order[start:start + chunk]]),
                         header=False, newline=newline)
