"""Schema migrations on SQLite and PostgreSQL: fresh databases, databases of release 1 with and without a
version, concurrent upgrades, downgrades, and the code's tables agreeing with what the migrations create."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from monitoring_jobs.alerts import AlertEngine
from monitoring_jobs.cli import main
from monitoring_jobs.metric_store import MetricStore, create_engine
from monitoring_jobs.metrics import Metric, Status
from monitoring_jobs.migrations import (
    SchemaChange,
    declared_metadata,
    downgrade_schema,
    head_revision,
    upgrade_schema,
)

DAY = dt.date(2026, 10, 3)
WHEN = dt.datetime(2026, 10, 4, 2, 30, tzinfo=dt.UTC)
METRIC_TABLES = ["validation_results", "drift_metrics", "performance_metrics", "operational_metrics"]
ALERT_TABLES = ["alert_check_state", "alert_incidents", "alert_outbox", "alert_locks"]
RELEASE_1_TABLES = [*METRIC_TABLES, "model_days", *ALERT_TABLES]
BOUNDS = ["value_lower", "value_upper"]
VERSIONS_DIR = Path(__file__).resolve().parents[1] / "monitoring_jobs" / "migrations" / "versions"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    """An empty database: a SQLite file, or a throwaway schema on the test PostgreSQL (via the search path)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'metrics.db'}"
    return request.getfixturevalue("postgres_schema_url")


@pytest.fixture
def engine(url):
    engine = create_engine(url)
    yield engine
    engine.dispose()


def versions(engine: sa.Engine) -> list[str]:
    with engine.connect() as connection:
        return [row[0] for row in connection.execute(sa.text("SELECT version_num FROM alembic_version"))]


def tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def columns(engine: sa.Engine, table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns(table)}


def release_1_rows() -> dict[str, list[dict]]:
    """Rows of every release-1 table, with the columns release 1 had, quotes and markup included."""
    metric = {"model": "credit", "partition_date": DAY, "metric": "psi", "feature": "income", "segment": "",
              "value": 0.25, "threshold": 0.2, "status": "warn", "detail": "it's <b>drifting</b>", "run_id": "r1",
              "computed_at": WHEN}
    incident = {"model": "credit", "check_name": "nulls", "partition_date": DAY, "generation": 1, "status": "open",
                "severity": "ERROR", "description": "income is 12% null", "report_path": "reports/x.html",
                "run_id": "r1", "opened_record_id": 1001, "opened_at": WHEN, "ingested_at": WHEN,
                "suppressed_reason": None, "notified_routes": '["log"]', "closed_record_id": None, "closed_at": None,
                "closed_partition_date": None, "closed_run_id": None, "recovery_announced": False}
    outbox = {"message_key": "k" * 64, "kind": "FAILED", "model": "credit", "partition_date": DAY,
              "severity": "ERROR", "channel": "log", "recipients": "[]", "payload": '{"checks": ["nulls"]}',
              "status": "pending", "created_at": WHEN, "attempts": 2, "next_attempt_at": WHEN,
              "last_attempt_at": WHEN, "last_error": "HTTP 503", "note": None, "sent_at": None, "claim_token": None,
              "claim_expires_at": None}
    return {
        "validation_results": [{**metric, "metric": "null_fraction", "value": None, "threshold": None}],
        "drift_metrics": [metric, {**metric, "feature": "age", "value": 0.01, "status": "ok", "detail": ""}],
        "performance_metrics": [{**metric, "metric": "roc_auc", "feature": "", "segment": "region=north",
                                 "value": 0.81}],
        "operational_metrics": [{**metric, "metric": "latency_p95_ms", "feature": "", "value": 120.5}],
        "model_days": [{"model": "credit", "partition_date": DAY, "status": "warn", "summary": "drift in income",
                        "row_count": 2000, "report_path": "reports/credit/2026-10-03/index.html", "run_id": "r1",
                        "updated_at": WHEN}],
        "alert_check_state": [{"model": "credit", "check_name": "nulls", "partition_date": DAY,
                               "last_record_id": 1001, "last_passed": False, "last_evaluated_at": WHEN}],
        "alert_incidents": [incident, {**incident, "generation": 2, "status": "recovered", "closed_record_id": 1002,
                                       "closed_at": WHEN, "closed_partition_date": DAY, "closed_run_id": "r2",
                                       "recovery_announced": True}],
        "alert_outbox": [outbox, {**outbox, "message_key": "m" * 64, "status": "sent", "sent_at": WHEN}],
        "alert_locks": [{"name": "ingest", "locked_at": WHEN}],
    }


