"""Where Splink trains and predicts: DuckDB (the run's own connection) or Spark.

Preparation, blocking and population statistics always run in DuckDB over the Parquet index,
so both backends block identically; the engine only decides where the tables a linker needs
are registered and where prediction runs. Scored pairs always come back to DuckDB, so both
backends pick their matches with the same SQL.
"""

from __future__ import annotations

from typing import Any

import duckdb
from splink import DuckDBAPI, Linker

from connect_pipeline.linkage.spark import DEFAULT_MASTER, DEFAULT_SHUFFLE_PARTITIONS
from connect_pipeline.linkage.tables import Tables


def new_linker(frames: Any, settings: Any, *, validate: bool = False) -> Linker:
    """A Splink linker over a run's frames, quiet, checking its settings only when asked.

    Splink's settings check re-parses the SQL of every comparison level to warn of a column the
    inputs lack: about a quarter of a second per linker, and a run builds five to seven linkers
    from one model over the same columns. The run checks its input columns before any linker
    (``LinkageError``), so the check is asked for once a run, by the linker that scores.
    """
    return Linker(frames, settings, log_level=None, validate_settings=validate)


class Engine:
    """A Splink database API for one run, and the hand-over of tables to and from it."""

    def __init__(
        self,
        backend: str,
        con: duckdb.DuckDBPyConnection,
        tables: Tables,
        spark: Any | None = None,
        spark_master: str = DEFAULT_MASTER,
        spark_shuffle_partitions: int = DEFAULT_SHUFFLE_PARTITIONS,
    ) -> None:
        self.backend = backend
        self.con = con
        self.tables = tables
        self.spark: Any | None = None
        if backend == "duckdb":
            self.db_api: Any = DuckDBAPI(con)
        else:
            from connect_pipeline.linkage import spark as spark_mod

            self.spark = spark or spark_mod.local_session(spark_master, spark_shuffle_partitions)
            self._caller_views = spark_mod.temp_views(self.spark)
            self.db_api = spark_mod.splink_api(self.spark)

    def register(self, table: str, display_name: str) -> Any:
        """A Splink frame for a DuckDB table of this run (copied over as Arrow for Spark)."""
        if self.backend == "duckdb":
            return self.db_api.register(table, dataset_display_name=display_name)
        arrow = self.con.table(table).to_arrow_table()
        return self.db_api.register(self.spark.createDataFrame(arrow), dataset_display_name=display_name)

    def prediction_table(self, predictions: Any) -> str:
        """Name of a DuckDB relation holding a prediction (copied back as Arrow from Spark)."""
        if self.backend == "duckdb":
            return predictions.physical_name
        from connect_pipeline.linkage import spark as spark_mod

        arrow = spark_mod.to_arrow(predictions.as_spark_dataframe())
        table, staged = self.tables.spark_predictions, self.tables.spark_predictions_arrow
        self.con.register(staged, arrow)
        self.con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {staged}")
        self.con.unregister(staged)
        return table

    def close(self) -> None:
        """Release what the run put in a Spark session (a DuckDB run holds nothing here)."""
        if self.spark is not None:
            from connect_pipeline.linkage import spark as spark_mod

            spark_mod.release(self.spark, self._caller_views)

    def discard(self, predictions: Any, table: str) -> None:
        """Free a prediction once its figures and kept pairs have been taken from it."""
        if table != predictions.physical_name:
            self.con.execute(f"DROP TABLE IF EXISTS {table}")
        predictions.drop_table_from_database_and_remove_from_cache()
