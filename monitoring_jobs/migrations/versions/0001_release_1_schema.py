"""The schema of release 1: four long-format metric tables, model_days and the four alert tables.

Release 1 created these tables itself (``create_all``, no ``alembic_version``), the metric tables and the
alert tables each on first use, so such a database may hold all of them or only one group. This revision
creates only the tables that are missing and keeps the others with their rows: a release-1 database is
adopted as it is, and later revisions change it like any other.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

METRIC_TABLES = ("validation_results", "drift_metrics", "performance_metrics", "operational_metrics")


def _metric_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("partition_date", sa.Date, nullable=False),
        sa.Column("metric", sa.String(128), nullable=False),
        sa.Column("feature", sa.String(512), nullable=False),
        sa.Column("segment", sa.String(512), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("threshold", sa.Float, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(f"ix_{name}_model_day", name, ["model", "partition_date"])
    op.create_index(f"ix_{name}_metric", name, ["metric", "partition_date"])


def _model_days() -> None:
    op.create_table(
        "model_days",
        sa.Column("model", sa.String(64), primary_key=True),
        sa.Column("partition_date", sa.Date, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("row_count", sa.Integer, nullable=True),
        sa.Column("report_path", sa.String(1024), nullable=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _model_check_day() -> list[sa.Column]:
    return [sa.Column("model", sa.String(255), nullable=False),
            sa.Column("check_name", sa.String(255), nullable=False),
            sa.Column("partition_date", sa.Date, nullable=False)]


def _alert_check_state() -> None:
    op.create_table(
        "alert_check_state",
        *_model_check_day(),
        sa.Column("last_record_id", sa.BigInteger, nullable=False),
        sa.Column("last_passed", sa.Boolean, nullable=False),
        _when("last_evaluated_at"),
        sa.PrimaryKeyConstraint("model", "check_name", "partition_date", name="pk_alert_check_state"),
    )


def _alert_incidents() -> None:
    op.create_table(
        "alert_incidents",
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
        sa.Column("recovery_announced", sa.Boolean, nullable=False),
        sa.UniqueConstraint("model", "check_name", "partition_date", "generation", name="uq_alert_incidents_key"),
    )
    op.create_index("ix_alert_incidents_open", "alert_incidents", ["model", "check_name", "status"])


def _alert_outbox() -> None:
    op.create_table(
        "alert_outbox",
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
    )
    op.create_index("ix_alert_outbox_status", "alert_outbox", ["status", "id"])


def _alert_locks() -> None:
    op.create_table(
        "alert_locks",
        sa.Column("name", sa.String(64), primary_key=True),
        _when("locked_at", nullable=True),
    )


CREATE = {
    **{name: (lambda name=name: _metric_table(name)) for name in METRIC_TABLES},
    "model_days": _model_days,
    "alert_check_state": _alert_check_state,
    "alert_incidents": _alert_incidents,
    "alert_outbox": _alert_outbox,
    "alert_locks": _alert_locks,
}


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, create in CREATE.items():
        if name not in existing:
            create()


def downgrade() -> None:
    for name in reversed(CREATE):
        op.drop_table(name)
