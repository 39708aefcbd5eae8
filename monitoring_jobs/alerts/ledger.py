"""The record of which alert went to which channel, so a re-evaluated sensor never sends it twice.

A row is written only after a channel confirmed delivery; a failed delivery leaves no row and is
retried on the next call. The unique key (model, check, day, channel) lives in the database, so
the guarantee holds across processes, and ``record`` is idempotent on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from monitoring_jobs.alerts.alert import Alert

TABLE_NAME = "alert_deliveries"
KEY_COLUMNS = ("model", "check_name", "partition_date", "channel")


def _storable(text: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL; keep the rest of a hostile string instead of failing the record."""
    return None if text is None else text.replace("\x00", "\ufffd")


class AlertLedger:
    """Deliveries in table ``alert_deliveries`` (optionally inside ``schema``), through SQLAlchemy Core."""

    def __init__(self, engine: sa.Engine, schema: str | None = None) -> None:
        self.engine = engine
        self.metadata = sa.MetaData(schema=schema)
        self.table = sa.Table(
            TABLE_NAME, self.metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("model", sa.String(255), nullable=False),
            sa.Column("check_name", sa.String(255), nullable=False),
            sa.Column("partition_date", sa.Date, nullable=False),
            sa.Column("channel", sa.String(64), nullable=False),
            sa.Column("severity", sa.String(8), nullable=False),
            sa.Column("description", sa.Text, nullable=False),
            sa.Column("run_id", sa.Text, nullable=True),
            sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
            sa.UniqueConstraint(*KEY_COLUMNS, name="uq_alert_deliveries_key"),
        )

    def ensure_schema(self) -> None:
        """Create the table if missing; refuse a table of another shape rather than lose the exactly-once key."""
        try:
            self.metadata.create_all(self.engine, checkfirst=True)
        except sa.exc.DBAPIError:
            # Another process may have created it between the existence check and CREATE TABLE.
            if not sa.inspect(self.engine).has_table(TABLE_NAME, schema=self.table.schema):
                raise
        self._check_existing_table()

    def _check_existing_table(self) -> None:
        inspector = sa.inspect(self.engine)
        where = f"table {self.table.fullname} in {self.engine.url.render_as_string(hide_password=True)}"
        columns = {column["name"] for column in inspector.get_columns(TABLE_NAME, schema=self.table.schema)}
        missing = sorted(set(self.table.columns.keys()) - columns)
        if missing:
            raise RuntimeError(f"{where} lacks column(s) {missing}; it was made by another version: "
                               "migrate it or drop it so it is created anew")
        unique_sets = [set(item["column_names"]) for item in
                       (*inspector.get_unique_constraints(TABLE_NAME, schema=self.table.schema),
                        *(index for index in inspector.get_indexes(TABLE_NAME, schema=self.table.schema)
                          if index["unique"]))]
        if set(KEY_COLUMNS) not in unique_sets:
            raise RuntimeError(f"{where} has no unique constraint on {', '.join(KEY_COLUMNS)}, so alerts "
                               "could be sent twice; add it or drop the table so it is created anew")

    def _key(self, alert: Alert, channel_name: str) -> sa.ColumnElement[bool]:
        table = self.table.c
        return sa.and_(table.model == alert.model,
                       table.check_name == alert.check,
                       table.partition_date == dt.date.fromisoformat(alert.partition_date),
                       table.channel == channel_name)

    def already_sent(self, alert: Alert, channel_name: str) -> bool:
        with self.engine.connect() as connection:
            found = connection.execute(sa.select(self.table.c.id).where(self._key(alert, channel_name)).limit(1))
            return found.first() is not None

    def record(self, alert: Alert, channel_name: str, *, run_id: str | None = None,
               sent_at: dt.datetime | None = None) -> None:
        """Remember a confirmed delivery; recording the same key again is a no-op.

        ``run_id`` is the run whose check failed (defaults to ``alert.run_id``). The insert runs in
        its own transaction, so a duplicate-key error rolls back cleanly on PostgreSQL too.
        """
        if sent_at is None:
            sent_at = dt.datetime.now(dt.UTC)
        elif sent_at.tzinfo is None:
            raise ValueError("AlertLedger.record: sent_at must be timezone-aware")
        row = {
            "model": alert.model,
            "check_name": alert.check,
            "partition_date": dt.date.fromisoformat(alert.partition_date),
            "channel": channel_name,
            "severity": alert.severity,
            "description": _storable(alert.description),
            "run_id": _storable(run_id if run_id is not None else alert.run_id),
            # SQLite keeps no offset, so every backend stores UTC wall time.
            "sent_at": sent_at.astimezone(dt.UTC),
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(sa.insert(self.table).values(row))
        except sa.exc.IntegrityError:
            if not self.already_sent(alert, channel_name):
                raise  # a real constraint violation, not the duplicate key

    def sent(self, model: str | None = None) -> list[dict]:
        """Deliveries in the order they were recorded; ``partition_date`` as YYYY-MM-DD, ``sent_at`` in UTC."""
        query = sa.select(self.table).order_by(self.table.c.sent_at, self.table.c.id)
        if model is not None:
            query = query.where(self.table.c.model == model)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            {**{key: value for key, value in row.items() if key != "id"},
             "partition_date": row["partition_date"].isoformat(),
             "sent_at": _as_utc(row["sent_at"])}
            for row in rows
        ]


def _as_utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
