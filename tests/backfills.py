"""A backfill run as users run it (the CLI in a subprocess), and what the Dagster instance recorded of it."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import dagster as dg

from monitoring_jobs.demo_data import DEMO_START, INCIDENTS

BIN = Path(sys.executable).parent
ASSETS = ("inference_logs", "drift_metrics", "performance_metrics", "operational_metrics", "monitoring_report")
MODEL = "credit_default"  # a fixed reference file, so its first demo day is complete too


def clean_days(model: str, count: int) -> list[dt.date]:
    """The first ``count`` demo days, checked to hold no injected incident of ``model``."""
    days = [DEMO_START + dt.timedelta(days=offset) for offset in range(count)]
    hit = [(i.kind, day) for i in INCIDENTS if i.model == model for day in days if i.first_day <= day <= i.last_day]
    assert not hit, f"the demo now has incidents on {hit}; pick other days"
    return days


def backfill_env(**extra: str) -> dict[str, str]:
    """This test's environment (its project, DAGSTER_HOME) with the venv's scripts first on PATH, as
    `dagster-celery worker start` calls `celery` by name."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra}


def run_backfill(model: str, days: list[dt.date], executor: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run([BIN / "monitoring-jobs", "backfill", "--start", days[0].isoformat(),
                             "--end", days[-1].isoformat(), "--model", model, "--executor", executor,
                             "--workers", "1"], env=env, capture_output=True, text=True, timeout=420)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def materializations_per_partition(instance: dg.DagsterInstance, model: str) -> dict[str, Counter]:
    """For each asset of the model: how often each partition was materialized, from the event log."""
    counts = {}
    for asset in ASSETS:
        records = instance.fetch_materializations(dg.AssetKey([model, asset]), limit=1000).records
        counts[asset] = Counter(record.partition_key for record in records)
    return counts


def runs_per_partition(instance: dg.DagsterInstance, model: str) -> dict[str, list[dg.DagsterRunStatus]]:
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=f"{model}_daily"))
    statuses: dict[str, list[dg.DagsterRunStatus]] = {}
    for run in runs:
        statuses.setdefault(run.tags.get("dagster/partition"), []).append(run.status)
    return statuses


def assert_each_day_once(instance: dg.DagsterInstance, model: str, days: list[dt.date]) -> list[str]:
    """Every day ran once and succeeded, and every asset of every day was materialized exactly once; the run ids."""
    expected = {day.isoformat(): 1 for day in days}
    assert materializations_per_partition(instance, model) == {asset: expected for asset in ASSETS}
    assert runs_per_partition(instance, model) == {day: [dg.DagsterRunStatus.SUCCESS] for day in expected}
    return [run.run_id for run in instance.get_runs(filters=dg.RunsFilter(job_name=f"{model}_daily"))]
