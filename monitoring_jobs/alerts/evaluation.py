"""What the alert sensor hands over: one asset-check evaluation, passed or failed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from monitoring_jobs.config import Severity

# WARN < ERROR: a route with min_severity ERROR hears only of ERROR checks.
SEVERITY_RANK = {Severity.WARN.value: 0, Severity.ERROR.value: 1}

# Names are stored in VARCHAR(255) columns; longer values would be accepted by SQLite but rejected
# by PostgreSQL, so they are refused here, the same way on every database.
MAX_NAME_LENGTH = 255


def severity_name(severity: str | Severity) -> str:
    """ "WARN" or "ERROR" from either spelling; anything else is a ValueError naming the choices."""
    name = severity.value if isinstance(severity, Severity) else severity
    if name not in SEVERITY_RANK:
        raise ValueError(f"severity must be one of {', '.join(SEVERITY_RANK)}, got {severity!r}")
    return name


def parse_day(value: str, what: str) -> dt.date:
    """A partition day written exactly YYYY-MM-DD (the key of incidents and messages)."""
    try:
        parsed = dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.isoformat() != value:
        raise ValueError(f"{what} must be a day written YYYY-MM-DD, got {value!r}")
    return parsed


@dataclass(frozen=True)
class CheckEvaluation:
    """One evaluation record of one asset check of one model-day, as read from the Dagster instance.

    ``record_id`` is the event-log id: it only grows, which is what makes ingesting the same records
    twice a no-op. ``severity`` is the check's severity ("WARN"/"ERROR"; a ``Severity`` is accepted),
    also on a passing evaluation. ``evaluated_at`` must be timezone-aware.
    """

    model: str
    check: str
    partition_date: str
    passed: bool
    severity: str
    description: str
    report_path: str | None
    run_id: str
    record_id: int
    evaluated_at: dt.datetime

    def __post_init__(self) -> None:
        for field in ("model", "check"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"CheckEvaluation.{field} must be a non-empty string, got {value!r}")
            if len(value) > MAX_NAME_LENGTH or "\x00" in value:
                raise ValueError(f"CheckEvaluation.{field} must be at most {MAX_NAME_LENGTH} characters "
                                 f"without NUL, got {value[:80]!r}")
        parse_day(self.partition_date, "CheckEvaluation.partition_date")
        if not isinstance(self.passed, bool):
            raise ValueError(f"CheckEvaluation.passed must be True or False, got {self.passed!r}")
        try:
            object.__setattr__(self, "severity", severity_name(self.severity))
        except ValueError as exc:
            raise ValueError(f"CheckEvaluation.{exc}") from None
        for field in ("description", "run_id"):
            if not isinstance(getattr(self, field), str):
                raise ValueError(f"CheckEvaluation.{field} must be a string, got {type(getattr(self, field)).__name__}")
        if self.report_path is not None and not isinstance(self.report_path, str):
            raise ValueError(f"CheckEvaluation.report_path must be a string or None, got {self.report_path!r}")
        if isinstance(self.record_id, bool) or not isinstance(self.record_id, int) or self.record_id < 0:
            raise ValueError(f"CheckEvaluation.record_id must be a non-negative integer, got {self.record_id!r}")
        if not isinstance(self.evaluated_at, dt.datetime) or self.evaluated_at.utcoffset() is None:
            raise ValueError(f"CheckEvaluation.evaluated_at must be a timezone-aware datetime, "
                             f"got {self.evaluated_at!r}")

    @property
    def day(self) -> dt.date:
        return dt.date.fromisoformat(self.partition_date)
