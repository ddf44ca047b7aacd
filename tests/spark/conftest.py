"""Fixtures of the Spark engine tests: one shared local[2] session and a many-file corpus.

A Spark session takes seconds to start, so the whole folder shares one
(session scope). The tests need pyspark (``pip install -e '.[spark]'``) and
Java 17+: in CI (``CI=true``) a missing one fails the tests, elsewhere they
are skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.corpus import require_spark_or_skip, write_corpus


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local[2] Spark session for every Spark test of the run."""
    require_spark_or_skip()
    from linkgap.spark.session import spark_session

    with spark_session("local[2]") as session:
        yield session


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The many-file corpus (paths by format), written once per run."""
    return write_corpus(tmp_path_factory.mktemp("spark-corpus"))


