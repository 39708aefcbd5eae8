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


# Step events stay in the instance (and the UI); the terminal gets our summary instead of every event.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass(frozen=True)
class RunOutcome:
    model: str
    day: dt.date
    success: bool
    run_id: str
    problems: tuple[str, ...] = ()


def _problems(result) -> tuple[str, ...]:
    """One line per failed step: which ERROR checks blocked it, or the first line of its error."""
    problems = []
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        error = event.event_specific_data.error
        if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
            checks = [line.split(": ", 1)[-1] for line in error.message.splitlines()[1:] if line.strip()]
            problems.append(f"{event.step_key}: ERROR check(s) {', '.join(checks)} failed; later steps skipped")
        else:
            message = error.message.strip().splitlines()[0] if error is not None else "unknown error"
            problems.append(f"{event.step_key}: {message}")
    return tuple(problems)


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
            result = job.execute_in_process(partition_key=day.isoformat(), instance=instance, raise_on_error=False,
                                            run_config=QUIET_RUN_CONFIG)
            outcome = RunOutcome(monitor.name, day, result.success, result.run_id, _problems(result))
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
