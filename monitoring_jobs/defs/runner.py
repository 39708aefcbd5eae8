"""Running the monitors from the command line: a backfill over days, then one tick of the alert sensor,
recorded in a persistent Dagster instance so that ``dagster dev`` shows the same history afterwards."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from monitoring_jobs.config import MonitorConfig
from monitoring_jobs.settings import Settings

DAGSTER_YAML = """\
# Dagster instance for local use, written by monitoring-jobs. Runs, events and schedules live in
# SQLite under this folder, so history survives restarts. SQLite locks under many concurrent runs:
# at most two run at once here; use PostgreSQL (dagster-postgres) for shared deployments.
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 2
"""


def ensure_dagster_home(settings: Settings) -> Path:
    """A project-local DAGSTER_HOME with a dagster.yaml, so run history survives restarts."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        target.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@dataclass(frozen=True)
class RunOutcome:
    model: str
    day: dt.date
    success: bool
    run_id: str


def run_days(defs: dg.Definitions, instance: dg.DagsterInstance, monitors: Sequence[MonitorConfig],
             days: Sequence[dt.date], on_done=None) -> list[RunOutcome]:
    """Materialize every monitor's assets for each day, one run per model-day (as a UI backfill does).

    A failed run (a blocked day, a broken file) is recorded and the backfill goes on.
    """
    outcomes = []
    for day in days:
        for monitor in monitors:
            if day < monitor.start_date:
                continue
            job = defs.resolve_job_def(f"{monitor.name}_daily")
            result = job.execute_in_process(partition_key=day.isoformat(), instance=instance, raise_on_error=False)
            outcome = RunOutcome(monitor.name, day, result.success, result.run_id)
            outcomes.append(outcome)
            if on_done is not None:
                on_done(outcome)
    return outcomes


def evaluate_alert_sensor(defs: dg.Definitions, instance: dg.DagsterInstance,
                          cursor: str | None = None) -> tuple[str, str | None]:
    """One tick of the alert sensor, as the daemon would run it; returns its message and new cursor."""
    sensor = defs.resolve_sensor_def("monitoring_alerts")
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources) as context:
        result = sensor(context)
        return getattr(result, "skip_message", str(result)), context.cursor
