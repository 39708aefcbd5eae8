"""Arrow asked for jemalloc on Linux, before pyarrow is imported, and never over a user's setting."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from monitoring_jobs.memory import ARROW_SETTING, JEMALLOC, prefer_jemalloc


def test_on_linux_before_pyarrow_arrow_is_asked_for_jemalloc():
    environ: dict[str, str] = {}
    assert prefer_jemalloc(environ, {}, "linux")
    assert environ == {ARROW_SETTING: JEMALLOC}


@pytest.mark.parametrize(("environ", "modules", "platform"), [
    ({ARROW_SETTING: "mimalloc"}, {}, "linux"),  # the user's choice
    ({ARROW_SETTING: ""}, {}, "linux"),  # set empty: Arrow's own default
    ({}, {"pyarrow": object()}, "linux"),  # too late: Arrow may have chosen its pool
    ({}, {}, "darwin"),  # wheels elsewhere may lack jemalloc
    ({}, {}, "win32"),
])
def test_nothing_is_asked_when_pyarrow_is_imported_or_set_or_not_on_linux(environ, modules, platform):
    before = dict(environ)
    assert not prefer_jemalloc(environ, modules, platform)
    assert environ == before


def backend_in_a_fresh_interpreter(**setting: str) -> subprocess.CompletedProcess:
    environ = {key: value for key, value in os.environ.items() if key != ARROW_SETTING} | setting
    return subprocess.run(
        [sys.executable, "-c", "import monitoring_jobs, pyarrow as pa; print(pa.default_memory_pool().backend_name)"],
        env=environ, capture_output=True, text=True, check=True)


@pytest.mark.skipif(sys.platform != "linux", reason="the package asks for jemalloc on Linux only")
def test_importing_the_package_first_gives_arrow_jemalloc_without_a_warning():
    """A fresh interpreter, as the CLI, Dagster and the benchmark start: the package is imported before pyarrow."""
    found = backend_in_a_fresh_interpreter()
    assert (found.stdout.strip(), found.stderr) == (JEMALLOC, "")


def test_a_users_setting_is_the_pool_arrow_uses():
    found = backend_in_a_fresh_interpreter(**{ARROW_SETTING: "system"})
    assert (found.stdout.strip(), found.stderr) == ("system", "")
