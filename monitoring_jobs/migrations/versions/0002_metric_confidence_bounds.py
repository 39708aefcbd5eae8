"""Confidence-interval bounds beside each metric value: ``value_lower`` and ``value_upper`` (nullable floats).

Batch mode, so SQLite drops the columns on downgrade by copying the table (adding them needs no copy).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

METRIC_TABLES = ("validation_results", "drift_metrics", "performance_metrics", "operational_metrics")


def upgrade() -> None:
    for table in METRIC_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("value_lower", sa.Float, nullable=True))
            batch.add_column(sa.Column("value_upper", sa.Float, nullable=True))


def downgrade() -> None:
    for table in METRIC_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("value_upper")
            batch.drop_column("value_lower")
