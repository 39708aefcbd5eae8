"""Performance metrics of one model-day, for the whole day and per segment, judged against the config."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from monitoring_jobs.config import CLASSIFICATION_METRICS, REGRESSION_METRICS, Bound, MonitorConfig, Task
from monitoring_jobs.metrics import MISSING_VALUE_LABEL, Metric, Status, judged_metric
from monitoring_jobs.performance.labels import LABELED_AT, LabelJoinError, join_labels, label_coverage
from monitoring_jobs.performance.measures import classification_metrics, multiclass_metrics, regression_metrics

AREA = "performance"
MULTICLASS_METRICS = ("accuracy", "precision", "recall", "f1")
EXAMPLES_IN_DETAIL = 5

NAN = float("nan")

_UNDEFINED = {
    "roc_auc": "only one class among the labels: ROC AUC is undefined",
    "precision": "no positive predictions: precision is undefined",
    "recall": "no positive labels: recall is undefined",
    "f1": "no positive labels or predictions: F1 is undefined",
    "r2": "all labels are equal: R2 is undefined",
}


def compute_performance(inference: pd.DataFrame, labels: pd.DataFrame | None, monitor: MonitorConfig) -> list[Metric]:
    """Join the labels, then report coverage and the task's metrics for the day and for every segment value.

    Only rows with both a label and a model output count. The thresholds judge the whole day;
    per-segment figures are reported (INFO) but not judged, since a small segment's figures swing
    too much to alert on with whole-day bounds. A scope with fewer than ``performance.min_labels``
    labeled rows gets its metrics as MISSING (values still shown); the day's ``label_coverage`` is
    judged whatever the number of labels, because a low coverage is what its bound is meant to catch.
    """
    try:
        joined = join_labels(inference, labels, monitor)
    except LabelJoinError as exc:
        names = ("label_coverage", "labeled_rows", "unknown_label_ids", *_task_metric_names(monitor.task))
        return [Metric(AREA, name, NAN, status=Status.MISSING, detail=str(exc)) for name in names]

    needed = [joined.label_column, joined.output_column,
              *(column for column in monitor.columns.segments if column in joined.frame.columns)]
    frame, notes = _numeric_where_needed(joined.frame[list(dict.fromkeys(needed))], joined.label_column,
                                         joined.output_column, monitor.task)
    scope = _Scope(joined.label_column, joined.output_column, monitor, notes)
    examples = ", ".join(joined.unknown_label_ids[:EXAMPLES_IN_DETAIL])
    metrics = scope.metrics(frame, segment="")
    metrics += [
        Metric(AREA, "unknown_label_ids", float(len(joined.unknown_label_ids)),
               detail="labels whose request id matches no row of this day (they may belong to another day)"
                      + (f"; e.g. {examples}" if examples else "")),
        Metric(AREA, "duplicate_labels", float(joined.duplicate_labels),
               detail=f"label rows superseded by a later label of the same request (latest {LABELED_AT} wins)"),
        Metric(AREA, "null_labels", float(joined.null_labels),
               detail="label rows without a request id or a label value, ignored"),
    ]
    for column in monitor.columns.segments:
        if column not in frame.columns:
            metrics.append(Metric(AREA, "labeled_rows", NAN, segment=column, status=Status.MISSING,
                                  detail=f"segment column '{column}' is not in the inference data"))
            continue
        groups = frame.groupby(column, dropna=False, sort=False).indices
        for value in sorted(groups, key=str):
            name = MISSING_VALUE_LABEL if pd.isna(value) else str(value)
            metrics += scope.metrics(frame.iloc[groups[value]], segment=f"{column}={name}")
    return metrics


class _Scope:
    """Computes and judges the metrics of any subset of the joined rows."""

    def __init__(self, label: str, output: str, monitor: MonitorConfig, notes: str) -> None:
        self.label, self.output, self.monitor, self.notes = label, output, monitor, notes
        self.bounds = monitor.performance.thresholds

    def metrics(self, rows: pd.DataFrame, segment: str) -> list[Metric]:
        bounds = {} if segment else self.bounds
        predicted, labeled, coverage = label_coverage(rows[self.output], rows[self.label])
        metrics = [
            judged_metric(AREA, "label_coverage", coverage, bounds.get("label_coverage"), segment=segment,
                          detail=f"{labeled} of {predicted} rows with a prediction have a label",
                          missing_reason="no rows with a prediction"),
            Metric(AREA, "labeled_rows", float(labeled), segment=segment, detail=self.notes),
        ]
        evaluable = rows[rows[self.output].notna() & rows[self.label].notna()]
        values = self._values(evaluable[self.label], evaluable[self.output])
        for name, value in values.items():
            metrics.append(self._judge(name, value, labeled, segment, bounds.get(name)))
        for name in bounds.keys() - values.keys() - {"label_coverage"}:
            metrics.append(Metric(AREA, name, NAN, segment=segment, status=Status.MISSING,
                                  detail=f"not computed for a {self.monitor.task.value} model"))
        return metrics

    def _values(self, y_true: pd.Series, output: pd.Series) -> dict[str, float]:
        task = self.monitor.task
        if task is Task.BINARY_CLASSIFICATION:
            settings = self.monitor.performance
            return classification_metrics(y_true, output.to_numpy(dtype=np.float64),
                                          threshold=settings.decision_threshold,
                                          positive_label=settings.positive_label)
        if task is Task.MULTICLASS_CLASSIFICATION:
            return multiclass_metrics(y_true, output)
        return regression_metrics(y_true.to_numpy(dtype=np.float64), output.to_numpy(dtype=np.float64))

    def _judge(self, name: str, value: float, labeled: int, segment: str, bound: Bound | None) -> Metric:
        reason = "no labeled rows" if labeled == 0 else _UNDEFINED.get(name, "could not be computed")
        detail = "macro average over classes" if self.monitor.task is Task.MULTICLASS_CLASSIFICATION and \
            name != "accuracy" else ""
        min_labels = self.monitor.performance.min_labels
        if labeled < min_labels:
            parts = [f"only {labeled} labeled rows, fewer than min_labels={min_labels}: not judged", detail]
            if math.isnan(value):
                parts.append(reason)
            return Metric(AREA, name, value, segment=segment, status=Status.MISSING,
                          detail="; ".join(part for part in parts if part))
        return judged_metric(AREA, name, value, bound, segment=segment, detail=detail,
                             missing_reason=reason)


def _numeric_where_needed(frame: pd.DataFrame, label: str, output: str, task: Task) -> tuple[pd.DataFrame, str]:
    """Scores and regression outputs/labels as numbers; values that are not numbers count as absent (noted)."""
    if task is Task.MULTICLASS_CLASSIFICATION:
        return frame, ""
    columns = [output] + ([label] if task is Task.REGRESSION else [])
    converted, notes = {}, []
    for column in columns:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        invalid = int(numbers.isna().sum() - frame[column].isna().sum())
        if invalid:
            notes.append(f"{invalid} values of '{column}' are not numbers and were treated as absent")
        converted[column] = numbers.astype(np.float64)
    return frame.assign(**converted), "; ".join(notes)


def _task_metric_names(task: Task) -> tuple[str, ...]:
    if task is Task.BINARY_CLASSIFICATION:
        return CLASSIFICATION_METRICS
    return MULTICLASS_METRICS if task is Task.MULTICLASS_CLASSIFICATION else REGRESSION_METRICS
