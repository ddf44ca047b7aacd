"""Fixtures for the input-reader tests: read files the way ``index build`` does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from linkgap.domains import DomainNormalizer
from linkgap.ingest import LINK_SCHEMA, InputStats, plan_inputs, read_input
from linkgap.ingest.reasons import SKIP_REASONS

_NORMALIZER = DomainNormalizer()


class ReadResult:
    """Rows and per-input stats of reading some inputs."""

    def __init__(self, rows: list[dict[str, Any]], stats: list[InputStats]) -> None:
        self.rows = rows
        self.stats = stats

    @property
    def skipped(self) -> dict[str, int]:
        """Skip counts summed over every input."""
        out: dict[str, int] = {}
        for stat in self.stats:
            for reason, n in stat.skipped.items():
                out[reason] = out.get(reason, 0) + n
        return out

    @property
    def pairs(self) -> set[tuple[str, str]]:
        """The distinct (source_url, target_url) pairs."""
        return {(r["source_url"], r["target_url"]) for r in self.rows}

    def targets(self) -> list[str]:
        """Target URLs in the order they were read."""
        return [r["target_url"] for r in self.rows]

    def by_target(self) -> dict[str, dict[str, Any]]:
        """The last row of each target URL."""
        return {r["target_url"]: r for r in self.rows}


def read_paths(
    paths: list[str | Path], input_format: str = "auto", normalizer: DomainNormalizer | None = None
) -> ReadResult:
    """Plan and read inputs; checks every batch has LINK_SCHEMA and the counters agree."""
    rows: list[dict[str, Any]] = []
    stats: list[InputStats] = []
    for spec in plan_inputs([str(p) for p in paths], input_format):
        stat = InputStats(spec)
        batches = list(read_input(spec, normalizer or _NORMALIZER, stat))
        for batch in batches:
            assert batch.schema.equals(LINK_SCHEMA), batch.schema
        table = pa.Table.from_batches(batches, schema=LINK_SCHEMA)
        assert stat.links_counted == table.num_rows
        undocumented = set(stat.skipped) - set(SKIP_REASONS)
        assert not undocumented, f"skip reasons missing from SKIP_REASONS: {undocumented}"
        rows.extend(table.to_pylist())
        stats.append(stat)
    return ReadResult(rows, stats)


@pytest.fixture
def read() -> Callable[..., ReadResult]:
    """``read(paths, input_format="auto")`` → ReadResult."""
    return read_paths
