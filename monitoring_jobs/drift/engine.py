"""Per-feature drift of one day against its reference, and the day's verdict.

Every statistic is computed for every feature so the report can show them side by side; one of
them (chosen by the config, or by Evidently's default rules under ``auto``) decides whether the
feature drifted. Problems with the data (a missing column, a column with no values) become an
unjudged feature with a reason, never an exception.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitoring_jobs.config import DriftConfig, MonitorConfig, Severity, Task
from monitoring_jobs.drift.stats import (
    align_categories,
    chi2_test,
    jensenshannon_distance,
    ks_test,
    numeric_bin_counts,
    psi_categorical,
    split_nan,
    wasserstein_normed,
)
from monitoring_jobs.metrics import Metric, Status, failure_status

AREA = "drift"
SMALL_REFERENCE_MAX_ROWS = 1000
"""Evidently's ``auto``: references up to this many values use tests (p-values), larger ones distances."""
CATEGORICAL_LIKE_MAX_DISTINCT = 5
"""Evidently's ``auto``: a numeric column with at most this many distinct values is compared as categories."""
PSI_BINS = 10

NAN = float("nan")

# method -> (statistic key, p-value key); the decision is taken on the p-value when there is one.
_METHOD_KEYS: dict[str, tuple[str, str | None]] = {
    "ks": ("ks_statistic", "ks_p_value"),
    "chi2": ("chi2_statistic", "chi2_p_value"),
    "wasserstein": ("wasserstein_normed", None),
    "jensenshannon": ("jensenshannon", None),
    "psi": ("psi", None),
}


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one column. ``statistic``/``p_value`` are those of ``method``; NaN when it could not be judged.

    ``reference_rows``/``current_rows`` count the rows of each frame; ``*_nulls`` how many of them
    were null (or not numbers, for a numeric column) and so were left out of every statistic.
    """

    feature: str
    kind: str  # "numeric" | "categorical"
    method: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    statistics: dict[str, float]
    reference_rows: int
    current_rows: int
    unseen_categories: tuple[str, ...] = ()
    reference_nulls: int = 0
    current_nulls: int = 0
    detail: str = ""

    @property
    def decision_metric(self) -> str | None:
        """Name of the statistic the verdict is taken on, or None if no method could be chosen."""
        if self.method not in _METHOD_KEYS:
            return None
        statistic_key, p_value_key = _METHOD_KEYS[self.method]
        return p_value_key or statistic_key

    @property
    def judged(self) -> bool:
        decision = self.decision_metric
        return decision is not None and not math.isnan(self.statistics.get(decision, NAN))

    def metrics(self, severity: Severity, verdict_metric: str = "drift_detected") -> list[Metric]:
        """One INFO Metric per statistic, the judged decision statistic, and the 1/0 verdict."""
        decision = self.decision_metric
        if self.judged:
            status = failure_status(severity) if self.drifted else Status.OK
            verdict_value = 1.0 if self.drifted else 0.0
        else:
            status, verdict_value = Status.MISSING, NAN
        metrics = []
        for name, value in self.statistics.items():
            if name == decision:
                metrics.append(Metric(AREA, name, value, feature=self.feature, threshold=self.threshold,
                                      status=status, detail=self.detail))
            else:
                metrics.append(Metric(AREA, name, value, feature=self.feature))
        metrics.append(Metric(AREA, verdict_metric, verdict_value, feature=self.feature, status=status,
                              detail=self.detail))
        return metrics


@dataclass(frozen=True)
class DriftReport:
    """All features of one day. ``drifted_share`` counts judged features only (NaN when none could be judged)."""

    features: list[FeatureDrift]
    prediction: FeatureDrift | None
    drifted_share: float
    dataset_drift: bool
    dataset_drift_share: float | None = None

    def drifted_features(self) -> list[str]:
        return [feature.feature for feature in self.features if feature.drifted]

    def metrics(self, severity: Severity) -> list[Metric]:
        metrics = [metric for feature in self.features for metric in feature.metrics(severity)]
        if self.prediction is not None:
            metrics += self.prediction.metrics(severity, verdict_metric="prediction_drift")
        judged = sum(feature.judged for feature in self.features)
        if math.isnan(self.drifted_share):
            status, detail = Status.MISSING, "no feature could be judged"
        else:
            status = failure_status(severity) if self.dataset_drift else Status.OK
            detail = (f"{len(self.drifted_features())} of {judged} judged features drifted; "
                      f"dataset drift when the share is >= the threshold")
        dataset_drift_value = NAN if status is Status.MISSING else float(self.dataset_drift)
        metrics += [
            Metric(AREA, "drifted_feature_share", self.drifted_share, threshold=self.dataset_drift_share,
                   status=status, detail=detail),
            Metric(AREA, "dataset_drift", dataset_drift_value, threshold=self.dataset_drift_share,
                   status=status, detail=detail),
        ]
        return metrics


def choose_method(kind: str, config: DriftConfig, reference_values: int, distinct_values: int) -> str:
    """The decision method for one column; ``auto`` follows Evidently's default rules.

    Evidently (``_get_default_stattest``): a reference of at most 1000 non-null values is judged
    by KS (numeric with more than 5 distinct values, counted over both samples) or chi-square
    (categorical, or numeric with at most 5 distinct values); a larger reference by normed
    Wasserstein (numeric with more than 5 distinct values) or Jensen-Shannon (the rest).
    Evidently's z-test for two-valued columns is the uncorrected 2 x 2 chi-square used here.
    """
    configured = config.numeric_method if kind == "numeric" else config.categorical_method
    if configured != "auto":
        return configured
    small = reference_values <= SMALL_REFERENCE_MAX_ROWS
    if kind == "numeric" and distinct_values > CATEGORICAL_LIKE_MAX_DISTINCT:
        return "ks" if small else "wasserstein"
    return "chi2" if small else "jensenshannon"


def compute_drift(reference: pd.DataFrame, current: pd.DataFrame, monitor: MonitorConfig) -> DriftReport:
    """Compare every configured feature and the model output of ``current`` with ``reference``."""
    config = monitor.drift
    columns = monitor.columns
    features = [_column_drift(name, "numeric", reference, current, config) for name in columns.numeric_features]
    features += [_column_drift(name, "categorical", reference, current, config)
                 for name in columns.categorical_features]
    prediction = _prediction_drift(reference, current, monitor)
    judged = [feature for feature in features if feature.judged]
    drifted_share = sum(feature.drifted for feature in judged) / len(judged) if judged else NAN
    return DriftReport(
        features=features,
        prediction=prediction,
        drifted_share=drifted_share,
        dataset_drift=bool(drifted_share >= config.dataset_drift_share),
        dataset_drift_share=config.dataset_drift_share,
    )


def _prediction_drift(reference: pd.DataFrame, current: pd.DataFrame, monitor: MonitorConfig) -> FeatureDrift | None:
    """A binary classifier's score, a regressor's prediction (numeric), a multiclass label (categorical)."""
    columns = monitor.columns
    if monitor.task is Task.BINARY_CLASSIFICATION:
        name, kind = columns.score, "numeric"
    elif monitor.task is Task.MULTICLASS_CLASSIFICATION:
        name, kind = columns.prediction, "categorical"
    else:
        name, kind = columns.prediction, "numeric"
    if name is None:
        return None
    return _column_drift(name, kind, reference, current, monitor.drift)


def _column_drift(name: str, kind: str, reference: pd.DataFrame, current: pd.DataFrame,
                  config: DriftConfig) -> FeatureDrift:
    absent = [side for side, frame in (("reference", reference), ("current", current)) if name not in frame.columns]
    if absent:
        return _unjudged(name, kind, config, len(reference), len(current),
                         f"column '{name}' is not in the {' and '.join(absent)} data")
    if kind == "numeric":
        return _numeric_drift(name, reference[name], current[name], config)
    return _categorical_drift(name, reference[name], current[name], config)


def _numeric_drift(name: str, reference: pd.Series, current: pd.Series, config: DriftConfig) -> FeatureDrift:
    reference_values, reference_dropped, reference_invalid = _numeric_values(reference)
    current_values, current_dropped, current_invalid = _numeric_values(current)
    empty = _empty_sides(reference_values.size, current_values.size)
    if empty:
        return _unjudged(name, "numeric", config, len(reference), len(current), empty,
                         reference_dropped, current_dropped)
    reference_sorted = np.sort(reference_values)
    current_sorted = np.sort(current_values)
    statistics: dict[str, float] = {}
    statistics["ks_statistic"], statistics["ks_p_value"] = ks_test(reference_sorted, current_sorted)
    statistics["wasserstein_normed"] = wasserstein_normed(reference_sorted, current_sorted)
    statistics["psi"] = psi_categorical(*numeric_bin_counts(reference_sorted, current_sorted, PSI_BINS))
    distinct = _distinct_count_capped(reference_sorted, current_sorted, CATEGORICAL_LIKE_MAX_DISTINCT)
    unseen: tuple[str, ...] = ()
    if distinct <= CATEGORICAL_LIKE_MAX_DISTINCT:
        counts = align_categories(reference_sorted, current_sorted)
        statistics.update(_category_statistics(counts.reference, counts.current, with_psi=False))
        unseen = counts.unseen
    notes = [_invalid_note(side, count) for side, count in (("reference", reference_invalid),
                                                             ("current", current_invalid)) if count]
    return _judge(name, "numeric", config, statistics, reference, current, reference_values.size, distinct,
                  reference_dropped, current_dropped, unseen, notes)


def _categorical_drift(name: str, reference: pd.Series, current: pd.Series, config: DriftConfig) -> FeatureDrift:
    counts = align_categories(reference, current)
    empty = _empty_sides(int(counts.reference.sum()), int(counts.current.sum()))
    if empty:
        return _unjudged(name, "categorical", config, len(reference), len(current), empty,
                         counts.reference_nulls, counts.current_nulls)
    statistics = _category_statistics(counts.reference, counts.current, with_psi=True)
    return _judge(name, "categorical", config, statistics, reference, current, int(counts.reference.sum()),
                  len(counts.categories), counts.reference_nulls, counts.current_nulls, counts.unseen, [])


def _category_statistics(reference_counts: np.ndarray, current_counts: np.ndarray, *,
                         with_psi: bool) -> dict[str, float]:
    statistics: dict[str, float] = {}
    statistics["chi2_statistic"], statistics["chi2_p_value"] = chi2_test(reference_counts, current_counts)
    statistics["jensenshannon"] = jensenshannon_distance(reference_counts, current_counts)
    if with_psi:
        statistics["psi"] = psi_categorical(reference_counts, current_counts)
    return statistics


def _judge(name: str, kind: str, config: DriftConfig, statistics: dict[str, float], reference: pd.Series,
           current: pd.Series, reference_values: int, distinct: int, reference_nulls: int, current_nulls: int,
           unseen: tuple[str, ...], notes: list[str]) -> FeatureDrift:
    """Pick the decision method, apply its threshold and explain the choice in ``detail``."""
    method = choose_method(kind, config, reference_values, distinct)
    threshold = _threshold(config, method)
    statistic_key, p_value_key = _METHOD_KEYS[method]
    decision_value = statistics[p_value_key or statistic_key]
    drifted = bool(decision_value < threshold) if p_value_key else bool(decision_value >= threshold)
    rule = f"{p_value_key} < {threshold:g}" if p_value_key else f"{statistic_key} >= {threshold:g}"
    why = ""
    if (config.numeric_method if kind == "numeric" else config.categorical_method) == "auto":
        size = "<=" if reference_values <= SMALL_REFERENCE_MAX_ROWS else ">"
        why = f" (auto: {reference_values} reference values {size} {SMALL_REFERENCE_MAX_ROWS}"
        if kind == "numeric":
            many = distinct > CATEGORICAL_LIKE_MAX_DISTINCT
            why += f", {'more than' if many else 'at most'} {CATEGORICAL_LIKE_MAX_DISTINCT} distinct values"
        why += ")"
    parts = [f"drift when {rule}{why}"]
    if math.isnan(decision_value):
        parts.insert(0, f"{p_value_key or statistic_key} could not be computed (no finite values to compare)")
    if unseen:
        parts.append(f"{len(unseen)} categories not in the reference: {', '.join(unseen[:5])}"
                     + (", ..." if len(unseen) > 5 else ""))
    if reference_nulls or current_nulls:
        parts.append(f"left out {reference_nulls} reference and {current_nulls} current values that are null")
    return FeatureDrift(
        feature=name, kind=kind, method=method, statistic=statistics[statistic_key],
        p_value=statistics[p_value_key] if p_value_key else None, threshold=threshold, drifted=drifted,
        statistics=statistics, reference_rows=len(reference), current_rows=len(current),
        unseen_categories=unseen, reference_nulls=reference_nulls, current_nulls=current_nulls,
        detail="; ".join(parts + notes),
    )


def _unjudged(name: str, kind: str, config: DriftConfig, reference_rows: int, current_rows: int, reason: str,
              reference_nulls: int = 0, current_nulls: int = 0) -> FeatureDrift:
    """A column that cannot be compared; its method is the configured one (``auto`` stays undecided)."""
    method = config.numeric_method if kind == "numeric" else config.categorical_method
    return FeatureDrift(
        feature=name, kind=kind, method=method, statistic=NAN, p_value=None,
        threshold=_threshold(config, method) if method in _METHOD_KEYS else NAN, drifted=False, statistics={},
        reference_rows=reference_rows, current_rows=current_rows, reference_nulls=reference_nulls,
        current_nulls=current_nulls, detail=f"not judged: {reason}",
    )


def _threshold(config: DriftConfig, method: str) -> float:
    return float(getattr(config.thresholds, method))


def _numeric_values(series: pd.Series) -> tuple[np.ndarray, int, int]:
    """Non-null values as float64, the number left out, and how many of those were not numbers at all."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        invalid = 0
    else:
        coerced = pd.to_numeric(series, errors="coerce")
        values = coerced.to_numpy(dtype=np.float64, na_value=np.nan)
        invalid = int(coerced.isna().sum() - series.isna().sum())
    kept, dropped = split_nan(values)
    return kept, dropped, invalid


def _invalid_note(side: str, count: int) -> str:
    return f"{count} of the left-out {side} values are not numbers"


def _empty_sides(reference_values: int, current_values: int) -> str:
    """'' when both samples have values, else a reason naming the empty side(s)."""
    empty = [side for side, size in (("reference", reference_values), ("current", current_values)) if size == 0]
    return f"no non-null values in the {' and '.join(empty)} data" if empty else ""


def _distinct_count_capped(reference_sorted: np.ndarray, current_sorted: np.ndarray, cap: int) -> int:
    """Distinct values over both sorted samples, exact up to ``cap``; above it, some number greater than ``cap``."""
    reference_distinct = _distinct_sorted(reference_sorted)
    current_distinct = _distinct_sorted(current_sorted)
    if max(reference_distinct.size, current_distinct.size) > cap:
        return max(reference_distinct.size, current_distinct.size)
    return int(np.union1d(reference_distinct, current_distinct).size)


def _distinct_sorted(values: np.ndarray) -> np.ndarray:
    if not values.size:
        return values
    first = np.empty(values.size, dtype=bool)
    first[0] = True
    np.not_equal(values[1:], values[:-1], out=first[1:])
    return values[first]
