"""The one shape every computed figure takes on its way to the metric store, the report and the checks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from monitoring_jobs.config import Bound, Severity

MISSING_VALUE_LABEL = "(missing)"
"""Stands for a null value in a segment name such as ``status=(missing)``."""


class Status(StrEnum):
    """Judgement of one figure. INFO has no threshold; MISSING means too little data to judge."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    INFO = "info"
    MISSING = "missing"


@dataclass(frozen=True)
class Metric:
    """One figure for one model-day, in long format.

    ``feature`` names the column it is about (drift) and ``segment`` the slice of rows
    (``"region=north"``); both are empty for whole-day figures. ``threshold`` is the bound
    that was applied, if any. ``value`` is NaN when it could not be computed. ``lower``/``upper``
    bound its confidence interval when it has one (a performance figure from few labels).
    """

    area: str  # "drift" | "performance" | "operations" | "validation"
    metric: str
    value: float
    feature: str = ""
    segment: str = ""
    threshold: float | None = None
    status: Status = Status.INFO
    detail: str = ""
    lower: float | None = None
    upper: float | None = None

    @property
    def failed(self) -> bool:
        return self.status in (Status.WARN, Status.FAIL)

    def as_row(self) -> dict:
        return {
            "metric": self.metric,
            "feature": self.feature,
            "segment": self.segment,
            "value": _finite_or_none(self.value),
            "value_lower": _finite_or_none(self.lower),
            "value_upper": _finite_or_none(self.upper),
            "threshold": self.threshold,
            "status": self.status.value,
            "detail": self.detail,
        }


def _finite_or_none(value: float | None) -> float | None:
    """Databases get NULL for a figure that could not be computed (NaN, inf) or does not exist."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class CheckOutcome:
    """The verdict of one named check on one model-day (a Dagster asset check, a report row, an alert).

    ``severity`` is "WARN" or "ERROR"; ``examples`` are a few offending values as plain (unescaped)
    strings, escaped by whoever renders them.
    """

    name: str
    passed: bool
    severity: str
    description: str
    metadata: dict = field(default_factory=dict)
    examples: tuple[str, ...] = ()


def failure_status(severity: Severity) -> Status:
    """Severity.WARN -> Status.WARN, Severity.ERROR -> Status.FAIL."""
    return Status.FAIL if severity is Severity.ERROR else Status.WARN


def describe_bound(bound: Bound) -> str:
    if bound.min is not None and bound.max is not None:
        return f"allowed {bound.min:g} to {bound.max:g}"
    return f"allowed >= {bound.min:g}" if bound.min is not None else f"allowed <= {bound.max:g}"


def judged_metric(area: str, metric: str, value: float, bound: Bound | None, *, feature: str = "",
                  segment: str = "", detail: str = "", missing_reason: str = "could not be computed") -> Metric:
    """A Metric judged against ``bound``: NaN -> MISSING, no bound -> INFO, outside -> WARN/FAIL, inside -> OK.

    ``threshold`` is the end of the bound that was crossed, else the nearer end.
    """
    value = float(value)
    if math.isnan(value):
        return Metric(area, metric, value, feature=feature, segment=segment, status=Status.MISSING,
                      detail=join_details(missing_reason, detail))
    if bound is None:
        return Metric(area, metric, value, feature=feature, segment=segment, detail=detail)
    ends = [end for end in (bound.min, bound.max) if end is not None]
    if bound.min is not None and value < bound.min:
        threshold = bound.min
    elif bound.max is not None and value > bound.max:
        threshold = bound.max
    else:
        threshold = min(ends, key=lambda end: abs(value - end))
    status = failure_status(bound.severity) if bound.violated_by(value) else Status.OK
    return Metric(area, metric, value, feature=feature, segment=segment, threshold=threshold, status=status,
                  detail=join_details(describe_bound(bound), detail))


def join_details(*parts: str) -> str:
    return "; ".join(part for part in parts if part)
