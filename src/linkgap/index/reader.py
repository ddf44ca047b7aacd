"""``BacklinkIndex``: read one published index version through memory maps.

Opening reads ``CURRENT`` and maps that version's arrays; nothing is locked
and nothing is loaded eagerly, so many processes can read at once and a
reader keeps the version it opened even while newer builds publish (the
mapped files stay valid after a later build removes their folder).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from linkgap.errors import IndexUnavailable
from linkgap.index.build import Manifest, shared_normalizer
from linkgap.index.format import EDGE_COLUMNS, check_format
from linkgap.index.outlinks import OUT_LINK_FILES
from linkgap.index.spam import signal_names
from linkgap.index.versions import read_current, version_dir

if TYPE_CHECKING:  # pragma: no cover
    from linkgap.competitors import LinkCompetitors
    from linkgap.gap import GapResult

__all__ = ["BacklinkIndex", "DomainMetrics"]

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

#: How often ``open`` retries when the version it read in CURRENT vanished
#: (two builds published between reading CURRENT and mapping the files).
_OPEN_ATTEMPTS = 5


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
        """Bytes on disk: of the in-link per-edge arrays, of the out-link arrays (0 when left
        out), of the whole version, and each per edge."""
        edges = int(self.in_indptr[-1]) if self.num_domains else 0
        edge_files = {f"{c.name}.npy" for c in EDGE_COLUMNS}
        out_files = {f"{stem}.npy" for stem in OUT_LINK_FILES}
        per_edge = out_bytes = total = 0
        for entry in self.folder.iterdir():
            if entry.is_file():
                size = entry.stat().st_size
                total += size
                if entry.name in edge_files:
                    per_edge += size - 128  # less the .npy header
                elif entry.name in out_files:
                    out_bytes += size
        return {
            "edge_bytes": per_edge,
            "index_bytes": total,
            "bytes_per_edge": round(per_edge / edges, 2) if edges else 0.0,
            "index_bytes_per_edge": round(total / edges, 2) if edges else 0.0,
            "out_links": self.has_out_links,
            "out_link_bytes": out_bytes,
            "out_link_bytes_per_edge": round(out_bytes / edges, 2) if edges else 0.0,
        }

    def in_links_of(self, domain_id: int) -> slice:
        """The slice of the in-link arrays holding the in-links of ``domain_id``."""
        i = int(domain_id)
        return slice(int(self.in_indptr[i]), int(self.in_indptr[i + 1]))

    # -- gap ----------------------------------------------------------------------

    def gap(self, domain: str, competitors: Sequence[str], mode: str = "union",
            min_overlap: int | None = None, limit: int | None = None) -> GapResult:
        """Prospects linking to the competitors but not to ``domain`` (SPEC section 4)."""
        from linkgap.gap import compute_gap

        return compute_gap(self, domain, competitors, mode, min_overlap, limit)

    # -- link competitors ---------------------------------------------------------

    def competitors(self, domain: str, limit: int = 20) -> LinkCompetitors:
        """The domains sharing the most referring domains with ``domain`` (SPEC section 13).

        Raises InvalidDomain for text that is not a domain, InvalidInput for a ``limit``
        outside 1-100, OutLinksMissing when this version has no out-links
        (``--no-out-links``). A domain that is not indexed gives ``found`` False and no rows.
        """
        from linkgap.competitors import link_competitors_of

        return link_competitors_of(self, domain, limit)
