"""Operational health of one model-day: volume, latency, errors and model confidence."""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitoring_jobs.config import Bound, MonitorConfig, Task
from monitoring_jobs.metrics import MISSING_VALUE_LABEL, Metric, judged_metric

AREA = "operations"
LATENCY_PERCENTILES = {"latency_p50_ms": 50.0, "latency_p95_ms": 95.0, "latency_p99_ms": 99.0}

NAN = float("nan")


def compute_operations(frame: pd.DataFrame, monitor: MonitorConfig) -> list[Metric]:
    """row_count, latency percentiles, error rate and counts per status, mean confidence.

    Metrics of a column role that is not configured are omitted; a configured column absent from
    ``frame`` gives MISSING metrics that say so.
    """
    bounds = monitor.operations.thresholds
    metrics = [judged_metric(AREA, "row_count", float(len(frame)), bounds.get("row_count"))]
    metrics += _latency_metrics(frame, monitor.columns.latency_ms, bounds)
    metrics += _status_metrics(frame, monitor.columns.status, monitor.operations.ok_statuses, bounds)
    metrics += _confidence_metrics(frame, monitor, bounds)
    return metrics


def _latency_metrics(frame: pd.DataFrame, column: str | None, bounds: dict[str, Bound]) -> list[Metric]:
    """Percentiles over every row with a finite latency, failed requests included: their latency is felt too.

    ``numpy.percentile`` with its default "linear" interpolation (Hyndman & Fan type 7).
    """
    if column is None:
        return []
    if column not in frame.columns:
        return _all_missing(LATENCY_PERCENTILES, bounds, f"latency column '{column}' is not in the data")
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    finite = values[np.isfinite(values)]
    left_out = values.size - finite.size
    detail = f"{left_out} rows without a finite latency left out" if left_out else ""
    if not finite.size:
        return _all_missing(LATENCY_PERCENTILES, bounds, "no latency values", detail)
    percentiles = np.percentile(finite, list(LATENCY_PERCENTILES.values()))
    return [judged_metric(AREA, name, value, bounds.get(name), detail=detail)
            for name, value in zip(LATENCY_PERCENTILES, percentiles, strict=True)]


def _status_metrics(frame: pd.DataFrame, column: str | None, ok_statuses: list[str],
                    bounds: dict[str, Bound]) -> list[Metric]:
    """error_rate = rows whose status is not in ``ok_statuses`` (a null status included) / all rows."""
    if column is None:
        return []
    if column not in frame.columns:
        return _all_missing(["error_rate"], bounds, f"status column '{column}' is not in the data")
    if frame.empty:
        return _all_missing(["error_rate"], bounds, "no rows")
    statuses = frame[column].astype("string")
    is_ok = statuses.isin(ok_statuses).fillna(False).to_numpy(dtype=bool)
    ok_list = ", ".join(ok_statuses)
    metrics = [judged_metric(AREA, "error_rate", float(np.mean(~is_ok)), bounds.get("error_rate"),
                             detail=f"share of rows whose status is not one of: {ok_list} (null counts as error)")]
    for value, count in statuses.value_counts(dropna=False).items():
        label = MISSING_VALUE_LABEL if pd.isna(value) else str(value)
        kind = "ok" if not pd.isna(value) and value in ok_statuses else "error"
        metrics.append(Metric(AREA, "status_count", float(count), segment=f"status={label}",
                              detail=f"counted as {kind}"))
    return metrics


def _confidence_metrics(frame: pd.DataFrame, monitor: MonitorConfig, bounds: dict[str, Bound]) -> list[Metric]:
    """Binary: mean of max(score, 1 - score), the probability of the predicted class.

    Multiclass with a score column: mean of the score, read as the predicted class's probability.
    Regression (or no score column): omitted.
    """
    column = monitor.columns.score
    if monitor.task is Task.REGRESSION or column is None:
        return []
    if column not in frame.columns:
        return _all_missing(["mean_confidence"], bounds, f"score column '{column}' is not in the data")
    scores = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    scores = scores[np.isfinite(scores)]
    if not scores.size:
        return _all_missing(["mean_confidence"], bounds, "no scores")
    confidence = np.maximum(scores, 1.0 - scores) if monitor.task is Task.BINARY_CLASSIFICATION else scores
    return [judged_metric(AREA, "mean_confidence", float(np.mean(confidence)), bounds.get("mean_confidence"),
                          detail=f"over {scores.size} rows with a score")]


def _all_missing(names, bounds: dict[str, Bound], reason: str, detail: str = "") -> list[Metric]:
    return [judged_metric(AREA, name, NAN, bounds.get(name), missing_reason=reason, detail=detail) for name in names]
