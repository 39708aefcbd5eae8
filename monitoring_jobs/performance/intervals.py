"""Confidence intervals of performance figures, and judging a figure by its interval rather than its point.

Three kinds, each the usual one for its figure:

- Wilson score interval for a share of counted rows (accuracy, precision, recall): analytic, and well
  behaved near 0 and 1 and on few rows, where the normal approximation is not.
- Distribution-free interval of a quantile from two order statistics (residual quantiles): the ranks come
  from the binomial distribution, so it holds whatever the residuals' distribution.
- Percentile bootstrap for everything else (ROC AUC, F1, log loss, ...): seeded by the config's
  ``bootstrap_seed`` and the scope, so a re-run gives the same bounds, and vectorised: each chunk of
  resamples is a matrix of draw counts that the measures in ``measures.py`` take directly.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import special

from monitoring_jobs.config import Bound, PerformanceConfig
from monitoring_jobs.metrics import Metric, Status, join_details, judged_metric
from monitoring_jobs.performance.measures import RowSample

CELLS_PER_CHUNK = 2_000_000
"""Resamples are drawn in chunks of at most this many row weights (16 MB of float64) to bound memory."""
BOOTSTRAP_MAX_ROWS = 20_000
"""Above this many rows, the bootstrap resamples a subsample of this size and rescales (see ``bootstrap``)."""
MIN_FINITE_REPLICATES = 0.5
"""Below this share of resamples with a defined value (e.g. one class only), no bootstrap interval is given."""


@dataclass(frozen=True)
class Interval:
    lower: float
    upper: float
    method: str  # shown in details: "Wilson", "bootstrap", "order statistics"


@dataclass(frozen=True)
class Figure:
    """A point value and its confidence interval (None when the figure has none or too little data)."""

    value: float
    interval: Interval | None = None


def wilson(successes: float, trials: float, level: float) -> Interval | None:
    """The Wilson score interval of ``successes / trials``; None without trials."""
    if not trials >= 1:
        return None
    z = special.ndtri(0.5 + level / 2)  # scipy.stats.norm.ppf, without importing scipy.stats (0.6-2 s)
    share, z2 = successes / trials, z * z
    centre = (share + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z / (1 + z2 / trials) * math.sqrt(max(share * (1 - share), 0.0) / trials + z2 / (4 * trials * trials))
    return Interval(max(0.0, centre - half), min(1.0, centre + half), "Wilson")


def quantile_interval(values: np.ndarray, quantile: float, level: float) -> Interval | None:
    """Distribution-free interval of a quantile: the order statistics whose ranks are the binomial
    ``(n, quantile)`` distribution's ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles (conservative)."""
    size = values.size
    if not size or not np.isfinite(values).all():
        return None
    from scipy.stats import binom  # here, not at import: only regression residuals need it

    ordered = np.sort(values)
    tail = (1 - level) / 2
    low = int(binom.ppf(tail, size, quantile))  # 0-based rank of the lower bound
    high = int(binom.ppf(1 - tail, size, quantile))  # 0-based rank of the upper bound after the +1 shift
    return Interval(float(ordered[max(low - 1, 0)]), float(ordered[min(high, size - 1)]), "order statistics")


def scope_rng(settings: PerformanceConfig, scope: str) -> np.random.Generator:
    """One seeded stream per scope ("", "region=north", "estimated", ...), independent of the others."""
    return np.random.default_rng([settings.bootstrap_seed, zlib.crc32(scope.encode("utf-8"))])


