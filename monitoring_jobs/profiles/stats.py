"""Drift statistics with a profile as the reference, each with its bound against the raw-data statistic.

- Histogram statistics (PSI, Jensen-Shannon, Hellinger, chi-square, ... of ``drift.stats``) need only
  aligned counts: :func:`shared_bin_counts` and :func:`category_counts` give them exactly, so any of
  those functions applied to them returns exactly the raw-data value on the same bins or categories.
- Quantiles, CDF, bin edges, KS and Wasserstein read the reference's distribution of finite values:
  exact while the column keeps exact value counts (at most 32 distinct values) or its sketch still
  holds every value, in which case each result equals the raw-data one; otherwise the KLL sketch.
  ``eps`` below is the sketch's ``rank_error`` (1.33% at k=200): every rank it reports is within
  ``eps`` of the exact one, for all ranks at once, with 99% confidence.
  KS: ``|D - D_exact| <= eps``. Normed Wasserstein: ``|W - W_exact| <= eps * (max - min) / norm``.
  Both come as an :class:`Estimate` carrying that bound (0 when exact).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import datasketches
import numpy as np

from monitoring_jobs.drift import stats as raw
from monitoring_jobs.profiles.profile import CategoricalProfile, NumericProfile, ProfileError, check_bin_edges

NAN = float("nan")

OTHER_CATEGORIES = "(other categories)"
"""The pooled bucket when a profile holds a frequent-items sketch instead of exact category counts."""


@dataclass(frozen=True)
class Estimate:
    """A statistic read from a sketch: ``|value - exact| <= error_bound`` with 99% confidence; 0 when exact.

    NaN value and bound when a side has nothing to compare.
    """

    value: float
    error_bound: float
    p_value: float | None = None


@dataclass(frozen=True)
class _Distribution:
    """A column's finite values as distinct sorted ``items`` with the share of values at or below each."""

    items: np.ndarray
    cumulative: np.ndarray
    exact: bool
    counts: np.ndarray | None = None  # how often each item occurs, when exact

    def values(self) -> np.ndarray:
        """Every finite value, sorted (exact distributions only; as many values as the column has)."""
        return np.repeat(self.items, self.counts)

    def linear_quantiles(self, ranks: np.ndarray) -> np.ndarray:
        """``np.quantile(self.values(), ranks)`` (numpy's "linear" method, same arithmetic), without
        materialising the values: each quantile interpolates between two order statistics."""
        last_position = np.cumsum(self.counts) - 1
        return raw.linear_quantiles(lambda positions: self.items[np.searchsorted(last_position, positions)],
                                    int(self.counts.sum()), ranks)


def _distribution(column: NumericProfile) -> _Distribution:
    """Exact from the value counts or from a sketch that holds every value; else the sketch's estimate.

    The sketch's weights come from ``get_cdf`` rather than from iterating it: in datasketches 5.2 the
    iterator reports weight 1 for every item of some merged sketches (those whose level 0 is empty).
    """
    if column.value_counts is not None:
        items = np.asarray(sorted(column.value_counts), dtype=np.float64)
        counts = np.asarray([column.value_counts[item] for item in items.tolist()], dtype=np.int64)
        return _Distribution(items, np.cumsum(counts) / max(column.moments.count, 1), True, counts)
    if column.sketch.is_empty():
        return _Distribution(np.zeros(0), np.zeros(0), True, np.zeros(0, dtype=np.int64))
    items = np.unique(np.fromiter((item for item, _ in column.sketch), dtype=np.float64))
    cumulative = np.asarray(column.sketch.get_cdf(items.tolist(), inclusive=True), dtype=np.float64)[:-1]
    if column.sketch.is_estimation_mode():
        return _Distribution(items, cumulative, False)
    counts = np.rint(np.diff(cumulative, prepend=0.0) * column.moments.count).astype(np.int64)
    return _Distribution(items, cumulative, True, counts)


def is_exact(column: NumericProfile) -> bool:
    """Whether the column's finite values are known exactly (value counts, or a sketch that holds every value):
    then every statistic here equals its value on the raw data."""
    return _distribution(column).exact


def _rank_error(column: NumericProfile, distribution: _Distribution) -> float:
    return 0.0 if distribution.exact else column.rank_error


def _share_at_or_below(items: np.ndarray, cumulative: np.ndarray, points: np.ndarray,
                       side: str = "right") -> np.ndarray:
    """The sketch's share of finite values <= each point (``side="left"``: < each point)."""
    if not items.size:
        return np.zeros(len(points))
    index = np.searchsorted(items, points, side=side)
    return np.where(index > 0, cumulative[np.maximum(index - 1, 0)], 0.0)


