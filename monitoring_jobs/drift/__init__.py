"""Distribution drift of features and model output against a reference."""

from monitoring_jobs.drift.engine import DriftReport, FeatureDrift, choose_method, compute_drift

__all__ = ["DriftReport", "FeatureDrift", "choose_method", "compute_drift"]
