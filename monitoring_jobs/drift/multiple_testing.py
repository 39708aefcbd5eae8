"""Corrections for testing many features at once: with 100 features at p < 0.05, five drift by chance."""

from __future__ import annotations

import numpy as np

CORRECTION_NAMES = {"bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni", "none": "no"}


def adjust_p_values(p_values, method: str) -> np.ndarray:
    """Adjusted p-values; a feature drifts when its adjusted p-value is below its threshold.

    - ``bh`` (Benjamini-Hochberg, the default): with the m p-values in ascending order,
      ``p~_(i) = min_{j >= i} min(1, m p_(j) / j)``. Flagging adjusted p < alpha keeps the expected
      share of false alarms among the flagged features at most alpha (for independent tests);
    - ``bonferroni``: ``min(1, m p)``, which bounds the chance of any false alarm by alpha;
    - ``none``: the p-values as they are (Evidently's behaviour).
    """
    p = np.asarray(p_values, dtype=np.float64)
    if method == "none" or p.size == 0:
        return p.copy()
    m = p.size
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    if method != "bh":
        raise ValueError(f"unknown multiple-testing correction '{method}'; use bh, bonferroni or none")
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return adjusted