def cdf(column: NumericProfile, points: Sequence[float]) -> np.ndarray:
    """Share of the column's finite values <= each point, within ``rank_error``; NaN when it has none."""
    points = np.asarray(points, dtype=np.float64)
    if not column.moments.count:
        return np.full(points.shape, NAN)
    distribution = _distribution(column)
    return _share_at_or_below(distribution.items, distribution.cumulative, points)


def quantiles(column: NumericProfile, ranks: Sequence[float]) -> np.ndarray:
    """Quantiles of the finite values: for rank r the smallest retained value whose share at or below it
    reaches r (``np.quantile(..., method="inverted_cdf")`` of the sketch), so its true rank is within
    ``rank_error`` of r (exact with an exact distribution). Ranks 0 and 1 give the exact min and max. NaN when
    there is no finite value.
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    if ((ranks < 0) | (ranks > 1)).any():
        raise ProfileError(f"ranks must lie in [0, 1], got {ranks.tolist()}")
    if not column.moments.count:
        return np.full(ranks.shape, NAN)
    distribution = _distribution(column)
    items = distribution.items
    values = items[np.minimum(np.searchsorted(distribution.cumulative, ranks, side="left"), items.size - 1)]
    values = np.where(ranks == 0, column.moments.minimum, values)
    return np.where(ranks == 1, column.moments.maximum, values)


def quantile_bin_edges(column: NumericProfile, bins: int = raw.NUMERIC_BINS) -> tuple[float, ...]:
    """The reference bins of a profiled reference, to pass to ``profile_day(bin_edges=...)``.

    With an exact distribution: ``drift.stats.quantile_bin_edges`` of the values (the raw path's edges,
    identical). Otherwise the sketch's quantiles ``0, 1/bins, ..., 1`` (ties merged; min and max exact),
    each inner edge's true rank within ``rank_error`` of its target. Empty without a finite value.
    """
    if bins < 1:
        raise ProfileError(f"bins must be at least 1, got {bins}")
    distribution = _distribution(column)
    ranks = np.linspace(0.0, 1.0, bins + 1)
    if not distribution.items.size:
        return ()
    if distribution.exact:
        return tuple(np.unique(distribution.linear_quantiles(ranks)).tolist())
    return tuple(np.unique(quantiles(column, ranks)).tolist())


def ks_test_from_profile(reference: NumericProfile, current) -> Estimate:
    """Two-sided KS between the reference (its finite values' distribution, its ±inf counted exactly) and
    the exact ECDF of ``current`` (NaN dropped, ±inf kept, as ``drift.stats.ks_test``).

    With an exact distribution this is ``drift.stats.ks_test``'s result (on the values themselves while both
    sides have at most ``KS_EXACT_MAX_VALUES``, whose p-value is exact). Otherwise
    ``|D - D_exact| <= rank_error x (finite share of the reference)``, and the p-value is Smirnov's limit
    ``kstwo.sf(D, round(n m / (n + m)))`` at that D (the raw path's p-value for large samples).
    """
    from scipy import stats  # here, not at import: most days never need it (0.5 s, 50 MB)

    current = raw.sorted_values(current)
    if not reference.present or not current.size:
        return Estimate(NAN, NAN, NAN)
    distribution = _distribution(reference)
    if distribution.exact and max(reference.present, current.size) <= raw.KS_EXACT_MAX_VALUES:
        values = np.concatenate((np.full(reference.negative_infinities, -np.inf), distribution.values(),
                                 np.full(reference.positive_infinities, np.inf)))
        statistic, p_value = raw.ks_test(values, current)
        return Estimate(statistic, 0.0, p_value)
    items, cumulative = distribution.items, distribution.cumulative
    points = np.concatenate(([-np.inf], items, current))
    finite_share = reference.moments.count / reference.present
    reference_cdf = (reference.negative_infinities / reference.present
                     + finite_share * _share_at_or_below(items, cumulative, points))
    reference_cdf[points == np.inf] = 1.0
    current_cdf = np.searchsorted(current, points, side="right") / current.size
    statistic = float(np.max(np.abs(reference_cdf - current_cdf)))
    effective = round(reference.present * current.size / (reference.present + current.size))
    p_value = float(np.clip(stats.kstwo.sf(statistic, max(effective, 1)), 0.0, 1.0))
    return Estimate(statistic, _rank_error(reference, distribution) * finite_share, p_value)


def wasserstein_normed_from_profile(reference: NumericProfile, current) -> Estimate:
    """``W1(reference, current) / max(std(reference), 0.001)`` on finite values, as ``drift.stats.wasserstein_normed``.

    W1 is exact between the distribution's weighted values and ``current``: exact with an exact
    distribution; from a sketch, whose CDF is within ``eps`` of the reference's on ``[min, max]`` and
    equal to it outside, off by at most ``eps * (max - min)``. The norm is the population std from the
    exact moments.
    """
    from scipy import stats  # here, not at import: most days never need it (0.5 s, 50 MB)

    current = raw.sorted_values(current)
    current = current[np.isfinite(current)]
    if not reference.moments.count or not current.size:
        return Estimate(NAN, NAN)
    distribution = _distribution(reference)
    norm = max(reference.moments.std, raw.WASSERSTEIN_MIN_NORM)
    distance = stats.wasserstein_distance(distribution.items, current,
                                          u_weights=np.diff(distribution.cumulative, prepend=0.0))
    spread = reference.moments.maximum - reference.moments.minimum
    return Estimate(float(distance) / norm, _rank_error(reference, distribution) * spread / norm)


def sketch_bin_counts(column: NumericProfile, edges: Sequence[float]) -> np.ndarray:
    """Estimated counts in the :class:`~monitoring_jobs.profiles.profile.Histogram` bins on any edges, from
    the sketch (±inf exactly in the outer bins): for a reference whose days were binned on other edges.
    Each bin's share of the column's non-null numbers is within ``share_error`` (1.65% at k=200); the
    counts are exact with an exact distribution.
    """
    edges = np.asarray(check_bin_edges(edges))
    distribution = _distribution(column)
    items, cumulative = distribution.items, distribution.cumulative
    inner = edges[:max(len(edges) - 1, 1)]
    below = column.negative_infinities + column.moments.count * np.concatenate((
        _share_at_or_below(items, cumulative, inner, side="left"),
        _share_at_or_below(items, cumulative, edges[-1:]),
    ))
    counts = np.diff(np.concatenate(([0.0], below, [float(column.present)])))
    return np.rint(counts) if distribution.exact else counts


def shared_bin_counts(reference: NumericProfile, current: NumericProfile) -> tuple[np.ndarray, np.ndarray]:
    """The exact histograms of both profiles, which must be on the same edges."""
    if reference.histogram is None or current.histogram is None:
        missing = " and ".join(side for side, column in (("reference", reference), ("current", current))
                               if column.histogram is None)
        raise ProfileError(f"the {missing} profile has no histogram; build both with the same bin_edges "
                           "(quantile_bin_edges of the reference)")
    if reference.histogram.edges != current.histogram.edges:
        raise ProfileError("the reference and current histograms are on different bin edges; profile the current "
                           "day with the reference's edges")
    return np.asarray(reference.histogram.counts), np.asarray(current.histogram.counts)


def category_counts(reference: CategoricalProfile, current: CategoricalProfile) -> raw.CategoryCounts:
    """Both profiles' counts over the same categories, as ``drift.stats.align_categories`` gives them.

    Exact when both profiles hold exact counts (reference categories first, then unseen ones, each
    sorted). Otherwise the categories are the ones the reference tracks (all of them, or its sketch's
    frequent items) plus :data:`OTHER_CATEGORIES`; a sketch side gives each category's guaranteed lower
    bound (within ``sketch.epsilon`` x its total of the true count) and pools the rest in that bucket.
    ``unseen`` lists the current categories certainly absent from the reference (none can be certain
    once the reference's sketch has dropped its rare items).
    """
    current_categories = list(current.counts) if current.exact else _frequent(current)
    unseen = tuple(sorted(category for category in current_categories if _absent(reference, category)))
    pooled = not (reference.exact and current.exact)
    if pooled:
        categories = sorted(reference.counts) if reference.exact else _frequent(reference)
    else:
        categories = sorted(reference.counts) + list(unseen)

    def counts(column: CategoricalProfile) -> np.ndarray:
        listed = [column.counts.get(category, 0) if column.exact else column.sketch.get_lower_bound(category)
                  for category in categories]
        return np.asarray(listed + [column.total - sum(listed)] if pooled else listed, dtype=np.int64)

    return raw.CategoryCounts(
        categories=tuple(categories) + ((OTHER_CATEGORIES,) if pooled else ()),
        reference=counts(reference),
        current=counts(current),
        unseen=unseen,
        reference_nulls=reference.nulls,
        current_nulls=current.nulls,
    )


def _frequent(column: CategoricalProfile) -> list[str]:
    """The sketch's items whose count certainly exceeds its error (no false positives), most frequent first."""
    rows = column.sketch.get_frequent_items(datasketches.frequent_items_error_type.NO_FALSE_POSITIVES)
    return [row[0] for row in rows]


def _absent(column: CategoricalProfile, category: str) -> bool:
    return category not in column.counts if column.exact else column.sketch.get_upper_bound(category) == 0