def resample_weights(size: int, resamples: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Chunks of ``(resamples in chunk, size)`` draw counts: row i drawn k times in a resample has weight k."""
    per_chunk = max(1, CELLS_PER_CHUNK // max(size, 1))
    for first in range(0, resamples, per_chunk):
        count = min(per_chunk, resamples - first)
        drawn = rng.integers(0, size, (count, size)) + (np.arange(count) * size)[:, None]
        yield np.bincount(drawn.ravel(), minlength=count * size).reshape(count, size).astype(np.float64)


def bootstrap(sample: RowSample, settings: PerformanceConfig, scope: str) -> dict[str, Interval]:
    """Percentile intervals of every measure over ``settings.bootstrap_resamples`` resamples of the rows.

    A sample of more than ``BOOTSTRAP_MAX_ROWS`` rows is resampled from a seeded subsample of that many (the
    m-out-of-n bootstrap): each replicate's distance from the subsample's own value, shrunk by
    ``sqrt(m / n)``, is put around the whole sample's value. Every figure here is an average over rows, whose
    spread shrinks as ``1 / sqrt(rows)``, so the interval keeps its width while the cost stops growing with
    the day (300 resamples of 1M rows: 25 s; of the subsample: a fraction of a second).
    Measures undefined in too many resamples (``MIN_FINITE_REPLICATES``) get no interval.
    """
    size = sample.size
    if size < 2:
        return {}
    rng = scope_rng(settings, scope)
    resampled, shrink, centre, shift = sample, 1.0, {}, {}
    if size > BOOTSTRAP_MAX_ROWS:
        resampled = sample.subset(np.sort(rng.choice(size, BOOTSTRAP_MAX_ROWS, replace=False)))
        shrink = math.sqrt(BOOTSTRAP_MAX_ROWS / size)
        centre = {name: float(value[0]) for name, value in resampled.point.items()}
        shift = {name: float(value[0]) for name, value in sample.point.items()}
    chunks = [resampled.measures(weights) for weights in
              resample_weights(resampled.size, settings.bootstrap_resamples, rng)]
    tail = (1 - settings.confidence_level) / 2
    intervals = {}
    for name in chunks[0]:
        replicates = np.concatenate([chunk[name] for chunk in chunks])
        finite = replicates[np.isfinite(replicates)]
        if finite.size >= MIN_FINITE_REPLICATES * replicates.size:
            lower, upper = np.quantile(finite, [tail, 1 - tail])
            if shrink != 1.0:
                lower, upper = (shift[name] + shrink * (bound - centre[name]) for bound in (lower, upper))
            if np.isfinite(lower) and np.isfinite(upper):
                intervals[name] = Interval(float(lower), float(upper), "bootstrap")
    return intervals


def difference_interval(high: Figure, low: Figure) -> Interval | None:
    """Interval of ``high.value - low.value`` for two independent estimates, from their own intervals
    (MOVER, Newcombe's method for a difference of proportions, generalised by Zou and Donner)."""
    if high.interval is None or low.interval is None:
        return None
    gap = high.value - low.value
    below = math.hypot(high.value - high.interval.lower, low.interval.upper - low.value)
    above = math.hypot(high.interval.upper - high.value, low.value - low.interval.lower)
    return Interval(gap - below, gap + above, "MOVER from both segments' intervals")


def describe_interval(interval: Interval | None, level: float) -> str:
    if interval is None:
        return ""
    return f"{level:.0%} interval [{interval.lower:.4g}, {interval.upper:.4g}] ({interval.method})"


def judge_figure(area: str, metric: str, figure: Figure, bound: Bound | None, level: float, *, segment: str = "",
                 feature: str = "", detail: str = "", missing_reason: str = "could not be computed") -> Metric:
    """A Metric judged by its interval: WARN/FAIL only when the whole interval is outside the bound.

    A point outside the bound whose interval reaches back inside is MISSING (too few labels to tell), with
    a detail saying so; a point inside is OK. Without an interval the point is judged as it is.
    """
    interval = figure.interval
    judged = judged_metric(area, metric, figure.value, bound, segment=segment, feature=feature,
                           detail=join_details(describe_interval(interval, level), detail),
                           missing_reason=missing_reason)
    judged = dataclasses.replace(judged, lower=interval.lower if interval else None,
                                 upper=interval.upper if interval else None)
    if bound is None or interval is None or not judged.failed:
        return judged
    below = bound.min is not None and figure.value < bound.min
    side = "below the minimum" if below else "above the maximum"
    if (interval.upper < bound.min) if below else (interval.lower > bound.max):
        return dataclasses.replace(judged, detail=join_details(
            f"the whole {level:.0%} interval is {side} {judged.threshold:g}", judged.detail))
    return dataclasses.replace(judged, status=Status.MISSING, detail=join_details(
        f"{figure.value:.4g} is {side} {judged.threshold:g}, but its {level:.0%} interval reaches back inside: "
        "too few rows to tell, not flagged", judged.detail))
