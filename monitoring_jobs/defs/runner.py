"""Running the monitors from the command line: a backfill over days, then one tick of the alert sensor,
recorded in a persistent Dagster instance so that ``dagster dev`` shows the same history afterwards."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from monitoring_jobs.config import MonitorConfig, load_monitors
from monitoring_jobs.metric_store import MetricStore
from monitoring_jobs.settings import Settings, load_settings

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


def print_outcome(outcome: RunOutcome, *, quiet: bool = False) -> None:
    """A line per model-day unless quiet, and always a line per problem."""
    prefix = f"  {outcome.day} {outcome.model:<20}"
    if not quiet:
        print(f"{prefix} {'done' if outcome.success else 'stopped'}", flush=True)
    for problem in outcome.problems:
        print(f"{prefix} {problem}", flush=True)


def run_days(defs: dg.Definitions, instance: dg.DagsterInstance, monitors: Sequence[MonitorConfig],
             days: Sequence[dt.date], on_done: Callable[[RunOutcome], None] | None = None) -> list[RunOutcome]:
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


def _run_lane(model_names: list[str], days: list[dt.date], quiet: bool) -> list[RunOutcome]:
    """One worker process: its models' days in order, against the project's Dagster instance."""
    from monitoring_jobs.defs.monitors import build_definitions

    settings = load_settings()
    monitors = [m for m in load_monitors(settings.monitors_dir) if m.name in model_names]
    defs = build_definitions(monitors, settings)
    with dg.DagsterInstance.get() as instance:
        return run_days(defs, instance, monitors, days, lambda outcome: print_outcome(outcome, quiet=quiet))


def backfill(monitors: Sequence[MonitorConfig], days: Sequence[dt.date], *, workers: int,
             quiet: bool = False) -> list[RunOutcome]:
    """Run every model-day, spreading the models over ``workers`` processes (each model's days stay in order).

    Two processes on two cores halve a backfill; more processes than cores only add contention, and
    the SQLite instance and metric store take a couple of writers well but not dozens.
    """
    lanes = [[m.name for m in monitors[i::workers]] for i in range(max(1, min(workers, len(monitors))))]
    # Create the instance's and the metric store's tables once, before workers race to create them.
    dg.DagsterInstance.get().dispose()
    MetricStore(load_settings().db_url).ensure_schema()
    if len(lanes) == 1:
        return _run_lane(lanes[0], list(days), quiet)
    with multiprocessing.get_context("spawn").Pool(len(lanes)) as pool:
        results = pool.starmap(_run_lane, [(lane, list(days), quiet) for lane in lanes])
        pool.close()  # let workers exit on their own: leaving the block would terminate them mid-shutdown
        pool.join()
    return sorted((outcome for lane in results for outcome in lane), key=lambda o: (o.day, o.model))


def evaluate_alert_sensor(defs: dg.Definitions, instance: dg.DagsterInstance,
                          cursor: str | None = None) -> tuple[str, str | None]:
    """One tick of the alert sensor, as the daemon would run it; returns its message and new cursor."""
    sensor = defs.resolve_sensor_def("monitoring_alerts")
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources) as context:
        result = sensor(context)
        return getattr(result, "skip_message", str(result)), context.cursor
