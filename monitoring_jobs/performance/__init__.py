"""Model performance once delayed labels arrive: label join, metric formulas with confidence intervals,
segments and their fairness view, judged metrics, and the performance estimated without labels (CBPE)."""

from monitoring_jobs.performance.compute import compute_performance
from monitoring_jobs.performance.estimation import Calibration, fit_calibration
from monitoring_jobs.performance.labels import LabelJoin, LabelJoinError, join_labels
from monitoring_jobs.performance.measures import classification_metrics, multiclass_metrics, regression_metrics

__all__ = [
    "Calibration",
    "LabelJoin",
    "LabelJoinError",
    "classification_metrics",
    "compute_performance",
    "fit_calibration",
    "join_labels",
    "multiclass_metrics",
    "regression_metrics",
]
