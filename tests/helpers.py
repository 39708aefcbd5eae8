"""Small builders shared by the unit tests."""

from __future__ import annotations

from concurrent.futures import Executor, Future
from pathlib import Path

from monitoring_jobs.config import MonitorConfig
from monitoring_jobs.metric_store import MetricStore
from monitoring_jobs.metrics import Metric
from monitoring_jobs.pipeline import Workspace
from monitoring_jobs.storage import ObjectStore


def build_monitor(task: str = "binary_classification", *, columns: dict | None = None, **sections) -> MonitorConfig:
    """A valid monitor with one numeric feature ``x`` and the task's output column, plus overrides."""
    output = "score" if task == "binary_classification" else "prediction"
    raw_columns = {"numeric_features": ["x"], output: output, **(columns or {})}
    return MonitorConfig.model_validate({
        "name": "test_monitor", "task": task, "start_date": "2026-10-01",
        "inference": {"uri": "file://data/{date}/part.parquet"},
        "columns": raw_columns, **{name: value for name, value in sections.items() if value is not None},
    })


def by_key(metrics: list[Metric]) -> dict[tuple[str, str], Metric]:
    return {(m.metric, m.segment): m for m in metrics}


def make_workspace(data_root: Path, state: Path) -> Workspace:
    """A workspace reading files under ``data_root`` and keeping its metric store, reports and state in ``state``."""
    metrics = MetricStore(f"sqlite:///{state / 'metrics.db'}")
    metrics.ensure_schema()
    return Workspace(objects=ObjectStore(data_root), metrics=metrics, reports_dir=state / "reports",
                     state_dir=state / ".state")


class InlineExecutor(Executor):
    """Runs what is submitted at once, in the calling thread: work a module runs side by side, one after
    another (patch it in for the module's ``ThreadPoolExecutor``)."""

    def __init__(self, max_workers: int | None = None):
        pass

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future = Future()
        future.set_result(fn(*args, **kwargs))
        return future
