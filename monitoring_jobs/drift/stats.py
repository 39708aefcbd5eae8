"""Two-sample drift statistics on plain numpy arrays.

Every function takes the reference sample first and the current sample second, drops NaN
itself (the engine counts what was dropped with :func:`split_nan`) and returns NaN instead of
raising when a sample has nothing left to compare. Conventions follow Evidently's legacy
stattests (``evidently/legacy/calculations/stattests``) unless a docstring says otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

PSI_EPSILON = 1e-4
"""Proportion given to an empty bin or category before taking PSI's logarithm (Evidently's usual value)."""

WASSERSTEIN_MIN_NORM = 0.001
"""Floor on the reference std when norming Wasserstein (as Evidently): a constant reference stays finite."""

NAN = float("nan")


def split_nan(values: np.ndarray | pd.Series) -> tuple[np.ndarray, int]:
    """Return the values as float64 without NaN, and how many NaN were dropped. ±inf is kept."""
    array = np.asarray(values, dtype=np.float64)
    missing = np.isnan(array)
    dropped = int(missing.sum())
    return (array[~missing] if dropped else array), dropped


def ks_test(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """Two-sample, two-sided Kolmogorov-Smirnov test: ``D = sup_x |F_ref(x) - F_cur(x)|``.

    Identical to ``scipy.stats.ks_2samp(reference, current)`` (method "auto": exact p-value for
    small samples, asymptotic otherwise). ±inf are ordinary extreme values for an ECDF.
    Returns ``(D, p_value)``, or ``(nan, nan)`` when either sample is empty.
    """
    reference, _ = split_nan(reference)
    current, _ = split_nan(current)
    if not reference.size or not current.size:
        return NAN, NAN
    result = stats.ks_2samp(reference, current)
    return float(result.statistic), float(result.pvalue)


def wasserstein_normed(reference: np.ndarray, current: np.ndarray) -> float:
    """First Wasserstein distance divided by the reference's spread: ``W1(ref, cur) / max(std(ref), 0.001)``.

    ``std`` is the population standard deviation (ddof=0): Evidently's ``_wasserstein_distance_norm``
    calls ``np.std`` on the reference Series, whose default is ddof=0, and floors it at 0.001 so a
    constant reference does not divide by zero. Only finite values are used: moving mass to ±inf
    costs an infinite amount, so infinities are left to KS and to PSI's under/overflow bins.
    Returns NaN when either sample has no finite value.
    """
    reference = _finite(reference)
    current = _finite(current)
    if not reference.size or not current.size:
        return NAN
    norm = max(float(np.std(reference)), WASSERSTEIN_MIN_NORM)
    return float(stats.wasserstein_distance(reference, current)) / norm


def psi_categorical(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Population Stability Index of two aligned count vectors (categories or bins).

    ``PSI = sum_i (c_i - r_i) * ln(c_i / r_i)`` where ``r_i``/``c_i`` are the reference/current
    proportions; a zero proportion is replaced by ``PSI_EPSILON`` (1e-4) first, without
    renormalising, so a category seen on one side only adds a large but finite term and a bin
    empty on both sides adds nothing. NaN when either side has no counts.
    """
    reference_share = _shares(reference_counts)
    current_share = _shares(current_counts)
    if reference_share is None or current_share is None:
        return NAN
    reference_share = np.where(reference_share == 0, PSI_EPSILON, reference_share)
    current_share = np.where(current_share == 0, PSI_EPSILON, current_share)
    return float(np.sum((current_share - reference_share) * np.log(current_share / reference_share)))


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """PSI of two numeric samples binned by :func:`numeric_bin_counts` (reference deciles by default)."""
    reference, _ = split_nan(reference)
    current, _ = split_nan(current)
    if not reference.size or not current.size:
        return NAN
    return psi_categorical(*numeric_bin_counts(np.sort(reference), np.sort(current), bins))


