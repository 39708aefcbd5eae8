"""Performance metrics of one model-day: label join, whole-day figures judged by their intervals, segments
and the fairness view, and (binary classifiers) the performance estimated without labels."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from monitoring_jobs.blas import single_threaded_blas
from monitoring_jobs.config import MonitorConfig, Task, performance_metric_names
from monitoring_jobs.metrics import Metric, Status
from monitoring_jobs.performance.estimation import Calibration, estimated_performance
from monitoring_jobs.performance.labels import LABELED_AT, LabelJoin, LabelJoinError, join_labels
from monitoring_jobs.performance.scope import AREA, Minimum, Scope
from monitoring_jobs.performance.segments import segment_metrics

NAN = float("nan")


@single_threaded_blas()
def compute_performance(inference: pd.DataFrame, labels: pd.DataFrame | LabelJoin | None, monitor: MonitorConfig,
                        calibration: Calibration | str = "no reference to calibrate on was given") -> list[Metric]:
    """Join the labels, then report coverage and the task's figures for the day and for every segment value.

    Only rows with both a label and a model output count. ``performance.thresholds`` judge the whole day
    through each figure's confidence interval (see ``PerformanceConfig``); a day with fewer than
    ``performance.min_labels`` labeled rows gets its figures as MISSING (values still shown). The day's
    ``label_coverage`` is judged whatever the number of labels, because a low coverage is what its bound is
    meant to catch. Segment values are reported, and compared in the fairness view (``segments.py``).
    ``calibration`` (``fit_calibration`` on a labeled reference) turns scores into probabilities for the
    performance of a binary classifier estimated without labels, or says why there is none. ``labels`` may be
    their join with the same rows already made (``LabelJoin``, see ``LabelJoin.onto``).
    """
    try:
        joined = labels.onto(inference) if isinstance(labels, LabelJoin) else join_labels(inference, labels, monitor)
    except LabelJoinError as exc:
        names = ("label_coverage", "labeled_rows", *performance_metric_names(monitor.task))
        return [Metric(AREA, name, NAN, status=Status.MISSING, detail=str(exc)) for name in names]

    settings = monitor.performance
    needed = [joined.label_column, joined.output_column,
              *(column for column in (*monitor.columns.segments, *settings.class_probability_columns.values())
                if column in joined.frame.columns)]
    frame, notes = _numeric_where_needed(joined.frame[list(dict.fromkeys(needed))], joined.label_column,
                                         joined.output_column, monitor.task)
    scope = Scope(joined.label_column, joined.output_column, monitor, notes)
    # The segments' figures are made beside the day's and the estimate (they read the same rows, share nothing
    # and draw their resamples from generators of their own), on the core the other stages leave at the end of a
    # day: a 5M-row day's figures 2.5 s one after another.
    with ThreadPoolExecutor(max_workers=1) as pool:
        segments = pool.submit(contextvars.copy_context().run, segment_metrics, frame, scope, monitor)
        day = scope.evaluate(frame, "")
        metrics = scope.metrics(day, settings.thresholds, Minimum(settings.min_labels, "min_labels"))
        metrics += [
            Metric(AREA, "duplicate_labels", float(joined.duplicate_labels),
                   detail=f"label rows superseded by a later label of the same request (latest {LABELED_AT} wins)"),
            Metric(AREA, "null_labels", float(joined.null_labels),
                   detail="label rows without a request id or a label value, ignored"),
        ]
        estimated = (estimated_performance(frame, calibration, monitor, day.figures, day.labeled)
                     if monitor.task is Task.BINARY_CLASSIFICATION and settings.estimate_without_labels else [])
        return metrics + segments.result() + estimated


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