def _comparable(value):
    """SQLite hands timestamps back without their offset (stored as UTC); PostgreSQL with it."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def read_rows(engine: sa.Engine, name: str) -> list[dict]:
    """Every row of a table as the database holds it (reflected, not through the code's table definitions)."""
    table = sa.Table(name, sa.MetaData(), autoload_with=engine)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table).order_by(*table.primary_key.columns)).mappings().all()
    return [{key: _comparable(value) for key, value in row.items() if key != "id"} for row in rows]


def insert_rows(engine: sa.Engine, rows: dict[str, list[dict]]) -> None:
    with engine.begin() as connection:
        for name, table_rows in rows.items():
            connection.execute(sa.Table(name, sa.MetaData(), autoload_with=connection).insert(), table_rows)


def assert_rows_kept(engine: sa.Engine, rows: dict[str, list[dict]]) -> None:
    """Every inserted row is still there unchanged; the bound columns, new to the metric tables, are NULL."""
    for name, table_rows in rows.items():
        added = dict.fromkeys(BOUNDS) if name in METRIC_TABLES else {}
        expected = [{**{key: _comparable(value) for key, value in row.items()}, **added} for row in table_rows]
        assert read_rows(engine, name) == expected, name


def make_release_1_database(engine: sa.Engine, table_names: list[str]) -> None:
    """What release 1 left: its tables (here made by revision 0001) without any alembic_version."""
    upgrade_schema(engine, revision="0001")
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE alembic_version"))
        for name in set(RELEASE_1_TABLES) - set(table_names):
            connection.execute(sa.text(f"DROP TABLE {name}"))


def differences(engine: sa.Engine, metadata) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), metadata)


# --- fresh databases and the recorded version -------------------------------------------------------

def test_head_is_the_newest_revision_file():
    newest = max(path.name.split("_")[0] for path in VERSIONS_DIR.glob("[0-9]*.py"))
    assert head_revision() == newest


def test_a_fresh_database_is_migrated_to_head_and_records_it(engine):
    assert upgrade_schema(engine) == SchemaChange(None, head_revision(), adopted=False)
    assert versions(engine) == [head_revision()]
    assert tables(engine) == {*RELEASE_1_TABLES, "alembic_version"}
    for name in METRIC_TABLES:
        assert set(BOUNDS) <= columns(engine, name)
    assert upgrade_schema(engine) == SchemaChange(head_revision(), head_revision())
    assert versions(engine) == [head_revision()]


def test_the_version_table_lands_in_the_schema_of_the_url(postgres_schema_url, postgres_engine):
    engine = create_engine(postgres_schema_url)
    with engine.connect() as connection:
        schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
    public_before = set(sa.inspect(postgres_engine).get_table_names(schema="public"))
    upgrade_schema(engine)
    engine.dispose()
    assert set(sa.inspect(postgres_engine).get_table_names(schema=schema)) == {*RELEASE_1_TABLES, "alembic_version"}
    assert set(sa.inspect(postgres_engine).get_table_names(schema="public")) == public_before


def test_an_explicit_schema_holds_the_tables_and_the_version(postgres_engine):
    """The alert engine's ``schema`` argument: everything goes there, whatever the search path says."""
    schema = f"test_mig_{uuid.uuid4().hex[:12]}"
    with postgres_engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    public_before = set(sa.inspect(postgres_engine).get_table_names(schema="public"))
    try:
        alerts = AlertEngine(postgres_engine, {}, {}, schema=schema)
        alerts.ensure_schema()
        assert set(sa.inspect(postgres_engine).get_table_names(schema=schema)) == {*RELEASE_1_TABLES,
                                                                                   "alembic_version"}
        assert set(sa.inspect(postgres_engine).get_table_names(schema="public")) == public_before
        with postgres_engine.connect() as connection:
            assert connection.execute(sa.text(f'SELECT version_num FROM "{schema}".alembic_version')).all() == [
                (head_revision(),)]
        alerts.ensure_schema()  # at head already: nothing to do, the lock row stays one row
        with postgres_engine.connect() as connection:
            assert connection.execute(sa.text(f'SELECT name FROM "{schema}".alert_locks')).all() == [("ingest",)]
    finally:
        with postgres_engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