def numeric_bin_counts(reference_sorted: np.ndarray, current_sorted: np.ndarray,
                       bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Count both samples in bins cut at the reference quantiles, plus an underflow and an overflow bin.

    Inputs must be sorted and NaN-free (``np.sort`` puts ±inf at the ends, which is all this needs).
    Edges are ``np.quantile(finite reference, linspace(0, 1, bins + 1))`` (numpy's default "linear"
    method) with duplicates collapsed, so heavily tied data gets fewer bins. With edges
    ``e_0 < ... < e_m`` the bins are ``(-inf, e_0)``, ``[e_0, e_1)``, ..., ``[e_{m-1}, e_m]``,
    ``(e_m, +inf)``: the first and last hold only values outside the reference range, including
    ±inf; a constant reference gives three bins (below, equal, above). Counting is a binary
    search per edge on the sorted arrays, so it costs O(bins * log n).
    Returns two empty arrays when the reference has no finite value.
    """
    finite = _finite(reference_sorted)
    if not finite.size:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    edges = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)))
    inner = edges[:max(len(edges) - 1, 1)]

    def counts(values: np.ndarray) -> np.ndarray:
        boundaries = np.concatenate((
            [0],
            np.searchsorted(values, inner, side="left"),
            [np.searchsorted(values, edges[-1], side="right"), len(values)],
        ))
        return np.diff(boundaries)

    return counts(reference_sorted), counts(current_sorted)


def chi2_test(reference_counts: np.ndarray, current_counts: np.ndarray) -> tuple[float, float]:
    """Pearson chi-square test of homogeneity on the 2 x k table (reference row, current row).

    Equal to ``scipy.stats.chi2_contingency(table, correction=False)`` after dropping categories
    absent from both rows (their expected frequency would be zero). No Yates correction: on two
    categories the uncorrected statistic is the square of the pooled two-proportion z statistic,
    so the p-value equals Evidently's "z" test it uses for binary columns; with more categories
    the correction does not apply anyway. A category present on one side only is a column like
    any other. Returns ``(statistic, p_value)``, or ``(nan, nan)`` when either row is empty.
    """
    table = np.vstack((np.asarray(reference_counts, dtype=np.float64),
                       np.asarray(current_counts, dtype=np.float64)))
    if table.size == 0 or (table.sum(axis=1) == 0).any():
        return NAN, NAN
    table = table[:, table.sum(axis=0) > 0]
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def jensenshannon_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance ``sqrt((KL(p||m) + KL(q||m)) / 2)`` with ``m = (p + q) / 2``.

    ``p`` and ``q`` are aligned counts or frequencies; scipy normalises them. The logarithm is
    natural (scipy's default), as in Evidently, which passes ``base=None`` to
    ``scipy.spatial.distance.jensenshannon``; the distance therefore lies in ``[0, sqrt(ln 2)]``
    (about 0.833). NaN when either vector sums to zero.
    """
    if _shares(p) is None or _shares(q) is None:
        return NAN
    return float(distance.jensenshannon(np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)))


@dataclass(frozen=True)
class CategoryCounts:
    """Counts of two samples over the union of their categories (reference categories first)."""

    categories: tuple
    reference: np.ndarray
    current: np.ndarray
    unseen: tuple[str, ...]
    """Categories of the current sample absent from the reference, by name (``str`` of the value)."""
    reference_nulls: int
    current_nulls: int


def align_categories(reference, current) -> CategoryCounts:
    """Count each sample's values over the union of categories; nulls are dropped and counted.

    Works for labels of any hashable type and for numbers (a numeric column with few distinct
    values is compared as categories); equal numbers align across int and float dtypes.
    """
    reference = reference if isinstance(reference, pd.Series) else pd.Series(reference)
    current = current if isinstance(current, pd.Series) else pd.Series(current)
    reference_counts = reference.value_counts(dropna=True, sort=False)
    current_counts = current.value_counts(dropna=True, sort=False)
    table = pd.concat([reference_counts.rename("reference"), current_counts.rename("current")],
                      axis=1, sort=False).fillna(0)
    unseen = tuple(str(category) for category in current_counts.index.difference(reference_counts.index, sort=False))
    return CategoryCounts(
        categories=tuple(table.index),
        reference=table["reference"].to_numpy(dtype=np.int64),
        current=table["current"].to_numpy(dtype=np.int64),
        unseen=unseen,
        reference_nulls=int(reference.isna().sum()),
        current_nulls=int(current.isna().sum()),
    )


def _finite(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    return array[np.isfinite(array)]


def _shares(counts: np.ndarray) -> np.ndarray | None:
    """Counts as proportions, or None when there is nothing to divide."""
    array = np.asarray(counts, dtype=np.float64)
    total = array.sum()
    if array.size == 0 or not math.isfinite(total) or total <= 0:
        return None
    return array / total
