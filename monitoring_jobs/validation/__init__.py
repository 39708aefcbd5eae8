"""Data validation of each model-day with Great Expectations Core 1.x (see ``suite`` for the checks,
``profile`` for the rules profiled from a reference)."""

from monitoring_jobs.validation.profile import ProfiledSuite, dtype_kind, load_suite, profile_reference, schema_of
from monitoring_jobs.validation.suite import (
    CHECK_NAMES,
    ValidationContext,
    check_severities,
    outcomes_to_metrics,
    validate_day,
)

__all__ = ["CHECK_NAMES", "ProfiledSuite", "ValidationContext", "check_severities", "dtype_kind", "load_suite",
           "outcomes_to_metrics", "profile_reference", "schema_of", "validate_day"]
