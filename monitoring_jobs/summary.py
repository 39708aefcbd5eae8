"""A short per model-day summary of what the metric store holds, for the terminal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from monitoring_jobs.config import MonitorConfig, Task
from monitoring_jobs.metric_store import MetricStore

MAIN_METRIC = {
    Task.BINARY_CLASSIFICATION: "roc_auc",
    Task.MULTICLASS_CLASSIFICATION: "accuracy",
    Task.REGRESSION: "r2",
}


@dataclass(frozen=True)
class DaySummary:
    model: str
    day: dt.date
    status: str
    rows: int | None
    failed_checks: str
    drifted_features: tuple[str, ...]
    main_metric: str
    main_value: float | None
    label_coverage: float | None
    alerts_sent: int


def _whole_day_value(frame: pd.DataFrame, metric: str) -> float | None:
    rows = frame[(frame["metric"] == metric) & (frame["segment"] == "") & (frame["feature"] == "")]
    if rows.empty or pd.isna(rows["value"].iloc[0]):
        return None
    return float(rows["value"].iloc[0])


def summarize(store: MetricStore, monitors: Sequence[MonitorConfig], days: Sequence[dt.date],
              alerts_sent: pd.DataFrame) -> list[DaySummary]:
    """One row per model-day that has a status row; ``alerts_sent`` has columns model, partition_date."""
    start, end = min(days), max(days)
    statuses = store.day_statuses()
    summaries = []
    for monitor in monitors:
        drift = store.read("drift", monitor.name, start, end)
        performance = store.read("performance", monitor.name, start, end)
        mine = statuses[statuses["model"] == monitor.name].set_index("partition_date")
        for day in days:
            if day not in mine.index:
                continue
            status_row = mine.loc[day]
            day_drift = drift[drift["partition_date"] == day]
            drifted = day_drift[(day_drift["metric"] == "drift_detected") & (day_drift["value"] == 1)]
            day_performance = performance[performance["partition_date"] == day]
            metric = MAIN_METRIC[monitor.task]
            sent = alerts_sent[(alerts_sent["model"] == monitor.name)
                               & (alerts_sent["partition_date"] == day.isoformat())] if len(alerts_sent) else []
            summaries.append(DaySummary(
                model=monitor.name, day=day, status=status_row["status"],
                rows=None if pd.isna(status_row["row_count"]) else int(status_row["row_count"]),
                failed_checks=status_row["summary"], drifted_features=tuple(drifted["feature"]),
                main_metric=metric, main_value=_whole_day_value(day_performance, metric),
                label_coverage=_whole_day_value(day_performance, "label_coverage"), alerts_sent=len(sent)))
    return summaries


def format_table(summaries: Sequence[DaySummary]) -> str:
    header = f"{'model':<16} {'day':<10} {'status':<7} {'rows':>6}  {'main metric':<14} {'labels':>6} " \
             f"{'alerts':>6}  drifted features / failed checks"
    lines = [header, "-" * len(header)]
    for s in summaries:
        value = "n/a" if s.main_value is None else f"{s.main_value:.3f}"
        coverage = "n/a" if s.label_coverage is None else f"{s.label_coverage:.0%}"
        drifted = ", ".join(s.drifted_features) or "-"
        lines.append(f"{s.model:<16} {s.day.isoformat():<10} {s.status:<7} {s.rows if s.rows is not None else '-':>6}  "
                     f"{s.main_metric + ' ' + value:<14} {coverage:>6} {s.alerts_sent:>6}  "
                     f"{drifted} / {s.failed_checks}")
    return "\n".join(lines)
