"""Shared fixtures: the demo data generated once per session, and a fresh project folder per test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ["GX_ANALYTICS_ENABLED"] = "false"

REPO = Path(__file__).resolve().parents[1]
MONITORS_DIR = REPO / "assets" / "monitors"
SUITES_DIR = REPO / "assets" / "suites"


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory) -> Path:
    """A folder whose ``data/`` holds the full demo (30 days, default size), generated once."""
    from monitoring_jobs.demo_data import generate_demo

    root = tmp_path_factory.mktemp("demo")
    generate_demo(root / "data")
    return root


@pytest.fixture()
def project(tmp_path, demo_root, monkeypatch) -> Path:
    """A project folder of its own (state, reports, Dagster home) reading the shared demo data."""
    shutil.copytree(MONITORS_DIR, tmp_path / "assets" / "monitors")
    shutil.copytree(SUITES_DIR, tmp_path / "assets" / "suites")
    for var in ("MONITORING_DB_URL", "MONITORING_WEBHOOK_URL", "MONITORING_STATE_DIR", "MONITORING_REPORTS_DIR",
                "MONITORING_MONITORS_DIR", "MONITORING_SUITES_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MONITORING_HOME", str(tmp_path))
    monkeypatch.setenv("MONITORING_DATA_ROOT", str(demo_root))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / ".state" / "dagster_home"))
    return tmp_path


@pytest.fixture()
def instance(project):
    """A Dagster instance of its own in the project's state folder, as `make demo` keeps one there."""
    import dagster as dg

    home = project / ".state" / "dagster_home"
    home.mkdir(parents=True)
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance


POSTGRES_URL = os.environ.get("MONITORING_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def service_unavailable(reason: str):
    """A test's server is missing: a failure in CI (where .ci/run starts every service), a skip locally."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must provide it)")
    pytest.skip(reason)


def _peer_python(name: str) -> Path:
    """Python of a peer's own venv (``bench/.venvs/<name>``, shared with the benchmarks), built on first use
    (a minute or two, needs PyPI) and reused while its requirements stay the same."""
    from bench import peers

    try:
        return peers.peer_python(getattr(peers, name))
    except peers.PeerUnavailable as exc:
        service_unavailable(str(exc))


@pytest.fixture(scope="session")
def evidently_python() -> Path:
    return _peer_python("EVIDENTLY")


@pytest.fixture(scope="session")
def nannyml_python() -> Path:
    return _peer_python("NANNYML")


@pytest.fixture(scope="session")
def postgres_engine():
    """An engine on the test PostgreSQL server; tests create and drop their own schemas in it."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
    except ModuleNotFoundError as exc:
        service_unavailable(f"no PostgreSQL driver ({exc.name}); install the test extras")
    except sa.exc.OperationalError as exc:
        service_unavailable(f"PostgreSQL not reachable at {POSTGRES_URL}: {str(exc).splitlines()[0]}")
    yield engine
    engine.dispose()


@pytest.fixture()
def postgres_schema_url(postgres_engine):
    """A database URL whose connections live in a fresh schema, dropped after the test."""
    import uuid

    import sqlalchemy as sa

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with postgres_engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = postgres_engine.url.update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with postgres_engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