def test_a_schema_that_does_not_exist_is_refused(postgres_engine):
    with pytest.raises(ValueError, match="does not exist.*CREATE SCHEMA"):
        upgrade_schema(postgres_engine, schema=f"missing_{uuid.uuid4().hex[:8]}")


def test_a_schema_is_refused_on_sqlite(tmp_path):
    sqlite = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with pytest.raises(ValueError, match="only supported on PostgreSQL"):
        upgrade_schema(sqlite, schema="monitoring")


# --- existing databases ---------------------------------------------------------------------------

def test_revision_0001_is_the_release_1_schema(engine):
    """At 0001 the database differs from the code's tables by exactly the bound columns 0002 adds."""
    upgrade_schema(engine, revision="0001")
    found = sorted((kind, table, column.name) for kind, _schema, table, column in differences(engine,
                                                                                             declared_metadata()))
    assert found == sorted(("add_column", table, bound) for table in METRIC_TABLES for bound in BOUNDS)


def test_a_database_at_0001_holding_rows_is_upgraded_keeping_every_row(engine):
    upgrade_schema(engine, revision="0001")
    assert versions(engine) == ["0001"]
    rows = release_1_rows()
    insert_rows(engine, rows)
    assert upgrade_schema(engine) == SchemaChange("0001", head_revision())
    assert versions(engine) == [head_revision()]
    assert_rows_kept(engine, rows)
    store = MetricStore(engine)
    store.replace_day("credit", DAY + dt.timedelta(days=1),
                      [Metric("performance", "roc_auc", 0.8, status=Status.OK, lower=0.75, upper=0.85)])
    written = store.read("performance", "credit", DAY + dt.timedelta(days=1))
    assert written[["value", "value_lower", "value_upper"]].values.tolist() == [[0.8, 0.75, 0.85]]


@pytest.mark.parametrize("present", [RELEASE_1_TABLES, [*METRIC_TABLES, "model_days"]],
                         ids=["every-table", "metric-tables-only"])
def test_a_release_1_database_without_a_version_is_adopted_and_upgraded(engine, present):
    """Release 1 created its tables without Alembic, the alert tables only once the alert sensor ran; an
    older table it no longer used (alert_deliveries) is left alone."""
    make_release_1_database(engine, present)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE alert_deliveries (id INTEGER PRIMARY KEY, model VARCHAR(255))"))
        connection.execute(sa.text("INSERT INTO alert_deliveries (id, model) VALUES (7, 'credit')"))
    assert "alembic_version" not in tables(engine)
    rows = {name: table_rows for name, table_rows in release_1_rows().items() if name in present}
    insert_rows(engine, rows)

    assert upgrade_schema(engine) == SchemaChange(None, head_revision(), adopted=True)
    assert versions(engine) == [head_revision()]
    assert_rows_kept(engine, rows)
    assert tables(engine) == {*RELEASE_1_TABLES, "alembic_version", "alert_deliveries"}
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT id, model FROM alert_deliveries")).all() == [(7, "credit")]
    AlertEngine(engine, {}, {}).ensure_schema()
    assert [row["name"] for row in read_rows(engine, "alert_locks")] == ["ingest"]


def test_a_failed_migration_changes_nothing(engine):
    """A database whose drift table already has a bound column (made by hand) stops 0002 midway: the tables
    altered before it are rolled back too, and the version stays 0001."""
    upgrade_schema(engine, revision="0001")
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE drift_metrics ADD COLUMN value_lower FLOAT"))
    with pytest.raises(RuntimeError, match="from 0001 to head failed, so nothing was changed"):
        upgrade_schema(engine)
    assert versions(engine) == ["0001"]
    assert not set(BOUNDS) & columns(engine, "validation_results")  # altered before drift_metrics, rolled back


