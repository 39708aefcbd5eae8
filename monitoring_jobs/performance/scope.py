"""One scope of the joined rows (the whole day or one segment value): its coverage, figures and metrics."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from monitoring_jobs.config import Bound, MonitorConfig, Task
from monitoring_jobs.metrics import Metric, Status, join_details, judged_metric
from monitoring_jobs.performance.intervals import judge_figure
from monitoring_jobs.performance.labels import label_coverage
from monitoring_jobs.performance.measures import CONFUSION_COUNTS
from monitoring_jobs.performance.quality import Figures, quality_figures

AREA = "performance"
NAN = float("nan")

UNDEFINED = {
    "roc_auc": "only one class among the labels: ROC AUC is undefined",
    "pr_auc": "no positive labels: PR AUC is undefined",
    "precision": "no positive predictions: precision is undefined",
    "recall": "no positive labels: recall is undefined",
    "f1": "no positive labels or predictions: F1 is undefined",
    "r2": "all labels are equal: R2 is undefined",
    "class_precision": "the class is never predicted: its precision is undefined",
    "class_recall": "the class is never a label: its recall is undefined",
    "log_loss": ("log loss needs every row's probability of its labelled class: list a column per class under "
                 "performance.class_probability_columns"),
}
MACRO_AVERAGED = ("precision", "recall", "f1")


@dataclass(frozen=True)
class Evaluation:
    """The figures of one scope; ``labeled`` rows have both a label and a model output."""

    segment: str
    predicted: int
    labeled: int
    coverage: float
    figures: Figures


@dataclass(frozen=True)
class Minimum:
    """Fewer labeled rows than ``rows`` leave a scope's figures unjudged (MISSING); ``setting`` names the option."""

    rows: int
    setting: str


class Scope:
    """Computes and judges the figures of any subset of the joined rows."""

    def __init__(self, label: str, output: str, monitor: MonitorConfig, notes: str) -> None:
        self.label, self.output, self.monitor, self.notes = label, output, monitor, notes

    def evaluate(self, rows: pd.DataFrame, segment: str) -> Evaluation:
        predicted, labeled, coverage = label_coverage(rows[self.output], rows[self.label])
        evaluable = rows[rows[self.output].notna() & rows[self.label].notna()]
        probability_columns = list(self.monitor.performance.class_probability_columns.values())
        probabilities = (evaluable[probability_columns]
                         if probability_columns and set(probability_columns) <= set(rows.columns) else None)
        figures = quality_figures(evaluable[self.label], evaluable[self.output], self.monitor, segment,
                                  probabilities)
        return Evaluation(segment, predicted, labeled, coverage, figures)

    def metrics(self, evaluation: Evaluation, bounds: dict[str, Bound], minimum: Minimum) -> list[Metric]:
        """Coverage, labeled rows and every figure; ``bounds`` judge the figures of at least ``minimum`` rows."""
        segment, labeled = evaluation.segment, evaluation.labeled
        metrics = [
            judged_metric(AREA, "label_coverage", evaluation.coverage, bounds.get("label_coverage"),
                          segment=segment, detail=f"{labeled} of {evaluation.predicted} rows with a prediction "
                                                  "have a label", missing_reason="no rows with a prediction"),
            Metric(AREA, "labeled_rows", float(labeled), segment=segment, detail=self.notes),
        ]
        level = self.monitor.performance.confidence_level
        for (name, feature), figure in evaluation.figures.items():
            interval = figure.interval
            if name in CONFUSION_COUNTS:
                metrics.append(Metric(AREA, name, figure.value, segment=segment,
                                      detail=f"at decision_threshold={self.monitor.performance.decision_threshold:g}"))
                continue
            reason = "no labeled rows" if labeled == 0 else UNDEFINED.get(name, "could not be computed")
            detail = self._note(name)
            if labeled < minimum.rows:
                unjudged = f"only {labeled} labeled rows, fewer than {minimum.setting}={minimum.rows}: not judged"
                metrics.append(Metric(AREA, name, figure.value, feature=feature, segment=segment,
                                      status=Status.MISSING, lower=interval.lower if interval else None,
                                      upper=interval.upper if interval else None,
                                      detail=join_details(unjudged, detail, reason if figure.value != figure.value
                                                          else "")))
                continue
            metrics.append(judge_figure(AREA, name, figure, bounds.get(name) if not feature else None, level,
                                        segment=segment, feature=feature, detail=detail, missing_reason=reason))
        computed = {name for name, _ in evaluation.figures}
        for name in bounds.keys() - computed - {"label_coverage"}:
            if name.startswith("estimated_"):
                continue  # judged by the estimation
            metrics.append(Metric(AREA, name, NAN, segment=segment, status=Status.MISSING,
                                  detail=f"not computed for a {self.monitor.task.value} model"))
        return metrics

    def _note(self, name: str) -> str:
        if self.monitor.task is Task.MULTICLASS_CLASSIFICATION:
            if name in MACRO_AVERAGED:
                return "macro average over classes"
            if name == "f1_weighted":
                return "F1 averaged over classes weighted by their labeled rows"
        if name == "ece":
            return f"{self.monitor.performance.calibration_bins} equal-width score bins"
        return ""
