"""The Spark side of the linkage: a session Splink can score on, and the hand-over of tables.

Why it is shaped this way:

* ``pyspark`` is an optional extra (``pip install connect-pipeline[spark]``), so it is imported
  inside these functions only; the default install, and every DuckDB run, never touch it.
* Splink's Spark dialect calls Jaro-Winkler and friends as Scala UDFs that ship as a jar inside
  the splink wheel (``similarity_jar_location()``). The jar must be on the session's class path
  before the JVM starts (``spark.jars``); ``SparkAPI`` then registers the functions. A session
  created elsewhere without the jar is detected and refused with a clear error rather than
  failing half-way through a prediction.
* Local mode (``local[2]``, a handful of shuffle partitions) is what the tests run; Spark's
  default of 200 shuffle partitions makes every small job pay for 200 tasks. On a cluster the
  caller hands in its own session instead.
* Tables move as Arrow through the driver (Spark 4 builds a DataFrame from a ``pyarrow.Table``
  without pandas). What moves is small relative to the index: the tenant's candidates, the
  profile subset that shares a blocking key with them, a bounded u sample and the name
  frequency tables. The prediction comes back the same way for the per-candidate selection.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from connect_pipeline.errors import LinkageError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pyarrow as pa
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[2]"
DEFAULT_SHUFFLE_PARTITIONS = 4
LOCAL_DRIVER_MEMORY = "4g"
"""Heap of a local session's driver, which in local mode is also its only executor and the
door every table passes through as Arrow. Spark's default of 1g failed a prediction's joins
("not enough memory to build and broadcast the table") after a few runs in one session."""


def _require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise LinkageError(
            "backend 'spark' needs pyspark: install the optional extra "
            "(pip install 'connect-pipeline[spark]') and Java 17"
        ) from exc


def local_session(
    master: str = DEFAULT_MASTER, shuffle_partitions: int = DEFAULT_SHUFFLE_PARTITIONS
) -> "SparkSession":
    """A Spark session with Splink's similarity jar on its class path.

    ``getOrCreate`` returns the process's running session when there is one (starting a JVM costs
    several seconds, so runs in one process share it); its jar is checked by ``splink_api``.
    """
    _require_pyspark()
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    spark = (
        SparkSession.builder.master(master)
        .appName("connect-pipeline-linkage")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", str(int(shuffle_partitions)))
        .config("spark.default.parallelism", str(int(shuffle_partitions)))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        # read when the JVM starts: a session already running keeps the heap it was given
        .config("spark.driver.memory", LOCAL_DRIVER_MEMORY)
        # candidates' names must not end up in Spark's event logs
        .config("spark.eventLog.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def splink_api(spark: "SparkSession") -> Any:
    """Splink's ``SparkAPI`` over ``spark``, with the similarity UDFs proven callable.

    ``persist`` breaks lineage in memory (spilling to local disk) instead of writing Parquet
    checkpoints to a shared directory: nothing of the tenant's outlives the run on disk, and
    ``release`` drops it from the session afterwards.
    """
    from splink.backends.spark import SparkAPI

    logging.getLogger("splink.internals.spark").setLevel(logging.ERROR)
    api = SparkAPI(
        spark_session=spark,
        break_lineage_method="persist",
        num_partitions_on_repartition=max(1, int(spark.conf.get("spark.sql.shuffle.partitions"))),
    )
    try:
        spark.sql("SELECT jaro_winkler('martha', 'marhta') AS jw").collect()
    except Exception as exc:
        raise LinkageError(
            "the Spark session lacks Splink's similarity functions: start it with "
            "spark.jars set to splink.backends.spark.similarity_jar_location()"
        ) from exc
    return api


def to_arrow(spark_frame: Any) -> "pa.Table":
    """Collect a Spark DataFrame as Arrow (no pandas needed on Spark 4)."""
    return spark_frame.toArrow()


def temp_views(spark: "SparkSession") -> set[str]:
    """Names of the session's temporary views (to tell the run's own from the caller's)."""
    return {t.name for t in spark.catalog.listTables() if t.isTemporary}


def release(spark: "SparkSession", keep: set[str]) -> None:
    """Uncache and drop every temporary view this run added (all but ``keep``).

    A shared session outlives the run; the tenant's candidates in it must not. Views the caller
    had before the run are left alone.
    """
    try:
        for name in temp_views(spark) - keep:
            try:
                spark.catalog.uncacheTable(name)
            except Exception:  # not cached: nothing to free
                pass
            spark.catalog.dropTempView(name)
    except Exception:  # a dead session holds nothing to release
        pass
