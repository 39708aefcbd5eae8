"""Data validation of each model-day with Great Expectations Core 1.x (see ``suite`` for the checks)."""

from monitoring_jobs.validation.suite import CHECK_NAMES, outcomes_to_metrics, validate_day

__all__ = ["CHECK_NAMES", "outcomes_to_metrics", "validate_day"]
