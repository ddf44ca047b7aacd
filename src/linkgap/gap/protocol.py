"""What the gap engine reads from a backlink index (``BacklinkIndex`` provides it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

__all__ = ["GapIndex"]


class GapIndex(Protocol):
    """The arrays and lookups a run needs: the in-link CSR by target, per-domain
    metrics, and the index's domain names."""

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
