"""Small hand-made backlink graphs for the gap engine tests.

``ArrayIndex`` lays a graph out exactly as docs/internals.md describes the
index (ids in canonical-name order, CSR by target, sources ascending) without
going through the index builder, so the engine is tested on its own.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from linkgap.domains import DomainNormalizer
from linkgap.gap import GapResult, compute_gap

NORMALIZER = DomainNormalizer()


class ArrayIndex:
    """An in-memory index: edges (source, target, dofollow) plus optional metrics."""

    def __init__(
        self,
        edges: Iterable[tuple[str, str, bool]],
        extra: Iterable[str] = (),
        metrics: Mapping[str, Mapping[str, int]] | None = None,
        version: str = "v-test",
    ) -> None:
        edges = list(edges)
        names = sorted({n for s, t, _ in edges for n in (s, t)} | set(extra))
        self.names = names
        self._ids = {n: i for i, n in enumerate(names)}
        n = len(names)
        self.version = version
        by_target: dict[int, dict[int, bool]] = {}
        for s, t, df in edges:
            slot = by_target.setdefault(self._ids[t], {})
            slot[self._ids[s]] = slot.get(self._ids[s], False) or df
        indptr = np.zeros(n + 1, dtype=np.int64)
        src: list[int] = []
        dof: list[int] = []
        for t in range(n):
            row = sorted(by_target.get(t, {}).items())
            src.extend(s for s, _ in row)
            dof.extend(int(d) for _, d in row)
            indptr[t + 1] = len(src)
        self.in_indptr = indptr
        self.in_src = np.asarray(src, dtype=np.int32)
        self.in_dofollow = np.asarray(dof, dtype=np.int64)
        self.in_links = np.ones(len(src), dtype=np.int64)
        rd = np.diff(indptr)
        metrics = metrics or {}

        def col(name: str, default: np.ndarray, dtype: Any) -> np.ndarray:
            out = np.asarray(default, dtype=dtype).copy()
            for dom, values in metrics.items():
                if name in values:
                    out[self._ids[dom]] = values[name]
            return out

        self.referring_domains = col("referring_domains", rd, np.int64)
        self.backlinks = col("backlinks", rd * 2, np.int64)
        self.domain_rating = col("domain_rating", np.minimum(rd * 10, 100), np.uint8)
        self.spam_score = col("spam_score", np.zeros(n), np.uint8)
        self.rank = col("rank", np.arange(1, n + 1), np.int64)

    @property
    def num_domains(self) -> int:
        return len(self.names)

    def normalize(self, text: str) -> str:
        return NORMALIZER.normalize(text)

    def id_of(self, name: str) -> int | None:
        return self._ids.get(name)

    def name_of(self, i: int) -> str:
        return self.names[int(i)]

    def names_of(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        return [self.names[int(i)] for i in ids]

    def gap(self, domain: str, competitors: Sequence[str], mode: str = "union",
            min_overlap: int | None = None, limit: int | None = None, *,
            filters: Mapping[str, Any] | None = None,
            exclude: Sequence[str] | None = None) -> GapResult:
        return compute_gap(self, domain, competitors, mode, min_overlap, limit,
                           filters=filters, exclude=exclude)


def links(spec: str) -> list[tuple[str, str, bool]]:
    """Edges from lines ``source -> target`` (dofollow) or ``source ~> target`` (nofollow)."""
    out = []
    for line in spec.strip().splitlines():
        line = line.strip()
        if not line:
            continue
        nofollow = "~>" in line
        s, t = (p.strip() for p in line.replace("~>", "->").split("->"))
        out.append((s, t, not nofollow))
    return out


@pytest.fixture
def make_index() -> Any:
    """Factory: ``make_index(spec, **kwargs)`` → ArrayIndex."""

    def make(spec: str | list[tuple[str, str, bool]], **kwargs: Any) -> ArrayIndex:
        return ArrayIndex(links(spec) if isinstance(spec, str) else spec, **kwargs)

    return make


SAMPLE_COMPETITORS = ["a.com", "b.com", "c.com"]


def build_sample_result() -> GapResult:
    """~300 prospects with varied metrics, many ties, some IDN names; built once."""
    rng = random.Random(7)
    edges: list[tuple[str, str, bool]] = []
    metrics: dict[str, dict[str, int]] = {}
    names = [f"site{i:03d}.com" for i in range(280)]
    names += ["xn--bcher-kva.de", "xn--strae-oqa.de", "buecher.net",
              "-minus.com", "plus-sign.org"]
    names += [f"dup{i}.io" for i in range(20)]
    for name in names:
        linked = [c for c in SAMPLE_COMPETITORS if rng.random() < 0.5]
        linked = linked or [rng.choice(SAMPLE_COMPETITORS)]
        for c in linked:
            edges.append((name, c, rng.random() < 0.6))
        if name.startswith("dup"):
            metrics[name] = {"domain_rating": 40, "backlinks": 10, "referring_domains": 5,
                             "spam_score": 0, "rank": 1000 + int(name[3:-3])}
        else:
            metrics[name] = {
                "domain_rating": rng.randint(0, 100), "backlinks": rng.randint(0, 50),
                "referring_domains": rng.randint(0, 30), "spam_score": rng.randint(0, 100),
                "rank": 2000 + len(metrics),
            }
    edges.append(("site000.com", "me.com", False))
    return ArrayIndex(edges, metrics=metrics).gap("me.com", SAMPLE_COMPETITORS)


@pytest.fixture(scope="session")
def sample_result() -> GapResult:
    """One shared sample run (never mutated apart from its caches)."""
    return build_sample_result()


@pytest.fixture(scope="session")
def fresh_sample_result() -> Any:
    """Factory for a sample run with empty caches."""
    return build_sample_result


@pytest.fixture(scope="session")
def make_index_session() -> Any:
    """``make_index`` for hypothesis tests (session scope; builds a fresh index per call)."""

    def make(spec: str | list[tuple[str, str, bool]], **kwargs: Any) -> ArrayIndex:
        return ArrayIndex(links(spec) if isinstance(spec, str) else spec, **kwargs)

    return make
