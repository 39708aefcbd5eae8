"""Schema migrations of the monitoring database (metric tables, ``model_days``, alert tables), with Alembic.

Every user of the database brings it to the newest revision before its first use
(``MetricStore.ensure_schema``, ``AlertEngine.ensure_schema``); ``monitoring-jobs db upgrade`` does the same
on purpose, for a production rollout. Revisions are Python files in ``versions/``, so the installed package
carries them; the applied one is recorded in table ``alembic_version`` beside the tables.

One process migrates at a time (a PostgreSQL advisory lock per schema; SQLite's write lock, taken with
BEGIN IMMEDIATE); the others wait, then find nothing left to do. A migration runs in one transaction, so
one that fails leaves the database at the revision it had.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

SCRIPT_DIR = Path(__file__).resolve().parent
UPGRADE_COMMAND = "monitoring-jobs db upgrade"


@dataclass(frozen=True)
class SchemaChange:
    """The revision before and after a migration (None: no version recorded). ``adopted``: there was no
    version but tables made before migrations existed (release 1), and they were kept with their rows."""

    before: str | None
    after: str | None
    adopted: bool = False

    def describe(self) -> str:
        after = self.after or "base (no tables)"
        if self.before == self.after:
            return f"already at {after}, nothing to do"
        if self.before is None:
            start = "no version (tables of release 1, adopted)" if self.adopted else "an empty database"
        else:
            start = self.before
        return f"migrated from {start} to {after}"


def describe_revision(revision: str | None) -> str:
    """A database's revision as a user reads it: at head, behind, or not versioned yet."""
    head = head_revision()
    if revision == head:
        return f"{revision} (head)"
    if revision is None:
        return f"no version recorded; `{UPGRADE_COMMAND}` creates the tables, or adopts those of release 1"
    if not _known(revision):
        return f"{revision}, unknown to this version of monitoring-jobs (newest: {head}); use a newer one"
    return f"{revision}, behind head {head}; run `{UPGRADE_COMMAND}`"


def declared_metadata() -> list[sa.MetaData]:
    """The tables as the code declares them: what the migrations must produce, and what
    ``alembic revision --autogenerate`` compares a database with."""
    from monitoring_jobs.alerts.tables import AlertTables
    from monitoring_jobs.metric_store import metadata

    return [metadata, AlertTables().metadata]


def _alembic_config(connection: sa.Connection | None = None) -> Config:
    """Alembic's configuration without an ini file; ``env.py`` runs the revisions on ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_DIR))
    config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_alembic_config())


def head_revision() -> str:
    return _scripts().get_current_head()


def _known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


def current_revision(engine: sa.Engine, schema: str | None = None) -> str | None:
    with migration_transaction(engine, schema, exclusive=False) as connection:
        return _version(connection)


def upgrade_schema(engine: sa.Engine, schema: str | None = None, *, revision: str = "head") -> SchemaChange:
    """Apply the revisions up to ``revision``, or find them applied (cheaply: no lock when at head).

    ``schema`` (PostgreSQL only) puts tables and ``alembic_version`` there; without it they go where the
    connection's search path says, e.g. ``options=-csearch_path=monitoring`` in the URL.
    """
    if revision == "head":
        current = current_revision(engine, schema)
        if current == head_revision():
            return SchemaChange(current, current)
    return _migrate(engine, schema, command.upgrade, revision)


def downgrade_schema(engine: sa.Engine, revision: str, schema: str | None = None) -> SchemaChange:
    """Revert to ``revision`` (``base`` drops every table); columns that revision lacks lose their values."""
    return _migrate(engine, schema, command.downgrade, revision)


def _migrate(engine: sa.Engine, schema: str | None, step: Callable[[Config, str], None],
             revision: str) -> SchemaChange:
    where = engine.url.render_as_string(hide_password=True) + (f" (schema {schema})" if schema else "")
    with migration_transaction(engine, schema) as connection:
        before = _version(connection)  # another process may have migrated while this one waited for the lock
        if before is not None and not _known(before):
            raise RuntimeError(f"{where} is at revision {before}, which this version of monitoring-jobs does not "
                               f"know (its newest is {head_revision()}): run a newer monitoring-jobs against it")
        adopted = before is None and _has_declared_tables(connection)
        try:
            step(_alembic_config(connection), revision)
        except (sa.exc.DBAPIError, CommandError) as exc:
            raise RuntimeError(f"migrating {where} from {before or 'no version'} to {revision} failed, so nothing "
                               f"was changed: {exc}") from exc
        return SchemaChange(before, _version(connection), adopted)


@contextmanager
def migration_transaction(engine: sa.Engine, schema: str | None = None, *,
                          exclusive: bool = True) -> Iterator[sa.Connection]:
    """One transaction on ``engine``, committed at the end, in ``schema`` if given (PostgreSQL: first on the
    search path). ``exclusive`` holds the migration lock until then, so migrators run one after another."""
    dialect = engine.dialect.name
    if schema is not None and dialect != "postgresql":
        raise ValueError(f"a schema ({schema!r}) is only supported on PostgreSQL, not on {dialect}; leave it out")
    with engine.connect() as connection:
        if dialect == "sqlite" and exclusive:
            # pysqlite would start the transaction only at the first INSERT, after DDL ran outside it.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.begin()
        if schema is not None:
            _use_schema(connection, schema)
        if dialect == "postgresql" and exclusive:
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext("
                                       "'monitoring_jobs.migrations|' || coalesce(current_schema(), '')))"))
        yield connection
        connection.commit()


def _use_schema(connection: sa.Connection, schema: str) -> None:
    exists = connection.execute(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :schema"), {"schema": schema})
    if exists.first() is None:
        where = connection.engine.url.render_as_string(hide_password=True)
        raise ValueError(f"schema {schema!r} does not exist in {where}; create it first (CREATE SCHEMA)")
    quoted = connection.dialect.identifier_preparer.quote_identifier(schema)
    connection.execute(sa.text("SELECT set_config('search_path', :path, true)"), {"path": quoted})


def _version(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _has_declared_tables(connection: sa.Connection) -> bool:
    existing = set(sa.inspect(connection).get_table_names())
    return any(table.name in existing for metadata in declared_metadata() for table in metadata.tables.values())
