"""Operational health of one model-day: volume, throughput, latency, errors, model confidence, and for LLM
endpoints tokens and cost against a budget."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from monitoring_jobs.config import Bound, Budget, MonitorConfig, Task
from monitoring_jobs.metrics import MISSING_VALUE_LABEL, CheckOutcome, Metric, Status, judged_metric

AREA = "operations"
LATENCY_PERCENTILES = {"latency_p50_ms": 50.0, "latency_p95_ms": 95.0, "latency_p99_ms": 99.0}
CONFIDENCE_PERCENTILES = {"confidence_p05": 5.0, "confidence_p25": 25.0, "confidence_p50": 50.0,
                          "confidence_p75": 75.0, "confidence_p95": 95.0}
TOKEN_ROLES = ("prompt_tokens", "completion_tokens")
BUDGET_METRICS = {"daily_cost_usd": "daily_usd", "cost_per_request_usd": "per_request_usd"}
"""Cost figures and the ``operations.budget`` field that bounds each; judged by ``cost_budget`` alone."""
HOURLY_METRIC = "requests_per_hour"

NAN = float("nan")


def compute_operations(frame: pd.DataFrame, monitor: MonitorConfig,
                       trailing_row_counts: Sequence[int] = ()) -> list[Metric]:
    """Every operational figure of the day.

    ``trailing_row_counts`` are the row counts of the earlier days of the volume window that had data
    (``stages.trailing_row_counts``). Metrics of a column role that is not configured are omitted; a
    configured column absent from ``frame`` gives MISSING metrics that say so.
    """
    bounds = monitor.operations.thresholds
    metrics = [judged_metric(AREA, "row_count", float(len(frame)), bounds.get("row_count"))]
    metrics += _volume_metrics(len(frame), trailing_row_counts, bounds)
    metrics += _throughput_metrics(frame, monitor.columns.timestamp, bounds)
    metrics += _latency_metrics(frame, monitor.columns.latency_ms, bounds)
    metrics += _status_metrics(frame, monitor.columns.status, monitor.operations.ok_statuses, bounds)
    metrics += _confidence_metrics(frame, monitor, bounds)
    metrics += _token_metrics(frame, monitor, bounds)
    metrics += _cost_metrics(frame, monitor)
    return metrics


def _volume_metrics(rows: int, trailing_row_counts: Sequence[int], bounds: dict[str, Bound]) -> list[Metric]:
    """The day's rows over the mean of the earlier days with data: a volume anomaly reads far from 1."""
    name = "volume_vs_trailing_mean"
    if not trailing_row_counts:
        return _all_missing([name], bounds, "no earlier day with data to compare with")
    mean = float(np.mean(trailing_row_counts))
    if mean <= 0:
        return _all_missing([name], bounds, "the earlier days had no rows")
    return [judged_metric(AREA, name, rows / mean, bounds.get(name),
                          detail=f"{rows:,} rows against a mean of {mean:,.1f} over "
                                 f"{len(trailing_row_counts)} earlier day(s) with data")]


def _throughput_metrics(frame: pd.DataFrame, column: str, bounds: dict[str, Bound]) -> list[Metric]:
    """Requests in each UTC hour of the day (``hour=00`` to ``hour=23``, empty hours as 0) and the busiest hour."""
    if column not in frame.columns:
        return _all_missing(["peak_requests_per_hour"], bounds, f"timestamp column '{column}' is not in the data")
    hours = _utc(frame[column]).dt.hour.dropna().to_numpy(dtype=np.int64)
    counts = np.bincount(hours, minlength=24)
    left_out = len(frame) - hours.size
    detail = f"{left_out} rows without a timestamp left out" if left_out else ""
    metrics = [Metric(AREA, HOURLY_METRIC, float(count), segment=f"hour={hour:02d}", detail=detail)
               for hour, count in enumerate(counts)]
    if not hours.size:
        return metrics + _all_missing(["peak_requests_per_hour"], bounds, "no timestamps", detail)
    peak = int(np.argmax(counts))
    return [*metrics, judged_metric(AREA, "peak_requests_per_hour", float(counts[peak]),
                                    bounds.get("peak_requests_per_hour"), detail=f"{peak:02d}:00 to {peak:02d}:59 UTC")]


