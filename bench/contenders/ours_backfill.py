"""A backfill without Dagster: ``stages.run_day`` for consecutive days, oldest first, in one process.

Runs in the project's venv, from a benchmark folder made by ``bench/backfill.py`` (``MONITORING_HOME``):

    python ours_backfill.py <first day> <days> out.json

``out.json`` gets each day's seconds and status, so the benchmark can tell whether later days (whose rolling
reference holds more ingested days) cost more than earlier ones.
"""

import datetime as dt
import sys
import time

from contender_io import resident_bytes, write_json

from monitoring_jobs.config import load_monitors
from monitoring_jobs.metric_store import MetricStore
from monitoring_jobs.pipeline import Workspace
from monitoring_jobs.settings import load_settings
from monitoring_jobs.stages import run_day
from monitoring_jobs.storage import ObjectStore
from monitoring_jobs.validation import load_suite


def main(first_day: str, days: str, out_path: str) -> None:
    imports_rss = resident_bytes()
    started = time.perf_counter()
    settings = load_settings()
    (monitor,) = load_monitors(settings.monitors_dir)
    store = MetricStore(settings.db_url)
    store.ensure_schema()
    workspace = Workspace(ObjectStore(settings.data_root), store, settings.reports_dir, settings.state_dir)
    suite = load_suite(settings.suite_path(monitor.name))
    per_day, statuses = [], []
    for offset in range(int(days)):
        day_started = time.perf_counter()
        statuses.append(run_day(workspace, monitor, dt.date.fromisoformat(first_day) + dt.timedelta(offset),
                                suite).status)
        per_day.append(time.perf_counter() - day_started)
    write_json(out_path, {"statuses": statuses, "per_day_s": per_day, "rss": {"imports": imports_rss},
                          "seconds": {"work": time.perf_counter() - started}})


if __name__ == "__main__":
    main(*sys.argv[1:])
