"""Alembic's entry point. It runs the revisions on the connection ``upgrade_schema`` hands over, inside that
function's locked transaction; from the ``alembic`` command line in a checkout
(``alembic -c monitoring_jobs/migrations/alembic.ini ...``) on the project's database (MONITORING_DB_URL,
default ``.state/metrics.db``), under the same lock."""

from alembic import context

from monitoring_jobs.migrations import declared_metadata, migration_transaction


def run_migrations(connection) -> None:
    context.configure(connection=connection, target_metadata=declared_metadata(),
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("monitoring-jobs migrations run against a database; offline --sql mode is not supported")
handed_over = context.config.attributes.get("connection")
if handed_over is not None:
    run_migrations(handed_over)
else:
    from monitoring_jobs.metric_store import create_engine
    from monitoring_jobs.settings import load_settings

    engine = create_engine(load_settings().db_url)
    with migration_transaction(engine) as connection:
        run_migrations(connection)
    engine.dispose()
