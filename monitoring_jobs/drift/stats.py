"""Two-sample drift statistics on plain numpy arrays: small pure functions, reference first.

Two families, so a reference can later come as a profile instead of rows:

- **sample statistics** (KS, normed Wasserstein, Cramér-von Mises, Anderson-Darling) read both
  samples' values. They take any arrays, drop NaN, and sort only what is not sorted already (an O(n)
  check), so the engine sorts each column once;
- **histogram statistics** (PSI, Jensen-Shannon, Hellinger, total variation, L-infinity, chi-square,
  G-test, Z-test) read only aligned counts: categories, or numeric bins cut at the reference's
  quantiles by :func:`quantile_bin_edges` / :func:`bin_counts`. A reference histogram on the reference
  bins is all they need.

Each returns NaN instead of raising when a sample has nothing left to compare. Conventions follow
Evidently's stattests (``evidently/legacy/calculations/stattests``) unless a docstring says otherwise.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

NUMERIC_BINS = 10
"""Numeric histograms: reference deciles, plus an underflow and an overflow bin."""
PSI_EPSILON = 1e-4
"""Proportion given to an empty bin or category before taking PSI's logarithm (Evidently's usual value)."""
WASSERSTEIN_MIN_NORM = 0.001
"""Floor on the reference std when norming Wasserstein (as Evidently): a constant reference stays finite."""
KS_EXACT_MAX_VALUES = 10_000
"""Up to this many values per sample, KS p-values are scipy's exact ones (scipy's own ``auto`` rule)."""
CVM_EXACT_MAX_VALUES = 20
"""Up to this many values per sample, Cramér-von Mises p-values are exact (scipy's ``auto`` rule)."""
ANDERSON_MAX_VALUES = 100_000
"""Anderson-Darling runs on a seeded random subsample of this many values per larger sample (speed)."""
ANDERSON_SEED = 0
WASSERSTEIN_BLOCK = 1 << 20
"""Reference values per block of the Wasserstein sum: its temporary arrays stay a few tens of MB."""

NAN = float("nan")


def split_nan(values: np.ndarray | pd.Series) -> tuple[np.ndarray, int]:
    """Return the values as float64 without NaN, and how many NaN were dropped. ±inf is kept."""
    array = np.asarray(values, dtype=np.float64)
    missing = np.isnan(array)
    dropped = int(missing.sum())
    return (array[~missing] if dropped else array), dropped


def sorted_values(values: np.ndarray | pd.Series) -> np.ndarray:
    """float64 without NaN, ascending; an already sorted input is returned without sorting again."""
    array, _ = split_nan(values)
    if array.size > 1 and not (array[1:] >= array[:-1]).all():
        array = np.sort(array)
    return array


# --- sample statistics ----------------------------------------------------------------------------

def sorted_value_counts(sorted_values: np.ndarray, categories: np.ndarray) -> np.ndarray:
    """How often each of the sorted distinct ``categories`` occurs in the sorted values."""
    return np.searchsorted(sorted_values, categories, side="right") - np.searchsorted(sorted_values, categories,
                                                                                      side="left")


def first_distinct_sorted(values: np.ndarray, limit: int) -> np.ndarray:
    """The smallest ``limit`` distinct values of a sorted array (all, if it has fewer): a binary search
    per value instead of a pass over millions of values to learn that a column has more than a few."""
    found, start = [], 0
    while start < values.size and len(found) < limit:
        found.append(values[start])
        start = int(np.searchsorted(values, values[start], side="right"))
    return np.asarray(found, dtype=values.dtype)


def ks_test(reference, current) -> tuple[float, float]:
    """Two-sample, two-sided Kolmogorov-Smirnov test: ``D = sup_x |F_ref(x) - F_cur(x)|``.

    ``D`` is read off both empirical CDFs by binary search on the sorted samples. The p-value is
    scipy's exact one while both samples have at most 10,000 values (``ks_2samp``'s ``auto``, the
    call Evidently makes), else Smirnov's limit ``kstwo.sf(D, round(n m / (n + m)))`` as scipy does.
    ±inf are ordinary extreme values. Returns ``(D, p)``, or ``(nan, nan)`` when a sample is empty.
    """
    from scipy import stats  # here, not at import: most days never need it (0.5 s, 50 MB)

    reference, current = sorted_values(reference), sorted_values(current)
    if not reference.size or not current.size:
        return NAN, NAN
    if max(reference.size, current.size) <= KS_EXACT_MAX_VALUES:
        result = stats.ks_2samp(reference, current)
        return float(result.statistic), float(result.pvalue)
    statistic = max(float(np.max(np.abs(_own_ecdf(sample) - _ecdf(other, sample))))
                    for sample, other in ((reference, current), (current, reference)))
    larger, smaller = max(reference.size, current.size), min(reference.size, current.size)
    effective = round(larger * smaller / (larger + smaller))
    return statistic, float(np.clip(stats.kstwo.sf(statistic, effective), 0.0, 1.0))


def wasserstein_normed(reference, current) -> float:
    """First Wasserstein distance over the reference's spread: ``W1(ref, cur) / max(std(ref), 0.001)``.

    ``std`` is the population standard deviation (ddof=0), as Evidently's ``np.std``, floored at
    0.001 so a constant reference does not divide by zero. Only finite values count: moving mass
    to ±inf costs an infinite amount, so infinities are left to the other statistics and to the
    under/overflow bins. Returns NaN when either sample has no finite value.
    """
    reference, current = _finite(sorted_values(reference)), _finite(sorted_values(current))
    if not reference.size or not current.size:
        return NAN
    return _wasserstein_sorted(reference, current) / max(float(np.std(reference)), WASSERSTEIN_MIN_NORM)


def _wasserstein_sorted(reference: np.ndarray, current: np.ndarray) -> float:
    """W1 of two sorted samples, exactly, in linear time and a block of memory at a time.

    ``W1 = integral over u in [0, 1) of |Q_ref(u) - Q_cur(u)|``, with ``Q`` the quantile functions: step
    functions that change at ``u = i/n`` and ``u = j/m``. On the grid of both kinds of step (in units
    of ``1/(n m)``: ``i m`` and ``j n``, two arithmetic progressions, so their merged order is known
    without sorting) each piece adds ``|ref[g // m] - cur[g // n]|`` times its length. Equal sizes give
    the mean absolute difference of the sorted samples; a sample against itself gives exactly 0. The
    same value as integrating ``|F_ref - F_cur|`` over x (scipy), without merging the values themselves.
    """
    n, m = reference.size, current.size
    total = 0.0
    for first in range(0, n, WASSERSTEIN_BLOCK):
        last = min(first + WASSERSTEIN_BLOCK, n)
        if n == m:
            total += float(np.abs(reference[first:last] - current[first:last]).sum())
            continue
        # the reference steps i in [first, last) and the current steps j whose grid points fall among them
        current_first, current_last = -(-first * m // n), -(-last * m // n)
        reference_steps = np.arange(first * m, last * m, m, dtype=np.int64)
        current_steps = np.arange(current_first * n, current_last * n, n, dtype=np.int64)
        # a step's place in the merged grid: its index plus how many steps of the other kind come before it
        grid = np.empty(reference_steps.size + current_steps.size, dtype=np.int64)
        grid[np.arange(reference_steps.size) + (-(-reference_steps // n) - current_first)] = reference_steps
        grid[np.arange(current_steps.size) + (current_steps // m + 1 - first)] = current_steps
        lengths = np.diff(grid, append=last * m if last < n else n * m).astype(np.float64)
        gaps = reference[grid // m] - current[grid // n]
        np.abs(gaps, out=gaps)
        total += float(np.dot(gaps, lengths))
    return total / n if n == m else total / (n * m)


def cramer_von_mises_test(reference, current) -> tuple[float, float]:
    """Two-sample Cramér-von Mises test (Anderson 1962), as ``scipy.stats.cramervonmises_2samp``.

    With midranks ``r_i`` of the sorted reference and ``s_j`` of the sorted current values in the
    pooled sample (sizes n, m, N = n + m): ``U = n sum (r_i - i)^2 + m sum (s_j - j)^2`` and
    ``T = U / (n m N) - (4 n m - 1) / (6 N)``. Ranks come from binary searches on the two sorted
    samples. The p-value is exact (scipy) while both samples have at most 20 values, else
    ``1 - F(T*)``: T standardised by its exact mean and variance (Anderson 1962, eqs. 11-15),
    ``T* = 1/6 + (T - E T) / sqrt(45 Var T)``, and F the limiting distribution of the one-sample
    statistic (Csörgő & Faraway 1996, eq. 1.3).
    Returns ``(nan, nan)`` when a sample has fewer than 2 values.
    """
    from scipy import stats  # here, not at import: most days never need it (0.5 s, 50 MB)

    reference, current = sorted_values(reference), sorted_values(current)
    if reference.size < 2 or current.size < 2:
        return NAN, NAN
    if max(reference.size, current.size) <= CVM_EXACT_MAX_VALUES:
        result = stats.cramervonmises_2samp(reference, current)
        return float(result.statistic), float(result.pvalue)
    n, m = reference.size, current.size
    u = sum(size * float(np.sum((_midranks(values, reference, current) - np.arange(1, size + 1)) ** 2))
            for values, size in ((reference, n), (current, m)))
    k, total = n * m, n + m
    statistic = u / (k * total) - (4 * k - 1) / (6 * total)
    mean = (1 + 1 / total) / 6
    variance = (total + 1) * (4 * k * total - 3 * (n * n + m * m) - 2 * k) / (45 * total * total * 4 * k)
    normalised = 1 / 6 + (statistic - mean) / math.sqrt(45 * variance)
    return statistic, max(0.0, 1.0 - _cvm_limit_cdf(normalised))


def anderson_darling_test(reference, current) -> tuple[float, float]:
    """k-sample Anderson-Darling test (Scholz & Stephens 1987), midrank variant, k = 2.

    ``scipy.stats.anderson_ksamp([ref, cur], variant="midrank")``: the normalised statistic and
    its p-value, which scipy interpolates from a table and clips to [0.001, 0.25]. A sample with
    more than 100,000 values is replaced by a seeded random subsample of that size first, so one
    feature costs well under a second at any size (the exact statistic on millions of rows takes
    seconds). Returns ``(nan, nan)`` with fewer than 4 values in all, and ``(nan, 1.0)`` when both
    samples hold one and the same value (nothing differs).
    """
    from scipy import stats  # here, not at import: most days never need it (0.5 s, 50 MB)

    reference, current = sorted_values(reference), sorted_values(current)
    if not reference.size or not current.size or reference.size + current.size < 4:
        return NAN, NAN
    if reference[0] == reference[-1] == current[0] == current[-1]:
        return NAN, 1.0
    rng = np.random.default_rng(ANDERSON_SEED)
    samples = [values if values.size <= ANDERSON_MAX_VALUES else rng.choice(values, ANDERSON_MAX_VALUES, replace=False)
               for values in (reference, current)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "p-value capped/floored": documented above
        result = stats.anderson_ksamp(samples, variant="midrank")
    return float(result.statistic), float(result.pvalue)


def _ecdf(sorted_sample: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Share of the sample at or below each point."""
    return np.searchsorted(sorted_sample, points, side="right") / sorted_sample.size


def _own_ecdf(sorted_sample: np.ndarray) -> np.ndarray:
    """``_ecdf(sample, sample)`` without a search: each value's share is the position of its last tie."""
    positions = np.arange(1, sorted_sample.size + 1, dtype=np.float64)
    tied_with_next = np.zeros(sorted_sample.size, dtype=bool)
    np.equal(sorted_sample[1:], sorted_sample[:-1], out=tied_with_next[:-1])
    positions[tied_with_next] = np.inf
    return np.minimum.accumulate(positions[::-1])[::-1] / sorted_sample.size


def _midranks(values: np.ndarray, *samples: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values`` in the pooled sorted samples, ties sharing their mean rank."""
    below = sum(np.searchsorted(sample, values, side="left") for sample in samples)
    at_or_below = sum(np.searchsorted(sample, values, side="right") for sample in samples)
    return (below + at_or_below + 1) / 2.0


def _cvm_limit_cdf(x: float, tolerance: float = 1e-7) -> float:
    """Limiting CDF of the Cramér-von Mises statistic, summed until a term falls below ``tolerance``:
    ``F(x) = sum_k Gamma(k + 1/2) / (Gamma(1/2) k!) sqrt(4k + 1) exp(-q_k) K_1/4(q_k) / (pi sqrt(x))``,
    ``q_k = (4k + 1)^2 / (16 x)``."""
    if x <= 0:
        return 0.0
    total, k = 0.0, 0
    while True:
        y = 4 * k + 1
        q = y * y / (16 * x)
        term = (math.exp(special.gammaln(k + 0.5) - special.gammaln(k + 1)) / (math.pi ** 1.5 * math.sqrt(x))
                * math.sqrt(y) * math.exp(-q) * special.kv(0.25, q))
        total += term
        if abs(term) < tolerance:
            return float(total)
        k += 1


# --- numeric bins ---------------------------------------------------------------------------------

def quantile_bin_edges(reference, bins: int = NUMERIC_BINS) -> np.ndarray:
    """Edges at the finite reference's quantiles ``0, 1/bins, ..., 1`` (numpy's "linear"), duplicates merged.

    Heavily tied data gets fewer bins; a constant reference gives one edge. Empty when the
    reference has no finite value. A profile can supply these edges from its own quantiles.
    """
    finite = _finite(sorted_values(reference))
    if not finite.size:
        return np.zeros(0)
    return np.unique(linear_quantiles(finite.__getitem__, finite.size, np.linspace(0.0, 1.0, bins + 1)))


def linear_quantiles(order_statistics, total: int, ranks: np.ndarray) -> np.ndarray:
    """``np.quantile(values, ranks)`` (numpy's "linear" method, the same arithmetic, so the same floats) of
    ``total`` values known by their order: ``order_statistics(positions)`` gives the values at those
    0-based places in sorted order. Each quantile interpolates between two of them, so sorted values need
    no partition pass (``np.quantile`` makes one even over sorted input) and a profile no values at all."""
    virtual = (total - 1) * np.asarray(ranks, dtype=np.float64)
    previous = np.floor(virtual)
    following = previous + 1
    at_end = virtual >= total - 1
    previous[at_end], following[at_end] = total - 1, total - 1
    gamma = virtual - np.where(at_end, -1, previous)  # numpy's gamma; irrelevant where both neighbours agree
    low = order_statistics(previous.astype(np.int64))
    high = order_statistics(following.astype(np.int64))
    difference = high - low
    return np.where(gamma >= 0.5, high - difference * (1 - gamma), low + difference * gamma)


def bin_counts(values, edges: np.ndarray) -> np.ndarray:
    """Counts in ``(-inf, e_0)``, ``[e_0, e_1)``, ..., ``[e_{m-1}, e_m]``, ``(e_m, +inf)``.

    The first and last bins hold exactly the values outside the reference range, ±inf included;
    with a single edge the bins are below, equal, above. One binary search per edge.
    """
    values = sorted_values(values)
    inner = edges[:max(len(edges) - 1, 1)]
    boundaries = np.concatenate(([0], np.searchsorted(values, inner, side="left"),
                                 [np.searchsorted(values, edges[-1], side="right"), values.size]))
    return np.diff(boundaries)


def numeric_bin_counts(reference, current, bins: int = NUMERIC_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Both samples counted in the reference's quantile bins (two empty arrays without a finite reference)."""
    edges = quantile_bin_edges(reference, bins)
    if not edges.size:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return bin_counts(reference, edges), bin_counts(current, edges)


# --- histogram statistics (aligned counts) -----------------------------------------------------------

def psi(reference_counts, current_counts) -> float:
    """Population Stability Index of two aligned count vectors (categories or bins).

    ``PSI = sum_i (c_i - r_i) ln(c_i / r_i)`` with ``r_i``/``c_i`` the reference/current proportions;
    a zero proportion becomes ``PSI_EPSILON`` (1e-4) first, without renormalising, so a category seen
    on one side only adds a large but finite term and a bin empty on both sides adds nothing.
    """
    shares = _shares_pair(reference_counts, current_counts)
    if shares is None:
        return NAN
    reference, current = (np.where(share == 0, PSI_EPSILON, share) for share in shares)
    return float(np.sum((current - reference) * np.log(current / reference)))


def jensenshannon_distance(reference_counts, current_counts) -> float:
    """Jensen-Shannon distance ``sqrt((KL(p||m) + KL(q||m)) / 2)``, ``m = (p + q) / 2``, natural log.

    As ``scipy.spatial.distance.jensenshannon`` with ``base=None``, which Evidently calls: the
    distance lies in ``[0, sqrt(ln 2)]`` (about 0.833).
    """
    shares = _shares_pair(reference_counts, current_counts)
    if shares is None:
        return NAN
    p, q = shares
    m = (p + q) / 2.0
    divergence = (np.sum(special.rel_entr(p, m)) + np.sum(special.rel_entr(q, m))) / 2.0
    return math.sqrt(max(float(divergence), 0.0))


def hellinger_distance(reference_counts, current_counts) -> float:
    """Hellinger distance ``sqrt(1 - sum_i sqrt(p_i q_i))``, equal to ``||sqrt p - sqrt q||_2 / sqrt 2``, in [0, 1]."""
    shares = _shares_pair(reference_counts, current_counts)
    if shares is None:
        return NAN
    return math.sqrt(max(1.0 - float(np.sum(np.sqrt(shares[0] * shares[1]))), 0.0))


def total_variation_distance(reference_counts, current_counts) -> float:
    """Total variation distance ``sum_i |p_i - q_i| / 2``, the largest gap in probability of any set, in [0, 1]."""
    shares = _shares_pair(reference_counts, current_counts)
    return NAN if shares is None else float(np.sum(np.abs(shares[0] - shares[1]))) / 2.0


def linf_distance(reference_counts, current_counts) -> float:
    """L-infinity distance ``max_i |p_i - q_i|``: the largest change of any one category's share (NannyML)."""
    shares = _shares_pair(reference_counts, current_counts)
    return NAN if shares is None else float(np.max(np.abs(shares[0] - shares[1])))


def chi2_test(reference_counts, current_counts) -> tuple[float, float]:
    """Pearson chi-square goodness of fit of the current counts to the reference proportions.

    Evidently's convention (``chisquare(f_obs=current, f_exp=reference * n_cur / n_ref)``): expected
    counts ``e_i = r_i n_cur / n_ref``, ``X2 = sum (c_i - e_i)^2 / e_i``, k - 1 degrees of freedom over
    the k categories seen on either side. It treats the reference proportions as known, so it is
    more sensitive than a 2 x k contingency test when the reference is small. A category absent
    from the reference but present now makes ``X2 = inf`` and ``p = 0``; one category in all
    gives ``(0, 1)``. ``(nan, nan)`` when either side has no counts.
    """
    return _goodness_of_fit(reference_counts, current_counts, lambda observed, expected: (
        (observed - expected) ** 2 / expected))


def g_test(reference_counts, current_counts) -> tuple[float, float]:
    """G-test (log-likelihood ratio) goodness of fit, expected counts as :func:`chi2_test`.

    ``G = 2 sum c_i ln(c_i / e_i)`` (terms with ``c_i = 0`` are 0), k - 1 degrees of freedom: as
    ``scipy.stats.power_divergence(current, expected, lambda_="log-likelihood")``. Evidently passes
    the raw reference counts as expected values, which scipy rejects unless both samples have the
    same size; here they are scaled to the current total first. Unseen and single categories as
    :func:`chi2_test`.
    """
    return _goodness_of_fit(reference_counts, current_counts, lambda observed, expected: (
        2.0 * special.xlogy(observed, observed / expected)))


def z_test(reference_counts, current_counts) -> tuple[float, float]:
    """Pooled two-proportion Z-test for a column with at most two values (Evidently's "z" test).

    With ``p1``/``p2`` the reference/current share of the first category and ``P`` the pooled
    share: ``z = (p1 - p2) / sqrt(P (1 - P) (1/n1 + 1/n2))``, two-sided ``p = 2 (1 - Phi(|z|))``.
    Both samples all in one same category: ``(0, 1)``. ``(nan, nan)`` with more than two categories
    or an empty side.
    """
    from scipy import stats  # here, not at import: most days never need it (0.5 s, 50 MB)

    reference = np.asarray(reference_counts, dtype=np.float64)
    current = np.asarray(current_counts, dtype=np.float64)
    seen = (reference + current) > 0
    reference, current = reference[seen], current[seen]
    n1, n2 = reference.sum(), current.sum()
    if reference.size > 2 or n1 <= 0 or n2 <= 0:
        return NAN, NAN
    if reference.size == 1:
        return 0.0, 1.0
    p1, p2 = reference[0] / n1, current[0] / n2
    pooled = (reference[0] + current[0]) / (n1 + n2)
    z = float((p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)))
    return z, float(2.0 * stats.norm.sf(abs(z)))


def _goodness_of_fit(reference_counts, current_counts, terms) -> tuple[float, float]:
    from scipy import stats  # here, not at import: most days never need it (0.5 s, 50 MB)

    reference = np.asarray(reference_counts, dtype=np.float64)
    current = np.asarray(current_counts, dtype=np.float64)
    if _shares(reference) is None or _shares(current) is None:
        return NAN, NAN
    seen = (reference + current) > 0
    reference, current = reference[seen], current[seen]
    if reference.size == 1:
        return 0.0, 1.0
    if ((reference == 0) & (current > 0)).any():
        return math.inf, 0.0
    expected = reference * (current.sum() / reference.sum())
    statistic = float(np.sum(terms(current, expected)))
    return statistic, float(stats.chi2.sf(statistic, reference.size - 1))


# --- categories -----------------------------------------------------------------------------------

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
    values is compared as categories); equal numbers align across int and float dtypes. A profile
    holds the same reference counts.
    """
    reference = reference if isinstance(reference, pd.Series) else pd.Series(reference)
    current = current if isinstance(current, pd.Series) else pd.Series(current)
    reference_counts, current_counts = _present_counts(reference), _present_counts(current)
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


def _present_counts(values: pd.Series) -> pd.Series:
    """How often each value occurs, nulls left out; a categorical's unused categories are not values."""
    counts = values.value_counts(dropna=True, sort=False)
    return counts[counts > 0] if isinstance(values.dtype, pd.CategoricalDtype) else counts


def _finite(values: np.ndarray) -> np.ndarray:
    finite = np.isfinite(values)
    return values if finite.all() else values[finite]


def _shares(counts) -> np.ndarray | None:
    """Counts as proportions, or None when there is nothing to divide."""
    array = np.asarray(counts, dtype=np.float64)
    total = array.sum()
    if array.size == 0 or not math.isfinite(total) or total <= 0:
        return None
    return array / total


def _shares_pair(reference_counts, current_counts) -> tuple[np.ndarray, np.ndarray] | None:
    reference, current = _shares(reference_counts), _shares(current_counts)
    return None if reference is None or current is None else (reference, current)
