"""Starting (or joining) the Spark session a build runs in.

``pip install linkgap[spark]`` brings pyspark; Spark needs Java 17+. Under
``spark-submit`` the session spark-submit configured is used as it is; a
build started from the ``linkgap`` command starts its own, on the master
given (``local[N]``, ``spark://host:7077``, ``yarn`` …), and stops it when it
is done. A session already running in the process (tests, notebooks) is
joined and left running.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from linkgap.errors import BuildFailed

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["DEFAULT_MASTER", "is_local_master", "require_spark", "spark_session"]

#: The master a build started outside spark-submit uses when none is given.
DEFAULT_MASTER = "local[*]"


def require_spark() -> None:
    """Raise BuildFailed (one line) unless pyspark is installed and Java can be found."""
    if importlib.util.find_spec("pyspark") is None:
        raise BuildFailed("--engine spark needs pyspark: pip install 'linkgap[spark]' "
                          "(and Java 17 or newer)")
    java_home = os.environ.get("JAVA_HOME")
    java = os.path.join(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not os.path.exists(java):
        raise BuildFailed("--engine spark needs Java 17 or newer: install a JDK, or set "
                          "JAVA_HOME to one")


def is_local_master(master: str) -> bool:
    """True for ``local``, ``local[N]``, ``local[*]``, ``local[N,F]``."""
    return master == "local" or master.startswith("local[")


def _local_threads(master: str) -> int:
    inner = master[len("local["):-1].split(",")[0] if master.startswith("local[") else "1"
    if inner == "*":
        return os.cpu_count() or 1
    return int(inner) if inner.isdigit() else 1


@contextmanager
def spark_session(master: str | None, *, driver_memory: str | None = None
                  ) -> Iterator[SparkSession]:
    """A Spark session for one build: the running one, or a new one stopped afterwards."""
    require_spark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    under_submit = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit started this process
    chosen = master or (None if under_submit else DEFAULT_MASTER)
    builder = SparkSession.builder.appName("linkgap index build")
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    builder = builder.config("spark.sql.session.timeZone", "UTC")
    if chosen is not None:
        builder = builder.master(chosen)
        if is_local_master(chosen):
            # The tasks run linkgap's readers: local workers use this very interpreter.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
            partitions = str(max(2, 2 * _local_threads(chosen)))
            builder = builder.config("spark.sql.shuffle.partitions", partitions)
            builder = builder.config("spark.ui.enabled", "false")
            if driver_memory:
                builder = builder.config("spark.driver.memory", _jvm_size(driver_memory))
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - Java missing/broken, a bad master URL
        raise BuildFailed(f"cannot start Spark (master {chosen or 'from spark-submit'}): "
                          f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                          ) from exc
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


def _jvm_size(size: str) -> str:
    """``4GB`` / ``512MB`` / ``1.5GiB`` → a JVM size (``4096m``)."""
    text = size.strip().upper().replace(" ", "")
    units = {"B": 1 / (1 << 20), "KB": 1 / 1024, "KIB": 1 / 1024, "MB": 1, "MIB": 1,
             "GB": 1024, "GIB": 1024, "TB": 1 << 20, "TIB": 1 << 20}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            return f"{max(512, int(float(text[: -len(unit)]) * units[unit]))}m"
    return size