def test_a_database_of_a_newer_release_is_refused(engine):
    upgrade_schema(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0999'"))
    with pytest.raises(RuntimeError, match="revision 0999, which this version of monitoring-jobs does not know"):
        upgrade_schema(engine)


# --- concurrency, downgrade -----------------------------------------------------------------------

def _upgrade(url: str, start, results) -> None:
    """Worker process: upgrade the database as soon as the other worker is ready too."""
    engine = create_engine(url)
    start.wait(timeout=60)
    change = upgrade_schema(engine)
    results.put(change.before)
    engine.dispose()


def test_two_processes_upgrading_at_once_both_succeed_and_one_migrates(url, engine):
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_upgrade, args=(url, start, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    befores = [results.get(timeout=5), results.get(timeout=5)]
    # The one that waited for the lock found the other's migration done; without the lock both start at None.
    assert sorted(befores, key=str) == [head_revision(), None]
    assert versions(engine) == [head_revision()]
    assert tables(engine) == {*RELEASE_1_TABLES, "alembic_version"}


def test_downgrade_to_0001_and_back(engine):
    store = MetricStore(engine)
    store.ensure_schema()
    store.replace_day("credit", DAY, [Metric("performance", "roc_auc", 0.8, lower=0.7, upper=0.9),
                                      Metric("drift", "psi", 0.3, feature="income", threshold=0.2)])
    indexes = {name: {index["name"] for index in sa.inspect(engine).get_indexes(name)} for name in METRIC_TABLES}

    assert downgrade_schema(engine, "0001") == SchemaChange(head_revision(), "0001")
    assert versions(engine) == ["0001"]
    assert not set(BOUNDS) & columns(engine, "performance_metrics")
    assert read_rows(engine, "performance_metrics")[0]["value"] == 0.8
    assert {name: {index["name"] for index in sa.inspect(engine).get_indexes(name)}
            for name in METRIC_TABLES} == indexes  # SQLite copies each table to drop a column

    assert upgrade_schema(engine) == SchemaChange("0001", head_revision())
    performance = store.read("performance", "credit")
    assert performance["value"].tolist() == [0.8] and performance[BOUNDS].isna().all(axis=None)
    assert store.read("drift", "credit")["feature"].tolist() == ["income"]
    assert differences(engine, declared_metadata()) == []


# --- the code's tables and the migrations agree ---------------------------------------------------

def test_the_code_declares_exactly_the_tables_the_migrations_create(engine):
    upgrade_schema(engine)
    assert differences(engine, declared_metadata()) == []


def test_a_column_declared_without_a_migration_is_found(engine):
    """The check above can fail: a column added to a table in code but in no revision shows up."""
    upgrade_schema(engine)
    extended = [sa.MetaData() for _ in declared_metadata()]
    for source, target in zip(declared_metadata(), extended, strict=True):
        for table in source.tables.values():
            table.to_metadata(target)
    sa.Table("drift_metrics", extended[0], sa.Column("sample_size", sa.Integer), extend_existing=True)
    [(kind, _schema, table, column)] = differences(engine, extended)
    assert (kind, table, column.name) == ("add_column", "drift_metrics", "sample_size")


# --- the command line -----------------------------------------------------------------------------

def test_db_commands_upgrade_and_report_the_revision(url, monkeypatch, capsys):
    monkeypatch.setenv("MONITORING_DB_URL", url)
    head = head_revision()

    def run(*argv: str) -> str:
        assert main(["db", *argv]) == 0
        out = capsys.readouterr().out
        assert out.count("\n") == 1
        return out.split(": ", 1)[1].strip()

    assert run("current").startswith("no version recorded; `monitoring-jobs db upgrade` creates the tables")
    assert run("upgrade", "0001") == "migrated from an empty database to 0001"
    assert run("current") == f"0001, behind head {head}; run `monitoring-jobs db upgrade`"
    assert run("upgrade") == f"migrated from 0001 to {head}"
    assert run("current") == f"{head} (head)"
    assert run("upgrade") == f"already at {head}, nothing to do"
    assert run("downgrade", "0001") == f"migrated from {head} to 0001"
    assert run("downgrade", "base") == "migrated from 0001 to base (no tables)"
    engine = create_engine(url)
    assert tables(engine) == {"alembic_version"} and versions(engine) == []
    engine.dispose()


def test_db_upgrade_to_an_unknown_revision_says_so(url, monkeypatch, capsys):
    monkeypatch.setenv("MONITORING_DB_URL", url)
    assert main(["db", "upgrade", "0999"]) == 1
    assert "failed, so nothing was changed" in capsys.readouterr().err
