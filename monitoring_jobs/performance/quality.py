"""Every quality figure of one scope of labeled rows (the day, or one segment), each with its interval."""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitoring_jobs.config import MonitorConfig, Task
from monitoring_jobs.performance.intervals import Figure, Interval, bootstrap, quantile_interval, wilson
from monitoring_jobs.performance.measures import (
    CONFUSION_COUNTS,
    RESIDUAL_QUANTILES,
    BinarySample,
    MulticlassSample,
    RegressionSample,
    unit_weights,
)

Figures = dict[tuple[str, str], Figure]
"""Figures by (metric, feature); ``feature`` is "" except for per-class figures, where it names the class."""


def quality_figures(y_true: pd.Series, output: pd.Series, monitor: MonitorConfig, scope: str,
                    probabilities: pd.DataFrame | None = None) -> Figures:
    """The task's figures on aligned, non-null labels and outputs; ``scope`` seeds the bootstrap."""
    if monitor.task is Task.BINARY_CLASSIFICATION:
        return _binary(y_true, output, monitor, scope)
    if monitor.task is Task.MULTICLASS_CLASSIFICATION:
        return _multiclass(y_true, output, monitor, scope, probabilities)
    return _regression(y_true, output, monitor, scope)


def _with_intervals(point: dict[str, np.ndarray], intervals: dict[str, Interval | None]) -> Figures:
    return {(name, ""): Figure(float(values[0]), intervals.get(name)) for name, values in point.items()}


def _binary(y_true: pd.Series, output: pd.Series, monitor: MonitorConfig, scope: str) -> Figures:
    settings = monitor.performance
    sample = BinarySample(y_true, output.to_numpy(dtype=np.float64), threshold=settings.decision_threshold,
                          positive_label=settings.positive_label, bins=settings.calibration_bins)
    point = sample.point
    tp, fp, tn, fn = (float(point[name][0]) for name in CONFUSION_COUNTS)
    level = settings.confidence_level
    intervals = {**bootstrap(sample, settings, scope),
                 "accuracy": wilson(tp + tn, sample.size, level), "precision": wilson(tp, tp + fp, level),
                 "recall": wilson(tp, tp + fn, level), **dict.fromkeys(CONFUSION_COUNTS)}
    return _with_intervals(point, intervals)


def _multiclass(y_true: pd.Series, output: pd.Series, monitor: MonitorConfig, scope: str,
                probabilities: pd.DataFrame | None) -> Figures:
    settings = monitor.performance
    columns = settings.class_probability_columns
    sample = MulticlassSample(y_true, output, None if probabilities is None else probabilities.to_numpy(np.float64),
                              tuple(columns))
    point = sample.point
    level = settings.confidence_level
    confusion = sample.confusion(unit_weights(sample.size))[0]
    hits, labelled, predicted = np.diagonal(confusion), confusion.sum(axis=1), confusion.sum(axis=0)
    intervals = {**bootstrap(sample, settings, scope),
                 "accuracy": wilson(hits.sum(), sample.size, level)}
    figures = _with_intervals(point, intervals)
    for index, name in enumerate(sample.classes):
        figures["class_precision", str(name)] = Figure(
            hits[index] / predicted[index] if predicted[index] else float("nan"),
            wilson(hits[index], predicted[index], level))
        figures["class_recall", str(name)] = Figure(
            hits[index] / labelled[index] if labelled[index] else float("nan"),
            wilson(hits[index], labelled[index], level))
    return figures


def _regression(y_true: pd.Series, output: pd.Series, monitor: MonitorConfig, scope: str) -> Figures:
    settings = monitor.performance
    sample = RegressionSample(y_true.to_numpy(dtype=np.float64), output.to_numpy(dtype=np.float64))
    figures = _with_intervals(sample.point,
                              bootstrap(sample, settings, scope))
    for name, value in sample.residual_quantiles().items():
        figures[name, ""] = Figure(value, quantile_interval(sample.residuals, RESIDUAL_QUANTILES[name],
                                                            settings.confidence_level))
    return figures
