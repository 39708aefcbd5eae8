"""The alert engine's tables, in the metric store's database (SQLite or PostgreSQL), via SQLAlchemy Core.

- ``alert_check_state``: per (model, check, day), the last evaluation record ingested; what makes
  ingesting the same records twice a no-op.
- ``alert_incidents``: one row per failure of a (model, check, day), from its failing evaluation to
  the passing one that closes it; ``generation`` counts re-openings of the same key.
- ``alert_outbox``: one row per message and route, pending until a channel confirmed it, then sent
  (never deleted); ``claim_token`` lets one deliverer at a time send it.
- ``alert_locks``: one row per lock; ingest updates its row first, which serialises concurrent
  ingests on every backend (a row lock on PostgreSQL, the write lock on SQLite).

Times are stored as UTC (SQLite keeps no offset) and read back as aware UTC datetimes.

Like the metric tables, these are created and changed by the migrations in ``monitoring_jobs/migrations``;
a change here needs a new revision there.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from monitoring_jobs.migrations import upgrade_schema

INGEST_LOCK = "ingest"
PENDING = "pending"
SENT = "sent"
OPEN = "open"
CLOSED = "recovered"


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _model_check_day() -> list[sa.Column]:
    return [sa.Column("model", sa.String(255), nullable=False),
            sa.Column("check_name", sa.String(255), nullable=False),
            sa.Column("partition_date", sa.Date, nullable=False)]


class AlertTables:
    """The four tables, optionally inside ``schema`` (PostgreSQL); ``ensure`` migrates and verifies them."""

    def __init__(self, schema: str | None = None) -> None:
        self.metadata = sa.MetaData(schema=schema)
        self.check_state = sa.Table(
            "alert_check_state", self.metadata,
            *_model_check_day(),
            sa.Column("last_record_id", sa.BigInteger, nullable=False),
            sa.Column("last_passed", sa.Boolean, nullable=False),
            _when("last_evaluated_at"),
            sa.PrimaryKeyConstraint("model", "check_name", "partition_date", name="pk_alert_check_state"),
        )
        self.incidents = sa.Table(
            "alert_incidents", self.metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            *_model_check_day(),
            sa.Column("generation", sa.Integer, nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("severity", sa.String(8), nullable=False),
            sa.Column("description", sa.Text, nullable=False),
            sa.Column("report_path", sa.Text, nullable=True),
            sa.Column("run_id", sa.Text, nullable=False),
            sa.Column("opened_record_id", sa.BigInteger, nullable=False),
            _when("opened_at"),
            _when("ingested_at"),
            sa.Column("suppressed_reason", sa.Text, nullable=True),
            sa.Column("notified_routes", sa.Text, nullable=False),
            sa.Column("closed_record_id", sa.BigInteger, nullable=True),
            _when("closed_at", nullable=True),
            sa.Column("closed_partition_date", sa.Date, nullable=True),
            sa.Column("closed_run_id", sa.Text, nullable=True),
            sa.Column("recovery_announced", sa.Boolean, nullable=False, default=False),
            sa.UniqueConstraint("model", "check_name", "partition_date", "generation", name="uq_alert_incidents_key"),
            sa.Index("ix_alert_incidents_open", "model", "check_name", "status"),
        )
        self.outbox = sa.Table(
            "alert_outbox", self.metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("message_key", sa.String(64), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("model", sa.String(255), nullable=False),
            sa.Column("partition_date", sa.Date, nullable=False),
            sa.Column("severity", sa.String(8), nullable=False),
            sa.Column("channel", sa.String(32), nullable=False),
            sa.Column("recipients", sa.Text, nullable=False),
            sa.Column("payload", sa.Text, nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            _when("created_at"),
            sa.Column("attempts", sa.Integer, nullable=False),
            _when("next_attempt_at"),
            _when("last_attempt_at", nullable=True),
            sa.Column("last_error", sa.Text, nullable=True),
            sa.Column("note", sa.Text, nullable=True),
            _when("sent_at", nullable=True),
            sa.Column("claim_token", sa.String(32), nullable=True),
            _when("claim_expires_at", nullable=True),
            sa.UniqueConstraint("message_key", name="uq_alert_outbox_key"),
            sa.Index("ix_alert_outbox_status", "status", "id"),
        )
        self.locks = sa.Table(
            "alert_locks", self.metadata,
            sa.Column("name", sa.String(64), primary_key=True),
            _when("locked_at", nullable=True),
        )
        self._keys = {self.check_state: ("model", "check_name", "partition_date"),
                      self.incidents: ("model", "check_name", "partition_date", "generation"),
                      self.outbox: ("message_key",),
                      self.locks: ("name",)}

    def ensure(self, engine: sa.Engine) -> None:
        """Bring the database to the newest schema and add the lock row. Refuse tables of another shape
        (kept from before migrations, or altered by hand) rather than lose the exactly-once keys."""
        upgrade_schema(engine, self.metadata.schema)
        inspector = sa.inspect(engine)
        for table, key in self._keys.items():
            _check_existing_table(engine, inspector, table, key)
        try:
            with engine.begin() as connection:
                if connection.execute(sa.select(self.locks.c.name).where(self.locks.c.name == INGEST_LOCK)).first() \
                        is None:
                    connection.execute(sa.insert(self.locks).values(name=INGEST_LOCK))
        except sa.exc.IntegrityError:
            pass  # inserted by a concurrent ensure


def _check_existing_table(engine: sa.Engine, inspector, table: sa.Table, key: tuple[str, ...]) -> None:
    where = f"table {table.fullname} in {engine.url.render_as_string(hide_password=True)}"
    columns = {column["name"] for column in inspector.get_columns(table.name, schema=table.schema)}
    missing = sorted(set(table.columns.keys()) - columns)
    if missing:
        raise RuntimeError(f"{where} lacks column(s) {missing}: it was not made by monitoring-jobs' migrations; "
                           "alter it to match monitoring_jobs/alerts/tables.py")
    unique_sets = [set(inspector.get_pk_constraint(table.name, schema=table.schema)["constrained_columns"]),
                   *(set(item["column_names"]) for item in inspector.get_unique_constraints(table.name,
                                                                                           schema=table.schema)),
                   *(set(index["column_names"]) for index in inspector.get_indexes(table.name, schema=table.schema)
                     if index["unique"])]
    if set(key) not in unique_sets:
        raise RuntimeError(f"{where} has no unique key on {', '.join(key)}, so alerts could be sent twice: "
                           "it was not made by monitoring-jobs' migrations; add the key")


def as_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A stored time read back as aware UTC (SQLite returns it naive)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def storable(text: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL; keep the rest of a hostile string instead of failing the write."""
    return None if text is None else text.replace("\x00", "\ufffd")
