"""Per-segment figures and the fairness view: how the worst segment does, and how far it trails the best.

Every value of each ``columns.segments`` column is a scope of its own. Its figures are reported (INFO,
with intervals) once it has ``performance.segment_min_support`` labeled rows, and MISSING with the reason
below that. Among the supported values, ``worst_segment_<m>`` is the worst one's figure for the key metric
``m`` (``performance.segment_metric``) and ``segment_gap_<m>`` the distance from the best one; both are
judged by ``performance.segment_thresholds`` through their intervals, like every other figure. The worst
of several noisy segments is biased towards looking bad; requiring interval-wide evidence is what keeps
a small segment from paging on noise.
"""

from __future__ import annotations

import pandas as pd

from monitoring_jobs.config import LOWER_IS_BETTER, MonitorConfig
from monitoring_jobs.metrics import MISSING_VALUE_LABEL, Metric, Status
from monitoring_jobs.performance.intervals import Figure, difference_interval, judge_figure
from monitoring_jobs.performance.scope import AREA, Evaluation, Minimum, Scope

NAN = float("nan")


def segment_metrics(frame: pd.DataFrame, scope: Scope, monitor: MonitorConfig) -> list[Metric]:
    """Figures of every segment value, then the worst segment and the gap, per segment column."""
    settings = monitor.performance
    minimum = Minimum(settings.segment_min_support, "segment_min_support")
    metrics = []
    for column in monitor.columns.segments:
        if column not in frame.columns:
            metrics.append(Metric(AREA, "labeled_rows", NAN, segment=column, status=Status.MISSING,
                                  detail=f"segment column '{column}' is not in the inference data"))
            continue
        supported = []
        groups = frame.groupby(column, dropna=False, sort=False).indices
        for value in sorted(groups, key=str):
            name = MISSING_VALUE_LABEL if pd.isna(value) else str(value)
            evaluation = scope.evaluate(frame.iloc[groups[value]], f"{column}={name}")
            metrics += scope.metrics(evaluation, {}, minimum)
            if evaluation.labeled >= minimum.rows:
                supported.append(evaluation)
        metrics += fairness_metrics(column, supported, monitor)
    return metrics


def fairness_metrics(column: str, evaluations: list[Evaluation], monitor: MonitorConfig) -> list[Metric]:
    """``worst_segment_<m>`` and ``segment_gap_<m>`` (best minus worst, as a distance) for one segment column."""
    settings = monitor.performance
    metric = settings.fairness_metric(monitor.task)
    worst_name, gap_name = f"worst_segment_{metric}", f"segment_gap_{metric}"
    ranked = [e for e in evaluations if e.figures[metric, ""].value == e.figures[metric, ""].value]
    if len(ranked) < 2:
        reason = (f"needs two values of '{column}' with at least segment_min_support={settings.segment_min_support}"
                  f" labeled rows and a defined {metric}; {len(ranked)} qualify")
        return [Metric(AREA, name, NAN, segment=column, status=Status.MISSING, detail=reason)
                for name in (worst_name, gap_name)]
    lower_is_better = metric in LOWER_IS_BETTER
    ranked.sort(key=lambda e: e.figures[metric, ""].value, reverse=not lower_is_better)  # best first
    best, worst = ranked[0], ranked[-1]
    best_figure, worst_figure = best.figures[metric, ""], worst.figures[metric, ""]
    high, low = (worst_figure, best_figure) if lower_is_better else (best_figure, worst_figure)
    gap = Figure(high.value - low.value, difference_interval(high, low))
    detail = (f"worst {worst.segment}: {worst_figure.value:.4g} on {worst.labeled} labeled rows; "
              f"best {best.segment}: {best_figure.value:.4g} on {best.labeled}; "
              f"{len(ranked)} values compared")
    level, bounds = settings.confidence_level, settings.segment_thresholds
    return [judge_figure(AREA, worst_name, worst_figure, bounds.get(worst_name), level, segment=column,
                         detail=detail),
            judge_figure(AREA, gap_name, gap, bounds.get(gap_name), level, segment=column, detail=detail)]
