"""The drift methods by config name: what each reads, what it is called in the metric tables, how it decides.

A method reads either both samples' sorted values (``reads="values"``) or both histograms on the
same bins or categories (``reads="counts"``). Tests decide on a p-value (drift when p < threshold),
distances on their value (drift when >= threshold).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from monitoring_jobs.config import CATEGORICAL_DRIFT_METHODS, NUMERIC_DRIFT_METHODS, P_VALUE_METHODS
from monitoring_jobs.drift import stats

NAN = float("nan")
Compare = Callable[[np.ndarray, np.ndarray], tuple[float, float]]


@dataclass(frozen=True)
class Method:
    name: str
    label: str
    statistic: str
    """Metric name of the statistic (a distance, or a test's statistic)."""
    p_value: str | None
    """Metric name of the p-value; None for distances."""
    reads: str  # "values" | "counts"
    compare: Compare
    """(reference, current) -> (statistic, p-value or NaN)."""

    @property
    def is_test(self) -> bool:
        return self.p_value is not None


def _distance(function: Callable[[np.ndarray, np.ndarray], float]) -> Compare:
    return lambda reference, current: (function(reference, current), NAN)


METHODS: dict[str, Method] = {method.name: method for method in (
    Method("ks", "Kolmogorov-Smirnov", "ks_statistic", "ks_p_value", "values", stats.ks_test),
    Method("wasserstein", "normed Wasserstein", "wasserstein_normed", None, "values",
           _distance(stats.wasserstein_normed)),
    Method("cramervonmises", "Cramér-von Mises", "cramervonmises_statistic", "cramervonmises_p_value", "values",
           stats.cramer_von_mises_test),
    Method("anderson", "Anderson-Darling", "anderson_statistic", "anderson_p_value", "values",
           stats.anderson_darling_test),
    Method("psi", "PSI", "psi", None, "counts", _distance(stats.psi)),
    Method("jensenshannon", "Jensen-Shannon distance", "jensenshannon", None, "counts",
           _distance(stats.jensenshannon_distance)),
    Method("hellinger", "Hellinger distance", "hellinger", None, "counts", _distance(stats.hellinger_distance)),
    Method("total_variation", "total variation distance", "total_variation", None, "counts",
           _distance(stats.total_variation_distance)),
    Method("linf", "L-infinity distance", "linf_distance", None, "counts", _distance(stats.linf_distance)),
    Method("chi2", "chi-square", "chi2_statistic", "chi2_p_value", "counts", stats.chi2_test),
    Method("g_test", "G-test", "g_test_statistic", "g_test_p_value", "counts", stats.g_test),
    Method("z_test", "Z-test", "z_test_statistic", "z_test_p_value", "counts", stats.z_test),
)}

assert set(METHODS) == set(NUMERIC_DRIFT_METHODS) | set(CATEGORICAL_DRIFT_METHODS), "config and methods disagree"
assert {name for name, method in METHODS.items() if method.is_test} == P_VALUE_METHODS
