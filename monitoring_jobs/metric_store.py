"""The metric store: long-format metric tables in any SQLAlchemy database (SQLite by default, PostgreSQL in production).

One table per area (validation, drift, performance, operations) with the same columns, plus
``model_days`` with one summary row per model-day for the report index and Grafana. Every write
replaces a model-day's rows in one transaction, so re-runs and backfills never duplicate rows and
readers never see half a day.

The tables are created and changed by the migrations in ``monitoring_jobs/migrations``: a change to them
here needs a new revision there (``tests/test_migrations.py`` fails until both agree).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from monitoring_jobs.metrics import Metric
from monitoring_jobs.migrations import upgrade_schema

AREAS = ("validation", "drift", "performance", "operations")
TABLE_NAMES = {
    "validation": "validation_results",
    "drift": "drift_metrics",
    "performance": "performance_metrics",
    "operations": "operational_metrics",
}

metadata = sa.MetaData()


def _metric_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("partition_date", sa.Date, nullable=False),
        sa.Column("metric", sa.String(128), nullable=False),
        sa.Column("feature", sa.String(512), nullable=False, default=""),
        sa.Column("segment", sa.String(512), nullable=False, default=""),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("value_lower", sa.Float, nullable=True),
        sa.Column("value_upper", sa.Float, nullable=True),
        sa.Column("threshold", sa.Float, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False, default=""),
        sa.Column("run_id", sa.String(64), nullable=False, default=""),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Index(f"ix_{name}_model_day", "model", "partition_date"),
        sa.Index(f"ix_{name}_metric", "metric", "partition_date"),
    )


METRIC_TABLES = {area: _metric_table(TABLE_NAMES[area]) for area in AREAS}

model_days = sa.Table(
    "model_days",
    metadata,
    sa.Column("model", sa.String(64), primary_key=True),
    sa.Column("partition_date", sa.Date, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("summary", sa.Text, nullable=False, default=""),
    sa.Column("row_count", sa.Integer, nullable=True),
    sa.Column("report_path", sa.String(1024), nullable=True),
    sa.Column("run_id", sa.String(64), nullable=False, default=""),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


SQLITE_BUSY_TIMEOUT_S = 60


def _switch_to_wal(cursor) -> None:
    """Put a SQLite file in WAL mode (it stays so). The switch needs the file to itself, and SQLite answers
    "database is locked" at once instead of waiting when another process holds a lock, as when two
    processes open a new database together; so retry until the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url``; SQLite gets a busy timeout and WAL so parallel runs wait instead of failing."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - exercised through every SQLite test
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                _switch_to_wal(cursor)
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _lock_model_day(conn: sa.Connection, scope: str, model: str, day: dt.date) -> None:
    """Serialise writers of the same model-day for the rest of the transaction.

    Delete-then-insert is not enough on its own under PostgreSQL's READ COMMITTED: two writers can each
    delete nothing the other has not committed yet and both insert. SQLite already allows one writer
    at a time.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                     {"key": f"{scope}|{model}|{day.isoformat()}"})


class MetricStore:
    """Reads and writes the metric tables; all values travel as bound parameters, never as SQL text."""

    def __init__(self, url_or_engine: str | sa.Engine):
        self.engine = create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine

    def ensure_schema(self) -> None:
        """Bring the database to the newest schema through the migrations (``monitoring_jobs.migrations``)."""
        upgrade_schema(self.engine)

    def replace_day(self, model: str, day: dt.date, metrics: Iterable[Metric], *, run_id: str = "",
                    areas: Iterable[str] | None = None) -> dict[str, int]:
        """Replace the given areas' rows of one model-day with ``metrics`` in one transaction.

        ``areas`` defaults to the areas present in ``metrics``; pass it explicitly to clear an area
        that produced nothing this time. Returns rows written per area.
        """
        metrics = list(metrics)
        by_area: dict[str, list[Metric]] = {area: [] for area in (areas or {m.area for m in metrics})}
        for metric in metrics:
            if metric.area not in METRIC_TABLES:
                raise ValueError(f"metric {metric.metric!r} has unknown area {metric.area!r}; known: {AREAS}")
            if metric.area not in by_area:
                raise ValueError(f"metric {metric.metric!r} is in area {metric.area!r}, not in {sorted(by_area)}")
            by_area[metric.area].append(metric)
        now = dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:
            _lock_model_day(conn, "metrics", model, day)
            for area, rows in by_area.items():
                table = METRIC_TABLES[area]
                conn.execute(table.delete().where(table.c.model == model, table.c.partition_date == day))
                if rows:
                    conn.execute(table.insert(), [
                        {**m.as_row(), "model": model, "partition_date": day, "run_id": run_id, "computed_at": now}
                        for m in rows
                    ])
        return {area: len(rows) for area, rows in by_area.items()}

    def set_day_status(self, model: str, day: dt.date, *, status: str, summary: str, row_count: int | None,
                       report_path: str | None, run_id: str = "") -> None:
        """Upsert the model-day summary row (delete + insert in one transaction works on every dialect)."""
        with self.engine.begin() as conn:
            _lock_model_day(conn, "status", model, day)
            conn.execute(model_days.delete().where(model_days.c.model == model, model_days.c.partition_date == day))
            conn.execute(model_days.insert().values(
                model=model, partition_date=day, status=status, summary=summary, row_count=row_count,
                report_path=report_path, run_id=run_id, updated_at=dt.datetime.now(dt.UTC)))

    def read(self, area: str, model: str | None = None, start: dt.date | None = None,
             end: dt.date | None = None, *, whole_day_only: bool = False) -> pd.DataFrame:
        """Rows of one area, optionally for one model, an inclusive date range and only whole-day figures
        (empty feature and segment), oldest first."""
        table = METRIC_TABLES[area]
        query = sa.select(table)
        if whole_day_only:
            query = query.where(table.c.feature == "", table.c.segment == "")
        if model is not None:
            query = query.where(table.c.model == model)
        if start is not None:
            query = query.where(table.c.partition_date >= start)
        if end is not None:
            query = query.where(table.c.partition_date <= end)
        with self.engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(query.order_by(table.c.partition_date, table.c.id)).mappings().all(),
                                 columns=[c.name for c in table.columns])
        return frame

    def history(self, model: str, before: dt.date, days: int = 30) -> pd.DataFrame:
        """Every area's rows of the ``days`` days before ``before``, with an ``area`` column, for trend charts."""
        return self._across_areas(model, before - dt.timedelta(days=days), before - dt.timedelta(days=1))

    def whole_day_history(self, model: str, start: dt.date | None = None,
                          end: dt.date | None = None) -> pd.DataFrame:
        """Like ``history`` but only whole-day figures (no per-feature or per-segment rows), over any range:
        what trend pages plot, without reading every feature's drift rows of a long history."""
        return self._across_areas(model, start, end, whole_day_only=True)

    def _across_areas(self, model: str, start: dt.date | None, end: dt.date | None, *,
                      whole_day_only: bool = False) -> pd.DataFrame:
        columns = ["partition_date", "area", "metric", "feature", "segment", "value", "value_lower", "value_upper",
                   "threshold", "status"]
        frames = [self.read(area, model, start, end, whole_day_only=whole_day_only).assign(area=area)[columns]
                  for area in AREAS]
        non_empty = [frame for frame in frames if not frame.empty]
        return pd.concat(non_empty, ignore_index=True) if non_empty else pd.DataFrame(columns=columns)

    def day_statuses(self, model: str | None = None) -> pd.DataFrame:
        query = sa.select(model_days).order_by(model_days.c.model, model_days.c.partition_date)
        if model is not None:
            query = query.where(model_days.c.model == model)
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(query).mappings().all(), columns=[c.name for c in model_days.columns])

    def count_rows(self, model: str, day: dt.date) -> dict[str, int]:
        """Rows per area table for one model-day (what a re-run must leave unchanged)."""
        with self.engine.connect() as conn:
            return {
                area: conn.execute(sa.select(sa.func.count()).select_from(table).where(
                    table.c.model == model, table.c.partition_date == day)).scalar_one()
                for area, table in METRIC_TABLES.items()
            }
