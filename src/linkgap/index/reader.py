"""``BacklinkIndex``: read one published index version through memory maps.

Opening reads ``CURRENT`` and maps that version's arrays; nothing is locked
and nothing is loaded eagerly, so many processes can read at once and a
reader keeps the version it opened even while newer builds publish (the
mapped files stay valid after a later build removes their folder).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from linkgap.errors import IndexUnavailable
from linkgap.index.build import Manifest, shared_normalizer
from linkgap.index.evidence import (
    EVIDENCE_FILES,
    EdgeEvidence,
    EvidenceFiles,
    LinkSample,
    samples_of_table,
)
from linkgap.index.format import (
    DAY_UNKNOWN,
    EDGE_COLUMNS,
    check_format,
    constant_column_names,
)
from linkgap.index.outlinks import OUT_LINK_FILES
from linkgap.index.spam import signal_names
from linkgap.index.versions import read_current, version_dir

if TYPE_CHECKING:  # pragma: no cover
    from linkgap.competitors import LinkCompetitors
    from linkgap.gap import GapResult

__all__ = ["EVIDENCE_TABLE_SCHEMA", "BacklinkIndex", "DomainMetrics", "EdgeEvidence",
           "LinkSample"]

_ARRAYS = (
    "names.offsets",
    "backlinks",
    "referring_domains",
    "linked_domains",
    "outlinks",
    "pagerank",
    "domain_rating",
    "rank",
    "spam_score",
    "spam_signals",
    "in_indptr",
    "in_src",
    "in_links",
    "in_dofollow",
    "in_dofollow_links",
    "in_first_seen",
    "in_last_seen",
)

def _broadcast_constant_columns(arrays: dict[str, np.ndarray], constant: dict[str, int]) -> None:
    """Replace each constant column's one-element array by that value over every edge.

    The result is a read-only view with stride 0: no memory per edge, and it
    indexes, slices and gathers like the full column would.
    """
    edges = int(arrays["in_indptr"][-1]) if len(arrays["in_indptr"]) else 0
    allowed = constant_column_names()
    for name, value in constant.items():
        one = arrays.get(name)
        if name not in allowed or one is None or one.shape != (1,) or int(one[0]) != value:
            raise ValueError(f"constant column {name} does not match the manifest")
        arrays[name] = np.broadcast_to(np.asarray(one), (edges,))


#: How often ``open`` retries when the version it read in CURRENT vanished
#: (two builds published between reading CURRENT and mapping the files).
_OPEN_ATTEMPTS = 5

#: Columns of :meth:`BacklinkIndex.evidence_table`.
EVIDENCE_TABLE_SCHEMA = pa.schema([
    pa.field("source_id", pa.int32(), nullable=False),
    pa.field("target_id", pa.int32(), nullable=False),
    pa.field("sample", pa.int16(), nullable=False),
    pa.field("source_url", pa.string(), nullable=False),
    pa.field("target_url", pa.string(), nullable=False),
    pa.field("anchor", pa.string()),
    pa.field("dofollow", pa.bool_(), nullable=False),
    pa.field("first_seen", pa.timestamp("s", tz="UTC")),
    pa.field("last_seen", pa.timestamp("s", tz="UTC")),
])


def _day(code: int) -> datetime | None:
    """A seen-day code of the in-link arrays as a UTC midnight (None when unknown)."""
    if code == DAY_UNKNOWN:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=code - 1)


@dataclass(frozen=True)
class DomainMetrics:
    """The SPEC section 3 metrics of one indexed domain."""

    domain: str
    domain_rating: int
    backlinks: int
    referring_domains: int
    spam_score: int
    spam_signals: list[str]
    rank: int
    linked_domains: int
    outlinks: int

    def as_dict(self) -> dict[str, Any]:
        """The metrics as a JSON-ready dict (field order as declared)."""
        return asdict(self)


class BacklinkIndex:
    """One published version of a backlink index, memory-mapped and read-only."""

    path: Path
    version: str
    manifest: Manifest
    num_domains: int
    backlinks: np.ndarray
    referring_domains: np.ndarray
    linked_domains: np.ndarray
    outlinks: np.ndarray
    pagerank: np.ndarray
    domain_rating: np.ndarray
    rank: np.ndarray
    spam_score: np.ndarray
    spam_signals: np.ndarray
    in_indptr: np.ndarray
    in_src: np.ndarray
    in_links: np.ndarray
    in_dofollow: np.ndarray
    in_dofollow_links: np.ndarray
    in_first_seen: np.ndarray
    in_last_seen: np.ndarray
    #: The out-link CSR by source (``linkgap.index.outlinks``); None in a version built
    #: with ``--no-out-links`` or by a linkgap without them.
    out_indptr: np.ndarray | None
    out_dst: np.ndarray | None

    def __init__(self, index_dir: Path, folder: Path) -> None:
        """Map the version in ``folder``; use ``BacklinkIndex.open`` instead."""
        self.path = index_dir
        with open(folder / "manifest.json", encoding="utf-8") as fh:
            raw = json.load(fh)
        check_format(raw, folder)  # an old layout is refused before any array is mapped
        self.manifest = Manifest.from_dict(raw)
        self.version = self.manifest.version
        self.folder = folder
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in _ARRAYS}
        _broadcast_constant_columns(arrays, self.manifest.constant_columns or {})
        self._offsets = arrays.pop("names.offsets")
        self._names = np.memmap(folder / "names.bytes", dtype=np.uint8, mode="r")
        for name, arr in arrays.items():
            setattr(self, name, arr)
        present = all((folder / f"{stem}.npy").is_file() for stem in OUT_LINK_FILES)
        self.out_indptr, self.out_dst = (
            tuple(np.load(folder / f"{stem}.npy", mmap_mode="r") for stem in OUT_LINK_FILES)
            if present else (None, None))
        self.num_domains = len(self._offsets) - 1
        self._arrow: pa.LargeStringArray | None = None
        self._evidence: EvidenceFiles | None = None
        self.normalizer = shared_normalizer(self.manifest.psl.get("mode") == "icann")

    @classmethod
    def open(cls, path: str | Path) -> BacklinkIndex:
        """The newest published version of the index at ``path``.

        ``path`` is an index directory (with ``CURRENT``) or one version folder.
        Raises IndexUnavailable when nothing usable is published there.
        """
        index_dir = Path(path)
        if (index_dir / "manifest.json").is_file():
            return cls._open_folder(index_dir.parent.parent, index_dir)
        last_error: Exception | None = None
        for _ in range(_OPEN_ATTEMPTS):
            version = read_current(index_dir)
            if version is None:
                raise IndexUnavailable(
                    "no index has been built yet "
                    "(run `linkgap index build` or `linkgap demo`)",
                    operator_detail=f"index folder {index_dir}",
                )
            try:
                return cls(index_dir, version_dir(index_dir, version))
            except FileNotFoundError as exc:  # removed by builds since CURRENT was read
                last_error = exc
        raise IndexUnavailable("the backlink index is unreadable",
                               operator_detail=f"index folder {index_dir}: {last_error}")

    @classmethod
    def _open_folder(cls, index_dir: Path, folder: Path) -> BacklinkIndex:
        try:
            return cls(index_dir, folder)
        except (OSError, ValueError, KeyError) as exc:
            raise IndexUnavailable("the backlink index version is unreadable",
                                   operator_detail=f"{folder}: {exc}") from exc

    @staticmethod
    def current_version(path: str | Path) -> str | None:
        """The published version id at ``path`` (reads ``CURRENT`` only), or None."""
        return read_current(Path(path))

    @property
    def built_at(self) -> datetime:
        """When this version was built (UTC)."""
        return self.manifest.built_at_datetime

    def __len__(self) -> int:
        return self.num_domains

    def __repr__(self) -> str:
        return f"<BacklinkIndex {self.path} version={self.version} domains={self.num_domains}>"

    # -- names ---------------------------------------------------------------

    def name_of(self, domain_id: int) -> str:
        """Canonical name of a domain id."""
        i = int(domain_id)
        if not 0 <= i < self.num_domains:
            raise IndexError(f"domain id {i} out of range")
        return self._name_bytes(i).decode("utf-8")

    def names_of(self, ids: Iterable[int] | np.ndarray) -> list[str]:
        """Canonical names of many domain ids, in order."""
        return list(self.names_array(ids).to_pylist())

    def names_array(self, ids: Iterable[int] | np.ndarray) -> pa.LargeStringArray:
        """Canonical names of many domain ids as an Arrow array (gathered without Python loops)."""
        idx = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64)
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= self.num_domains):
            raise IndexError("domain id out of range")
        return self._arrow_names.take(pa.array(idx, type=pa.int64()))

    @property
    def _arrow_names(self) -> pa.LargeStringArray:
        # The mapped files viewed as one Arrow string array: no copy, no Python strings.
        if self._arrow is None:
            self._arrow = pa.LargeStringArray.from_buffers(
                self.num_domains, pa.py_buffer(self._offsets), pa.py_buffer(self._names)
            )
        return self._arrow

    def _name_bytes(self, i: int) -> bytes:
        return self._names[int(self._offsets[i]) : int(self._offsets[i + 1])].tobytes()

    def id_of(self, name: str) -> int | None:
        """Id of a canonical name (binary search over the mapped names), or None."""
        key = name.encode("utf-8")
        lo, hi = 0, self.num_domains
        while lo < hi:
            mid = (lo + hi) // 2
            if self._name_bytes(mid) < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < self.num_domains and self._name_bytes(lo) == key:
            return lo
        return None

    def ids_of(self, names: Sequence[str]) -> list[int | None]:
        """``id_of`` for many names."""
        return [self.id_of(n) for n in names]

    def normalize(self, text: str) -> str:
        """A typed domain in canonical form, in this index's PSL mode; raises InvalidDomain."""
        return self.normalizer.normalize(text)

    # -- metrics ---------------------------------------------------------------

    def metrics_of(self, domain_id: int) -> DomainMetrics:
        """The metrics of a domain id."""
        i = int(domain_id)
        return DomainMetrics(
            domain=self.name_of(i),
            domain_rating=int(self.domain_rating[i]),
            backlinks=int(self.backlinks[i]),
            referring_domains=int(self.referring_domains[i]),
            spam_score=int(self.spam_score[i]),
            spam_signals=signal_names(int(self.spam_signals[i])),
            rank=int(self.rank[i]),
            linked_domains=int(self.linked_domains[i]),
            outlinks=int(self.outlinks[i]),
        )

    def domain(self, text: str) -> DomainMetrics | None:
        """Metrics of a typed domain (normalised first), or None when it is not indexed.

        Raises InvalidDomain when ``text`` is not a domain.
        """
        domain_id = self.id_of(self.normalize(text))
        return None if domain_id is None else self.metrics_of(domain_id)

    @property
    def has_out_links(self) -> bool:
        """True when this version stores the out-links by source that link competitors read."""
        return self.out_dst is not None

    def disk_usage(self) -> dict[str, int | float]:
        """Bytes on disk: of the in-link per-edge arrays, of the evidence files, of the
        out-link arrays (0 when left out), of the whole version, and each per edge."""
        edges = int(self.in_indptr[-1]) if self.num_domains else 0
        edge_files = {f"{c.name}.npy" for c in EDGE_COLUMNS}
        out_files = {f"{stem}.npy" for stem in OUT_LINK_FILES}
        per_edge = out_bytes = total = evidence = 0
        for entry in self.folder.iterdir():
            if entry.is_file():
                size = entry.stat().st_size
                total += size
                if entry.name in edge_files:
                    per_edge += size - 128  # less the .npy header
                elif entry.name in out_files:
                    out_bytes += size
                elif entry.name in EVIDENCE_FILES:
                    evidence += size
        return {
            "edge_bytes": per_edge,
            "evidence_bytes": evidence,
            "index_bytes": total,
            "bytes_per_edge": round(per_edge / edges, 2) if edges else 0.0,
            "evidence_bytes_per_edge": round(evidence / edges, 2) if edges else 0.0,
            "index_bytes_per_edge": round(total / edges, 2) if edges else 0.0,
            "out_links": self.has_out_links,
            "out_link_bytes": out_bytes,
            "out_link_bytes_per_edge": round(out_bytes / edges, 2) if edges else 0.0,
        }

    def in_links_of(self, domain_id: int) -> slice:
        """The slice of the in-link arrays holding the in-links of ``domain_id``."""
        i = int(domain_id)
        return slice(int(self.in_indptr[i]), int(self.in_indptr[i + 1]))

    # -- evidence (SPEC 12; linkgap.index.evidence) -------------------------------

    @property
    def evidence_per_edge(self) -> int:
        """The build's ``--evidence N``: sample links kept per domain edge (0 = none kept)."""
        return self.manifest.evidence_per_edge

    def _evidence_files(self) -> EvidenceFiles | None:
        # Opened on first use: a gap query never maps these files.
        if self.evidence_per_edge == 0:
            return None
        if self._evidence is None:
            try:
                self._evidence = EvidenceFiles(self.folder)
            except (OSError, ValueError, pa.ArrowInvalid) as exc:
                raise IndexUnavailable("the backlink index's evidence files are unreadable",
                                       operator_detail=f"{self.folder}: {exc}") from exc
        return self._evidence

    def edge_position(self, source_id: int, target_id: int) -> int | None:
        """Position of the domain edge ``source_id → target_id`` in the in-link arrays, or None."""
        s, t = int(source_id), int(target_id)
        if not (0 <= s < self.num_domains and 0 <= t < self.num_domains):
            return None
        row = self.in_links_of(t)
        srcs = self.in_src[row]
        at = int(np.searchsorted(srcs, s))
        if at < len(srcs) and int(srcs[at]) == s:
            return row.start + at
        return None

    def links(self, source_domain: str, target_domain: str) -> list[LinkSample]:
        """The sample links from ``source_domain`` to ``target_domain``, in SPEC 12 order.

        Names in any form are normalised like :meth:`domain` (InvalidDomain for
        one that is not a domain). [] when the domain edge does not exist or
        the index keeps no evidence.
        """
        source = self.id_of(self.normalize(source_domain))
        target = self.id_of(self.normalize(target_domain))
        if source is None or target is None:
            return []
        found = self.edge_evidence(source, target)
        return [] if found is None else found.samples

    def edge_evidence(self, source_id: int, target_id: int) -> EdgeEvidence | None:
        """Counts, dates and sample links of the domain edge ``source_id → target_id``;
        None when there is no such edge."""
        at = self.edge_position(source_id, target_id)
        if at is None:
            return None
        files = self._evidence_files()
        samples: list[LinkSample] = []
        if files is not None:
            lo, hi = files.rows_of(int(target_id), int(source_id))
            if hi > lo:
                samples = samples_of_table(files.read_rows(np.arange(lo, hi)))
        return EdgeEvidence(
            links_total=int(self.in_links[at]),
            dofollow_links=int(self.in_dofollow_links[at]),
            first_seen=_day(int(self.in_first_seen[at])),
            last_seen=_day(int(self.in_last_seen[at])),
            samples=samples,
        )

    def edges_evidence(self, source_ids: Sequence[int] | np.ndarray,
                       target_ids: Sequence[int] | np.ndarray) -> list[EdgeEvidence | None]:
        """:meth:`edge_evidence` of many (source, target) pairs, the samples read in bulk
        (one pass over the evidence files, as :meth:`evidence_table`)."""
        sources = [int(s) for s in np.asarray(source_ids, dtype=np.int64).ravel()]
        targets = [int(t) for t in np.asarray(target_ids, dtype=np.int64).ravel()]
        if len(sources) != len(targets):
            raise ValueError("source_ids and target_ids must have the same length")
        positions = [self.edge_position(s, t) for s, t in zip(sources, targets, strict=True)]
        samples: dict[tuple[int, int], list[LinkSample]] = {}
        edges = list(dict.fromkeys((s, t) for s, t, at in zip(sources, targets, positions,
                                                              strict=True) if at is not None))
        if self.evidence_per_edge and edges:
            table = self.evidence_table(np.array([e[0] for e in edges], dtype=np.int64),
                                        np.array([e[1] for e in edges], dtype=np.int64))
            keys = zip(table.column("source_id").to_pylist(),
                       table.column("target_id").to_pylist(), strict=True)
            for key, sample in zip(keys, samples_of_table(table), strict=True):
                samples.setdefault(key, []).append(sample)
        out: list[EdgeEvidence | None] = []
        for s, t, at in zip(sources, targets, positions, strict=True):
            if at is None:
                out.append(None)
                continue
            out.append(EdgeEvidence(
                links_total=int(self.in_links[at]),
                dofollow_links=int(self.in_dofollow_links[at]),
                first_seen=_day(int(self.in_first_seen[at])),
                last_seen=_day(int(self.in_last_seen[at])),
                samples=list(samples.get((s, t), [])),
            ))
        return out

    def evidence_table(self, source_ids: np.ndarray, target_ids: np.ndarray) -> pa.Table:
        """The sample links of many (source, target) pairs, for freezing a run.

        One row per sample of each pair given, pairs in the order given and
        samples in SPEC 12 order (pairs that are not edges give no rows):
        ``source_id, target_id`` int32, ``sample`` int16 (0-based rank),
        ``source_url, target_url, anchor`` (nullable), ``dofollow``,
        ``first_seen, last_seen`` (timestamp[s, UTC], nullable).
        """
        sources = np.asarray(source_ids, dtype=np.int64).ravel()
        targets = np.asarray(target_ids, dtype=np.int64).ravel()
        if len(sources) != len(targets):
            raise ValueError("source_ids and target_ids must have the same length")
        files = self._evidence_files()
        valid = ((sources >= 0) & (sources < self.num_domains) & (targets >= 0)
                 & (targets < self.num_domains))
        if files is None or not valid.any():
            pair_of, rank, rows = (np.zeros(0, np.int64), np.zeros(0, np.int16),
                                   EVIDENCE_TABLE_SCHEMA.empty_table().drop_columns(
                                       ["source_id", "target_id", "sample"]))
        else:
            keep = np.flatnonzero(valid)
            pair_of, rank, rows = files.table_of(targets[keep], sources[keep])
            pair_of = keep[pair_of]
        head = pa.table({
            "source_id": pa.array(sources[pair_of].astype(np.int32)),
            "target_id": pa.array(targets[pair_of].astype(np.int32)),
            "sample": pa.array(rank.astype(np.int16)),
        })
        for name in rows.column_names:
            head = head.append_column(name, rows.column(name))
        return head.cast(EVIDENCE_TABLE_SCHEMA)

    # -- gap ----------------------------------------------------------------------

    def gap(self, domain: str, competitors: Sequence[str], mode: str = "union",
            min_overlap: int | None = None, limit: int | None = None, *,
            filters: Mapping[str, Any] | None = None,
            exclude: Sequence[str] | None = None) -> GapResult:
        """Prospects linking to the competitors but not to ``domain`` (SPEC section 4);
        ``filters`` and ``exclude`` apply before ``limit`` (SPEC 12)."""
        from linkgap.gap import compute_gap

        return compute_gap(self, domain, competitors, mode, min_overlap, limit,
                           filters=filters, exclude=exclude)

    # -- link competitors ---------------------------------------------------------

    def competitors(self, domain: str, limit: int = 20) -> LinkCompetitors:
        """The domains sharing the most referring domains with ``domain`` (SPEC section 13).

        Raises InvalidDomain for text that is not a domain, InvalidInput for a ``limit``
        outside 1-100, OutLinksMissing when this version has no out-links
        (``--no-out-links``). A domain that is not indexed gives ``found`` False and no rows.
        """
        from linkgap.competitors import link_competitors_of

        return link_competitors_of(self, domain, limit)
