"""Distribution drift of features, model output and label against a reference, one by one and together."""

from monitoring_jobs.drift.engine import DriftLabels, DriftReport, FeatureDrift, choose_method, compute_drift

__all__ = ["DriftLabels", "DriftReport", "FeatureDrift", "choose_method", "compute_drift"]
