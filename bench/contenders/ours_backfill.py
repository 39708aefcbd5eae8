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
from ours_deployment import open_deployment

from monitoring_jobs.stages import run_day


def main(first_day: str, days: str, out_path: str) -> None:
    imports_rss = resident_bytes()
    started = time.perf_counter()
    workspace, monitor, suite = open_deployment()
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
