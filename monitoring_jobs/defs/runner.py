"""Running the monitors from the command line: a backfill over days, then one tick of the alert sensor,
recorded in a persistent Dagster instance so that ``dagster dev`` shows the same history afterwards."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from monitoring_jobs.config import ConfigError, MonitorConfig, load_monitors
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
    """The Dagster instance's folder: ``$DAGSTER_HOME`` when set, else the project's ``.state/dagster_home``.

    A dagster.yaml is written only where there is none, so one the user put there (PostgreSQL, say:
    assets/dagster/dagster.postgres.yaml) is kept; the local one keeps run history across restarts.
    Opening the instance once creates its tables, before backfill processes or Celery workers race to.
    """
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        target.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        dg.DagsterInstance.get().dispose()
    except Exception as exc:  # whatever the instance's storage raises: a missing variable, a refused connection
        raise ConfigError(f"cannot open the Dagster instance configured in {target}: {'; '.join(_reasons(exc))}. "
                          "Fix that file or the variables it reads (DAGSTER_PG_* for dagster.postgres.yaml)") from exc
    return home


def _reasons(exc: BaseException) -> list[str]:
    """The first line of an error, of each config error it lists, and of its cause: what Dagster says went wrong."""
    details = [getattr(error, "message", "") for error in getattr(exc, "errors", None) or []] or [str(exc)]
    if exc.__cause__ is not None:
        details.append(str(exc.__cause__))
    return [detail.strip().splitlines()[0].rstrip(":") for detail in details if detail.strip()]


# Step events stay in the instance (and the UI); the terminal gets our summary instead of every event.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass(frozen=True)
class RunOutcome:
    model: str
    day: dt.date
    success: bool
    run_id: str
    problems: tuple[str, ...] = ()


def _first_line(error) -> str:
    return error.message.strip().splitlines()[0] if error is not None else "unknown error"


def _problems(result) -> tuple[str, ...]:
    """One line per failed step: which ERROR checks blocked it, or the first line of its error. A run that
    failed outside any step (its executor could not reach a Celery broker, say) gets its first error."""
    problems = []
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        error = event.event_specific_data.error
        if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
            checks = [line.split(": ", 1)[-1] for line in error.message.splitlines()[1:] if line.strip()]
            problems.append(f"{event.step_key}: ERROR check(s) {', '.join(checks)} failed; later steps skipped")
        else:
            problems.append(f"{event.step_key}: {_first_line(error)}")
    if not problems and not result.success:
        run_errors = [event for event in result.all_events if event.event_type_value in ("ENGINE_EVENT", "RUN_FAILURE")
                      and getattr(event.event_specific_data, "error", None) is not None]
        problems.extend(f"run: {event.message} {_first_line(event.event_specific_data.error)}"
                        for event in run_errors[:1])
    return tuple(problems)


def print_outcome(outcome: RunOutcome, *, quiet: bool = False) -> None:
    """A line per model-day unless quiet, and always a line per problem."""
    prefix = f"  {outcome.day} {outcome.model:<20}"
    if not quiet:
        print(f"{prefix} {'done' if outcome.success else 'stopped'}", flush=True)
    for problem in outcome.problems:
        print(f"{prefix} {problem}", flush=True)


def monitor_job(model: str, executor: str) -> dg.JobDefinition:
    """One monitor's daily job, rebuilt from the project's configs in whichever process runs its steps: a step
    subprocess, or a Celery worker on another machine (which needs the same MONITORING_* settings)."""
    from monitoring_jobs.defs.monitors import build_definitions

    settings = load_settings()
    monitors = [m for m in load_monitors(settings.monitors_dir) if m.name == model]
    if not monitors:
        raise ConfigError(f"no monitor named '{model}' in {settings.monitors_dir} on this machine; every machine "
                          "running steps needs the same monitor configs (MONITORING_MONITORS_DIR)")
    return build_definitions(monitors, settings, executor=executor).resolve_job_def(f"{model}_daily")


# Steps forked from a server that has imported the monitoring code start in well under a second.
MULTIPROCESS_RUN_CONFIG = {"execution": {"config": {"multiprocess": {
    "start_method": {"forkserver": {"preload_modules": ["monitoring_jobs.defs.monitors"]}}}}}}


def execute_model_day(defs: dg.Definitions, instance: dg.DagsterInstance, model: str, day: dt.date,
                      executor: str) -> dg.ExecuteInProcessResult | dg.JobExecutionResult:
    """One run of a model's daily job for one day: in this process, or through ``executor`` (multiprocess,
    celery), which rebuilds the job from ``monitor_job`` wherever the steps run."""
    if executor == "in-process":
        return defs.resolve_job_def(f"{model}_daily").execute_in_process(
            partition_key=day.isoformat(), instance=instance, raise_on_error=False, run_config=QUIET_RUN_CONFIG)
    job = dg.build_reconstructable_job(__name__, monitor_job.__name__, reconstructable_args=(model, executor))
    run_config = QUIET_RUN_CONFIG | (MULTIPROCESS_RUN_CONFIG if executor == "multiprocess" else {})
    return dg.execute_job(job, instance, run_config=run_config, tags={"dagster/partition": day.isoformat()},
                          raise_on_error=False)


def run_days(defs: dg.Definitions, instance: dg.DagsterInstance, monitors: Sequence[MonitorConfig],
             days: Sequence[dt.date], on_done: Callable[[RunOutcome], None] | None = None,
             executor: str = "in-process") -> list[RunOutcome]:
    """Materialize every monitor's assets for each day, one run per model-day (as a UI backfill does).

    A failed run (a blocked day, a broken file) is recorded and the backfill goes on.
    """
    outcomes = []
    for day in days:
        for monitor in monitors:
            if day < monitor.start_date:
                continue
            result = execute_model_day(defs, instance, monitor.name, day, executor)
            outcome = RunOutcome(monitor.name, day, result.success, result.run_id, _problems(result))
            outcomes.append(outcome)
            if on_done is not None:
                on_done(outcome)
    return outcomes


def _run_lane(model_names: list[str], days: list[dt.date], quiet: bool, executor: str) -> list[RunOutcome]:
    """One worker process: its models' days in order, against the instance DAGSTER_HOME points at."""
    from monitoring_jobs.defs.monitors import build_definitions

    settings = load_settings()
    monitors = [m for m in load_monitors(settings.monitors_dir) if m.name in model_names]
    defs = build_definitions(monitors, settings, executor=executor)
    with dg.DagsterInstance.get() as instance:
        return run_days(defs, instance, monitors, days, lambda outcome: print_outcome(outcome, quiet=quiet),
                        executor=executor)


