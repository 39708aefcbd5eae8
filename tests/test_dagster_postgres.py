"""Dagster's own storage on PostgreSQL with the documented assets/dagster/dagster.postgres.yaml: a 7-day
backfill through the CLI with the multiprocess executor lands every partition of every asset exactly once."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import dagster as dg
import pytest
import sqlalchemy as sa

from tests.backfills import ASSETS, BIN, MODEL, assert_each_day_once, backfill_env, clean_days, run_backfill
from tests.conftest import REPO

POSTGRES_YAML = REPO / "assets" / "dagster" / "dagster.postgres.yaml"


@pytest.fixture()
def dagster_database(postgres_engine):
    """A PostgreSQL database of its own for the Dagster instance, dropped afterwards."""
    name = f"dagster_test_{uuid.uuid4().hex[:12]}"
    server = postgres_engine.execution_options(isolation_level="AUTOCOMMIT")  # CREATE DATABASE refuses transactions
    with server.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = postgres_engine.url.set(database=name)
    yield url
    with server.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
        conn.execute(sa.text(f'DROP DATABASE "{name}"'))


@pytest.fixture()
def postgres_dagster_home(project, dagster_database, monkeypatch):
    """DAGSTER_HOME holding the documented dagster.yaml, its variables pointing at the test database."""
    home = project / "dagster_home_pg"
    home.mkdir()
    shutil.copy(POSTGRES_YAML, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    for var, value in (("DAGSTER_PG_HOST", dagster_database.host), ("DAGSTER_PG_PORT", dagster_database.port or 5432),
                       ("DAGSTER_PG_DB", dagster_database.database), ("DAGSTER_PG_USER", dagster_database.username),
                       ("DAGSTER_PG_PASSWORD", dagster_database.password or "")):
        monkeypatch.setenv(var, str(value))
    return home


def test_seven_day_multiprocess_backfill_on_postgres_lands_every_partition_once(postgres_dagster_home,
                                                                                 dagster_database):
    days = clean_days(MODEL, 7)
    run_backfill(MODEL, days, "multiprocess", backfill_env())

    assert (postgres_dagster_home / "dagster.yaml").read_text() == POSTGRES_YAML.read_text()  # kept, not replaced
    assert not (postgres_dagster_home / "history").exists()  # no SQLite run storage beside it
    with dg.DagsterInstance.get() as instance:
        run_ids = assert_each_day_once(instance, MODEL, days)
        for run_id in run_ids:
            [run_start] = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_START)
            step_starts = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
            assert {e.step_key for e in step_starts} == {f"{MODEL}__{asset}" for asset in ASSETS}
            # the multiprocess executor: every step ran in a process of its own, not in the run's
            assert len({e.dagster_event.pid for e in step_starts} | {run_start.dagster_event.pid}) == len(ASSETS) + 1

    # The same, read straight from PostgreSQL's tables: the runs and materializations are there.
    engine = sa.create_engine(dagster_database)
    try:
        with engine.connect() as conn:
            runs = dict(conn.execute(sa.text("SELECT status, count(*) FROM runs GROUP BY status")).all())
            per_partition = conn.execute(sa.text(
                "SELECT asset_key, partition, count(*) FROM event_logs "
                "WHERE dagster_event_type = 'ASSET_MATERIALIZATION' GROUP BY asset_key, partition")).all()
    finally:
        engine.dispose()
    assert runs == {"SUCCESS": len(days)}
    assert sorted(per_partition) == sorted((dg.AssetKey([MODEL, asset]).to_string(), day.isoformat(), 1)
                                           for asset in ASSETS for day in days)


def test_a_missing_connection_variable_is_an_error_naming_it(postgres_dagster_home, monkeypatch):
    monkeypatch.delenv("DAGSTER_PG_PORT")
    result = subprocess.run([BIN / "monitoring-jobs", "dagster-home"], env=backfill_env(), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: cannot open the Dagster instance configured in "
                                    f"{postgres_dagster_home / 'dagster.yaml'}: ")
    assert "'DAGSTER_PG_PORT'" in result.stderr and "Traceback" not in result.stderr
