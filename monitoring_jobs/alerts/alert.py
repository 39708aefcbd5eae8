"""The alert itself: one failed check of one model on one partition day, as the sensor hands it over."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from monitoring_jobs.config import Severity

# WARN < ERROR: a route with min_severity ERROR receives only ERROR alerts.
SEVERITY_RANK = {Severity.WARN.value: 0, Severity.ERROR.value: 1}

# Key fields are stored in VARCHAR(255) ledger columns; longer values would be accepted by SQLite
# but rejected by PostgreSQL, so they are refused here, the same way on every database.
MAX_KEY_LENGTH = 255


class DeliveryError(Exception):
    """One channel could not deliver one alert; the message names the channel, the cause and the remedy.

    ``channel_unavailable`` is true when the channel itself is down (connection refused, timeout,
    5xx, disk error) rather than rejecting this one alert, so the dispatcher stops trying it for
    the rest of the batch instead of waiting out a timeout per alert.
    """

    def __init__(self, message: str, *, channel_unavailable: bool = False) -> None:
        super().__init__(message)
        self.channel_unavailable = channel_unavailable


@dataclass(frozen=True)
class Alert:
    """A failed asset-check evaluation. ``severity`` is "WARN" or "ERROR" (a ``Severity`` is accepted too)."""

    model: str
    check: str
    partition_date: str
    severity: str
    description: str
    report_path: str | None = None
    run_id: str | None = None

    def __post_init__(self) -> None:
        for field in ("model", "check"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"Alert.{field} must be a non-empty string, got {value!r}")
            if len(value) > MAX_KEY_LENGTH or "\x00" in value:
                raise ValueError(f"Alert.{field} must be at most {MAX_KEY_LENGTH} characters without NUL, "
                                 f"got {value[:80]!r}")
        try:
            parsed = dt.date.fromisoformat(self.partition_date)
        except (TypeError, ValueError):
            parsed = None
        if parsed is None or parsed.isoformat() != self.partition_date:
            raise ValueError(f"Alert.partition_date must be a day written YYYY-MM-DD, got {self.partition_date!r}")
        severity = self.severity.value if isinstance(self.severity, Severity) else self.severity
        if severity not in SEVERITY_RANK:
            raise ValueError(f"Alert.severity must be one of {', '.join(SEVERITY_RANK)}, got {self.severity!r}")
        object.__setattr__(self, "severity", severity)
        if not isinstance(self.description, str):
            raise ValueError(f"Alert.description must be a string, got {type(self.description).__name__}")

    def dedup_key(self) -> tuple[str, str, str]:
        """What makes two alerts the same: the sensor may hand over the same failure on every evaluation."""
        return (self.model, self.check, self.partition_date)
