"""The Spark engine of ``linkgap index build`` (``pip install linkgap[spark]``).

``extract``  what a task runs: one input through linkgap's own reader (no pyspark);
``job``      the Spark job: tasks → occurrences → Spark SQL aggregation → staging folder;
``session``  starting or joining a Spark session (local[N], a cluster, spark-submit);
``engine``   the build entry points: one step (stage, then finalise here) or stage only.

Importing this package does not import pyspark; ``require_spark`` says what
is missing in one line.
"""

from __future__ import annotations

from linkgap.spark.engine import StageReport, plan_work, spark_build_index, spark_stage
from linkgap.spark.session import require_spark

__all__ = ["StageReport", "plan_work", "require_spark", "spark_build_index", "spark_stage"]