def backfill(monitors: Sequence[MonitorConfig], days: Sequence[dt.date], *, workers: int,
             quiet: bool = False, executor: str = "in-process") -> list[RunOutcome]:
    """Run every model-day, spreading the models over ``workers`` processes (each model's days stay in order,
    as the volume trend and schema drift checks compare a day with the ones before it).

    Two processes on two cores halve a backfill; more processes than cores only add contention, and
    the SQLite instance and metric store take a couple of writers well but not dozens. With the
    multiprocess or celery executor each run also spreads its steps over subprocesses or workers.
    """
    lanes = [[m.name for m in monitors[i::workers]] for i in range(max(1, min(workers, len(monitors))))]
    # Create the metric store's tables once, before workers race to (ensure_dagster_home did the instance's).
    MetricStore(load_settings().db_url).ensure_schema()
    if len(lanes) == 1:
        return _run_lane(lanes[0], list(days), quiet, executor)
    # Not a multiprocessing.Pool: its daemon workers could not start the multiprocess executor's step processes.
    with ProcessPoolExecutor(len(lanes), mp_context=multiprocessing.get_context("spawn")) as pool:
        lanes_running = [pool.submit(_run_lane, lane, list(days), quiet, executor) for lane in lanes]
        results = [lane.result() for lane in lanes_running]
    return sorted((outcome for lane in results for outcome in lane), key=lambda o: (o.day, o.model))


def evaluate_alert_sensor(defs: dg.Definitions, instance: dg.DagsterInstance,
                          cursor: str | None = None) -> tuple[str, str | None]:
    """One tick of the alert sensor, as the daemon would run it; returns its message and new cursor."""
    sensor = defs.resolve_sensor_def("monitoring_alerts")
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources) as context:
        result = sensor(context)
        return getattr(result, "skip_message", str(result)), context.cursor