def _utc(values: pd.Series) -> pd.Series:
    """Timestamps in UTC: the pipeline's snapshots already are; text is parsed, naive times read as UTC."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize("UTC")
    return pd.to_datetime(values.astype("string"), utc=True, errors="coerce", format="ISO8601")


def _latency_metrics(frame: pd.DataFrame, column: str | None, bounds: dict[str, Bound]) -> list[Metric]:
    """Percentiles over every row with a finite latency, failed requests included: their latency is felt too.

    ``numpy.percentile`` with its default "linear" interpolation (Hyndman & Fan type 7).
    """
    if column is None:
        return []
    if column not in frame.columns:
        return _all_missing(LATENCY_PERCENTILES, bounds, f"latency column '{column}' is not in the data")
    return _percentile_metrics(_numbers(frame[column]), LATENCY_PERCENTILES, bounds, "latency", "no latency values")


def _percentile_metrics(values: np.ndarray, percentiles: dict[str, float], bounds: dict[str, Bound], what: str,
                        none_reason: str, detail: str = "") -> list[Metric]:
    finite = values[np.isfinite(values)]
    left_out = values.size - finite.size
    detail = detail or (f"{left_out} rows without a finite {what} left out" if left_out else "")
    if not finite.size:
        return _all_missing(percentiles, bounds, none_reason, detail)
    found = np.percentile(finite, list(percentiles.values()))
    return [judged_metric(AREA, name, value, bounds.get(name), detail=detail)
            for name, value in zip(percentiles, found, strict=True)]


def _status_metrics(frame: pd.DataFrame, column: str | None, ok_statuses: list[str],
                    bounds: dict[str, Bound]) -> list[Metric]:
    """error_rate = rows whose status is not in ``ok_statuses`` (a null status included) / all rows.

    Each failing status also gets its own ``error_rate`` row (segment ``status=<value>``, not judged), so
    timeouts, rate limits and refusals can be told apart; ``status_count`` counts every status.
    """
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
        is_error = pd.isna(value) or value not in ok_statuses
        metrics.append(Metric(AREA, "status_count", float(count), segment=f"status={label}",
                              detail=f"counted as {'error' if is_error else 'ok'}"))
        if is_error:
            metrics.append(Metric(AREA, "error_rate", count / len(frame), segment=f"status={label}",
                                  detail="share of all rows with this status"))
    return metrics


def _confidence_metrics(frame: pd.DataFrame, monitor: MonitorConfig, bounds: dict[str, Bound]) -> list[Metric]:
    """Mean and percentiles of the model's confidence, over the rows with a score.

    Binary: max(score, 1 - score), the probability of the predicted class. Multiclass: the score, read
    as the predicted class's probability. Regression: the score column when there is one, read as a
    confidence the model reports (an LLM's mean token probability). No score column: omitted.
    """
    column = monitor.columns.score
    names = ["mean_confidence", *CONFIDENCE_PERCENTILES]
    if column is None:
        return []
    if column not in frame.columns:
        return _all_missing(names, bounds, f"score column '{column}' is not in the data")
    scores = _numbers(frame[column])
    scores = scores[np.isfinite(scores)]
    if not scores.size:
        return _all_missing(names, bounds, "no scores")
    confidence = np.maximum(scores, 1.0 - scores) if monitor.task is Task.BINARY_CLASSIFICATION else scores
    detail = f"over {scores.size} rows with a score"
    return [judged_metric(AREA, "mean_confidence", float(np.mean(confidence)), bounds.get("mean_confidence"),
                          detail=detail),
            *_percentile_metrics(confidence, CONFIDENCE_PERCENTILES, bounds, "score", "no scores", detail)]


def _token_metrics(frame: pd.DataFrame, monitor: MonitorConfig, bounds: dict[str, Bound]) -> list[Metric]:
    """The day's prompt and completion tokens (``prompt_tokens``, ``completion_tokens``) and their mean per
    request, over the rows that log a token count."""
    metrics = []
    for role in TOKEN_ROLES:
        column = getattr(monitor.columns, role)
        if column is None:
            continue
        names = [role, f"{role}_per_request"]
        if column not in frame.columns:
            metrics += _all_missing(names, bounds, f"{role} column '{column}' is not in the data")
            continue
        values = _numbers(frame[column])
        counted = values[np.isfinite(values)]
        left_out = values.size - counted.size
        detail = f"{left_out} rows without a token count left out" if left_out else ""
        metrics.append(Metric(AREA, role, float(counted.sum()), detail=detail))
        metrics.append(judged_metric(AREA, f"{role}_per_request", float(np.mean(counted)) if counted.size else NAN,
                                     bounds.get(f"{role}_per_request"), missing_reason="no token counts",
                                     detail=detail))
    return metrics


def _cost_metrics(frame: pd.DataFrame, monitor: MonitorConfig) -> list[Metric]:
    """``daily_cost_usd`` (the day's total) and ``cost_per_request_usd`` (its mean over the priced rows), judged
    against ``operations.budget``. The cost is the logged cost column, or the tokens priced by ``operations.pricing``.
    """
    if not monitor.tracks_cost:
        return []
    ceilings = {name: operations_bound(monitor, name) for name in BUDGET_METRICS}
    costs, source, absent = _request_costs(frame, monitor)
    if absent:
        return _all_missing(BUDGET_METRICS, ceilings, absent)
    priced = costs[np.isfinite(costs)]
    left_out = costs.size - priced.size
    detail = source + (f"; {left_out} rows without a cost left out" if left_out else "")
    return [judged_metric(AREA, "daily_cost_usd", float(priced.sum()), ceilings["daily_cost_usd"], detail=detail),
            judged_metric(AREA, "cost_per_request_usd", float(np.mean(priced)) if priced.size else NAN,
                          ceilings["cost_per_request_usd"], missing_reason="no request with a cost", detail=detail)]


def _request_costs(frame: pd.DataFrame, monitor: MonitorConfig) -> tuple[np.ndarray, str, str]:
    """(cost of each row, where it came from, why there is none: "" when there is)."""
    cols, pricing = monitor.columns, monitor.operations.pricing
    if pricing is None:
        if cols.cost_usd not in frame.columns:
            return np.array([]), "", f"cost column '{cols.cost_usd}' is not in the data"
        return _numbers(frame[cols.cost_usd]), f"logged in column {cols.cost_usd}", ""
    absent = [c for c in (cols.prompt_tokens, cols.completion_tokens) if c not in frame.columns]
    if absent:
        return np.array([]), "", f"token column(s) {', '.join(absent)} not in the data"
    costs = (_numbers(frame[cols.prompt_tokens]) * pricing.usd_per_1k_prompt_tokens
             + _numbers(frame[cols.completion_tokens]) * pricing.usd_per_1k_completion_tokens) / 1000.0
    return costs, (f"priced at {pricing.usd_per_1k_prompt_tokens:g} USD per 1k prompt and "
                   f"{pricing.usd_per_1k_completion_tokens:g} USD per 1k completion tokens"), ""


def operations_bound(monitor: MonitorConfig, metric: str) -> Bound | None:
    """What judges a whole-day operational figure: its ``operations.thresholds`` bound, or for a cost figure
    its ``operations.budget`` ceiling."""
    if metric not in BUDGET_METRICS:
        return monitor.operations.thresholds.get(metric)
    budget = monitor.operations.budget
    limit = getattr(budget, BUDGET_METRICS[metric]) if budget is not None else None
    return None if limit is None else Bound(max=limit, severity=budget.severity)


def cost_budget_check(metrics: list[Metric], budget: Budget) -> CheckOutcome:
    """The ``cost_budget`` check: fails when the day's cost, or its cost per request, is over the budget,
    saying by how much."""
    judged = [m for m in metrics if m.metric in BUDGET_METRICS and m.threshold is not None]
    missing = [m for m in metrics if m.metric in BUDGET_METRICS and m.status is Status.MISSING]
    over = [m for m in judged if m.failed]
    metadata = {m.metric: m.value for m in judged} | {f"{m.metric}_budget": m.threshold for m in judged}
    if not judged:
        reason = missing[0].detail if missing else "no cost figures"
        return CheckOutcome("cost_budget", True, budget.severity.value, f"Not judged: {reason}.", metadata)
    if over:
        parts = [f"{_cost_label(m)} {_usd(m.value)} is {_usd(m.value - m.threshold)} "
                 f"({(m.value / m.threshold - 1):.0%}) over the budget of {_usd(m.threshold)}" for m in over]
        metadata["over_by_usd"] = {m.metric: m.value - m.threshold for m in over}
        return CheckOutcome("cost_budget", False, budget.severity.value, "Over budget: " + "; ".join(parts) + ".",
                            metadata, tuple(m.metric for m in over))
    parts = [f"{_cost_label(m)} {_usd(m.value)}, {m.value / m.threshold:.0%} of the budget of {_usd(m.threshold)}"
             for m in judged]
    return CheckOutcome("cost_budget", True, budget.severity.value,
                        "Within budget: " + "; ".join(parts) + ".", metadata)


def _cost_label(metric: Metric) -> str:
    return "daily cost" if metric.metric == "daily_cost_usd" else "cost per request"


def _usd(value: float) -> str:
    """Dollars to the cent, or three significant digits below one dollar (a request costs fractions of a cent)."""
    return f"{value:,.2f} USD" if abs(value) >= 1 else f"{value:.3g} USD"


def _numbers(values: pd.Series) -> np.ndarray:
    """Numbers as float64; text and nulls become NaN (the caller decides whether to leave them out)."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _all_missing(names, bounds: dict[str, Bound], reason: str, detail: str = "") -> list[Metric]:
    return [judged_metric(AREA, name, NAN, bounds.get(name), missing_reason=reason, detail=detail) for name in names]
