"""Daily series of whole-day figures read from long metric rows, and the confidence bands drawn around them.

Shared by the model-day report (the last 30 days) and the per-model page (every day on record). Rows have
the metric store's long format (``partition_date, area, metric, feature, segment, value``); only whole-day
rows (no feature, no segment) make a trend.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

WILSON_Z = 1.959963984540054  # two-sided 95 %
SHARES_OF_LABELED_ROWS = {"accuracy": ("performance", "labeled_rows")}
"""Metrics that are a plain share of a counted set of rows (area and metric of the count): binomial, so
a Wilson interval fits them. Precision, recall and F1 divide by counts the store does not keep, ROC AUC
and the regression errors are not shares at all; they get a band only when their step reports
``<metric>_lower``/``<metric>_upper``."""


def whole_day_values(rows: pd.DataFrame, area: str, metric: str, column: str = "value") -> dict[dt.date, float]:
    """Finite whole-day values of one metric by day, oldest first; a later row for the same day wins.
    ``column`` picks the figure (``value``) or an end of its interval (``value_lower``, ``value_upper``)."""
    if column not in rows.columns:
        return {}
    picked = rows[(rows["area"] == area) & (rows["metric"] == metric) & (rows["feature"] == "")
                  & (rows["segment"] == "")]
    values = pd.to_numeric(picked[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(values)
    by_day = dict(zip(picked["partition_date"].to_numpy()[finite], values[finite].tolist()))
    return dict(sorted(by_day.items()))


def wilson_interval(share: float, n: float, z: float = WILSON_Z) -> tuple[float, float]:
    """The Wilson score interval of a binomial share observed on ``n`` trials (NaN bounds when n < 1)."""
    if not n >= 1 or not 0 <= share <= 1:
        return math.nan, math.nan
    z2 = z * z
    centre = (share + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(share * (1 - share) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Band:
    """Lower and upper bounds by day, and how they were obtained (shown under the chart)."""

    lower: dict[dt.date, float]
    upper: dict[dt.date, float]
    source: str

    def bounds_for(self, dates: list[dt.date]) -> tuple[list[float], list[float]]:
        """Bounds aligned with ``dates``; NaN (no band drawn) on days without them."""
        return ([self.lower.get(d, math.nan) for d in dates], [self.upper.get(d, math.nan) for d in dates])


def confidence_band(rows: pd.DataFrame, area: str, metric: str) -> Band | None:
    """The interval stored with the metric (``value_lower``/``value_upper``, or ``<metric>_lower``/``_upper``
    rows), else a Wilson band for shares of labeled rows, else None."""
    for lower, upper in ((whole_day_values(rows, area, metric, "value_lower"),
                          whole_day_values(rows, area, metric, "value_upper")),
                         (whole_day_values(rows, area, f"{metric}_lower"),
                          whole_day_values(rows, area, f"{metric}_upper"))):
        if lower.keys() & upper.keys():
            return Band(lower, upper, "interval reported with the metric")
    if metric not in SHARES_OF_LABELED_ROWS:
        return None
    values = whole_day_values(rows, area, metric)
    counts = whole_day_values(rows, *SHARES_OF_LABELED_ROWS[metric])
    intervals = {day: wilson_interval(values[day], counts[day]) for day in values.keys() & counts.keys()
                 if counts[day] >= 1}
    if not intervals:
        return None
    return Band({d: low for d, (low, _) in intervals.items()}, {d: high for d, (_, high) in intervals.items()},
                "95% Wilson interval from the day's labeled rows")
