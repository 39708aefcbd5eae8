"""Drift of one day against its reference: per column, across features, and of all features together.

Per column, one method decides (the column's override in ``drift.features``, the kind's configured
method, or Evidently's default rules under ``auto``); only that method is computed. A test's p-values
across the features are corrected for multiple testing; a calibrated column is judged against the
band its statistic spans over the reference's own days instead of a fixed threshold. Problems with
the data (a missing column, a column with no values) become an unjudged column with a reason, never
an exception.

Each column is reduced first to what its method reads: both samples' sorted values, or both
histograms on the same bins (reference quantile bins for numbers, categories otherwise). A reference
supplied as a profile (the merge of stored day profiles: a rolling reference) instead of rows
provides the same from its summaries, and says how far each statistic may be from the one its rows
would give (``FeatureDrift.error_bound``):

- category counts and the counts of numbers with few distinct values are exact, so every histogram
  statistic and test on them (PSI, Jensen-Shannon, chi-square, G, Z, ...) equals the raw one;
- KS and normed Wasserstein read the reference's distribution: exact for columns with at most 32
  distinct values, else its KLL sketch, within the bound the sketch guarantees;
- quantile bins (PSI, Jensen-Shannon, Hellinger on many-valued numbers) are cut at the sketch's
  deciles and the reference's counts in them estimated from it: each bin's share within the sketch's
  PMF bound, with no bound on the statistic itself (NaN);
- Cramér-von Mises and Anderson-Darling, calibration and the multivariate reconstruction error need
  rows: they read the profile's row sample, which holds every row of days up to 5,000 rows (exact),
  else a uniform sample of them (approximate, NaN bound).
"""

from __future__ import annotations

import contextvars
import dataclasses
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitoring_jobs.blas import single_threaded_blas
from monitoring_jobs.config import Bound, DriftConfig, MonitorConfig, Severity, Task
from monitoring_jobs.drift import stats
from monitoring_jobs.drift.calibration import Band, ReferenceChunks, band, reference_chunks
from monitoring_jobs.drift.methods import METHODS, Method
from monitoring_jobs.drift.multiple_testing import CORRECTION_NAMES, adjust_p_values
from monitoring_jobs.drift.multivariate import ReconstructionDrift, reconstruction_drift
from monitoring_jobs.metrics import Metric, Status, failure_status, judged_metric
from monitoring_jobs.profiles.profile import (
    CategoricalProfile,
    DayProfile,
    NumericProfile,
    numeric_values,
    profile_categorical,
)
from monitoring_jobs.profiles.stats import (
    category_counts,
    is_exact,
    ks_test_from_profile,
    sketch_bin_counts,
    wasserstein_normed_from_profile,
)
from monitoring_jobs.profiles.stats import quantile_bin_edges as profile_quantile_bin_edges
from monitoring_jobs.storage import ParquetColumns

AREA = "drift"
SMALL_REFERENCE_MAX_ROWS = 1000
"""Evidently's ``auto``: references up to this many values use tests (p-values), larger ones distances."""
CATEGORICAL_LIKE_MAX_DISTINCT = 5
"""A numeric column with at most this many distinct values (both samples) is binned by value, and under
``auto`` judged as categories (Evidently's rule)."""
VERDICT_METRICS = {"feature": "drift_detected", "prediction": "prediction_drift", "label": "label_drift"}
MAX_NAMED_UNSEEN = 5
NAN = float("nan")
PROFILE_STATISTICS = {"ks": ks_test_from_profile, "wasserstein": wasserstein_normed_from_profile}
"""Methods that read a profiled reference's distribution itself rather than its row sample."""


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one column. ``statistic``/``p_value`` are those of ``method`` (p-value raw, None for distances).

    The verdict is taken on ``decision_metric`` (a p-value, an adjusted p-value, or the statistic) against
    ``threshold``; ``band`` is set when the threshold was calibrated on the reference. ``reference_rows``/
    ``current_rows`` count the values compared; ``*_nulls`` the rows left out (null, or not a number).
    ``error_bound``: how far ``statistic`` may be from its value on the reference's rows: 0 when exact (rows,
    or exact counts of a profile), the sketch's 99%-confidence bound for KS and Wasserstein from a profile,
    NaN when estimated without a bound (quantile bins from a sketch, a subsampled reference).
    """

    feature: str
    kind: str  # "numeric" | "categorical"
    method: str  # "" when no method could be chosen
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    reference_rows: int
    current_rows: int
    reference_nulls: int = 0
    current_nulls: int = 0
    unseen_categories: tuple[str, ...] = ()
    detail: str = ""
    role: str = "feature"  # "feature" | "prediction" | "label"
    decision_metric: str | None = None
    decision_value: float = NAN
    band: Band | None = None
    error_bound: float = 0.0

    @property
    def judged(self) -> bool:
        return self.decision_metric is not None and not math.isnan(self.decision_value)

    @property
    def decided_on_p_value(self) -> bool:
        return self.decision_metric is not None and "p_value" in self.decision_metric

    def metrics(self, severity: Severity) -> list[Metric]:
        """The statistic and p-value, the judged decision figure, the 1/0 verdict and the sample sizes."""
        verdict = VERDICT_METRICS[self.role]
        if not self.judged:
            metrics = [Metric(AREA, verdict, NAN, feature=self.feature, status=Status.MISSING, detail=self.detail)]
            if self.decision_metric:
                metrics.insert(0, Metric(AREA, self.decision_metric, NAN, feature=self.feature,
                                         threshold=self.threshold, status=Status.MISSING, detail=self.detail))
            return metrics
        method = METHODS[self.method]
        status = failure_status(severity) if self.drifted else Status.OK
        figures = {method.statistic: self.statistic}
        if method.p_value is not None:
            figures[method.p_value] = self.p_value if self.p_value is not None else NAN
        figures[self.decision_metric] = self.decision_value
        metrics = [Metric(AREA, name, value, feature=self.feature, threshold=self.threshold, status=status,
                          detail=self.detail) if name == self.decision_metric
                   else Metric(AREA, name, value, feature=self.feature) for name, value in figures.items()]
        if 0 < self.error_bound < math.inf:  # the statistic of a sketch: its interval holds the exact value
            metrics = [dataclasses.replace(metric, lower=max(self.statistic - self.error_bound, 0.0),
                                           upper=self.statistic + self.error_bound)
                       if metric.metric == method.statistic else metric for metric in metrics]
        metrics.append(Metric(AREA, verdict, float(self.drifted), feature=self.feature, status=status,
                              detail=self.detail))
        metrics += [Metric(AREA, "reference_rows", float(self.reference_rows), feature=self.feature),
                    Metric(AREA, "current_rows", float(self.current_rows), feature=self.feature)]
        return metrics


@dataclass(frozen=True)
class DriftReport:
    """All columns of one day. ``drifted_share`` counts judged features only (NaN when none could be judged)."""

    features: list[FeatureDrift]
    prediction: FeatureDrift | None
    drifted_share: float
    dataset_drift: bool
    dataset_drift_share: float | None = None
    label: FeatureDrift | None = None
    multivariate: ReconstructionDrift | None = None
    multivariate_note: str = ""

    def drifted_features(self) -> list[str]:
        return [feature.feature for feature in self.features if feature.drifted]

    def with_label_drift(self, labels: DriftLabels, monitor: MonitorConfig) -> DriftReport:
        """This report with the day's arrived labels judged against the reference's: a caller can judge the
        features while the labels are still being joined."""
        return dataclasses.replace(self, label=_column_drift(monitor.columns.label, label_kind(monitor),
                                                             labels.reference, labels.current, monitor.drift,
                                                             chunks=None, role="label"))

    @property
    def multivariate_drifted(self) -> bool:
        return self.multivariate is not None and self.multivariate.drifted

    def metrics(self, severity: Severity) -> list[Metric]:
        metrics = [metric for column in (*self.features, self.prediction, self.label) if column is not None
                   for metric in column.metrics(severity)]
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
        if self.multivariate is not None:
            found = self.multivariate
            metrics.append(judged_metric(
                AREA, "multivariate_reconstruction_error", found.error,
                Bound(min=found.band.lower, max=found.band.upper, severity=severity),
                detail=f"PCA on {found.columns} features kept {found.components} components; "
                       f"{self.multivariate_note}"))
        elif self.multivariate_note:
            metrics.append(Metric(AREA, "multivariate_reconstruction_error", NAN, status=Status.MISSING,
                                  detail=f"not computed: {self.multivariate_note}"))
        return metrics


@dataclass(frozen=True)
class DriftLabels:
    """The label of the reference rows (or its column profile) and of the day's rows whose labels have arrived."""

    reference: pd.Series | NumericProfile | CategoricalProfile
    current: pd.Series


def choose_method(kind: str, config: DriftConfig, reference_values: int, distinct_values: int,
                  column: str = "") -> str:
    """The decision method of one column: its override, the kind's method, or Evidently's defaults under ``auto``.

    Evidently (``_get_default_stattest``): a reference of at most 1000 values is judged by KS
    (numeric with more than 5 distinct values over both samples), chi-square (more than 2 values)
    or the two-proportion Z-test (2 values); a larger one by normed Wasserstein (numeric with more
    than 5 distinct values) or Jensen-Shannon (the rest).
    """
    override = config.features.get(column)
    if override is not None and override.method is not None:
        return override.method
    configured = config.numeric_method if kind == "numeric" else config.categorical_method
    if configured != "auto":
        return configured
    many_values = kind == "numeric" and distinct_values > CATEGORICAL_LIKE_MAX_DISTINCT
    if reference_values <= SMALL_REFERENCE_MAX_ROWS:
        return "ks" if many_values else "chi2" if distinct_values > 2 else "z_test"
    return "wasserstein" if many_values else "jensenshannon"


@dataclass(frozen=True)
class SortedColumn:
    """A numeric column reduced to what drift reads of it as a reference: its non-null values sorted (±inf
    included), how many were null and how many were text that is not a number. A reference file's are the same
    every day, so the drift stage keeps them (``stages.sorted_reference``) instead of sorting them again."""

    values: np.ndarray
    nulls: int
    not_numbers: int

    @classmethod
    def of(cls, values: pd.Series) -> SortedColumn:
        kept, nulls, not_numbers = _numeric_values(values)
        return cls(_sorted_own(kept), nulls, not_numbers)


def sorted_columns_read(monitor: MonitorConfig) -> list[str]:
    """The numeric columns whose reference drift reads as a :class:`SortedColumn`: every numeric feature and
    numeric model output, except those calibrated on the reference's days (they read each value's day)."""
    config, columns = monitor.drift, monitor.columns
    names = list(columns.numeric_features)
    output, kind = output_column(monitor)
    if output is not None and kind == "numeric":
        names.append(output)
    return [name for name in dict.fromkeys(names) if not _calibrates(config, name)]


@single_threaded_blas()
def compute_drift(reference: pd.DataFrame | ParquetColumns | DayProfile, current: pd.DataFrame | ParquetColumns,
                  monitor: MonitorConfig, sorted_reference: dict[str, SortedColumn] | None = None) -> DriftReport:
    """Compare every configured feature and the model output with the reference (the label: ``with_label_drift``):
    its rows, or a profile of them (see the module docstring for what a profile gives exactly).

    Rows given as ``ParquetColumns`` are read a column at a time as each column is judged, so a large day
    never sits in memory whole (the multivariate error streams blocks of rows). ``sorted_reference`` holds
    reference columns already sorted (see ``sorted_columns_read``): those are not sorted again."""
    config = monitor.drift
    columns = monitor.columns
    profile = reference if isinstance(reference, DayProfile) else None
    rows = reference if profile is None else profile.sample  # what calibration and the multivariate error read
    kinds = [(name, "numeric") for name in columns.numeric_features]
    kinds += [(name, "categorical") for name in columns.categorical_features]
    output, kind = output_column(monitor)
    chunked = config.multivariate.enabled or any(_calibrates(config, name) for name in (*dict(kinds), output))
    chunks = None if rows is None or not chunked else reference_chunks(rows, columns.timestamp,
                                                                        config.calibration.chunks)

    def column_drift(name: str, kind: str, role: str = "feature") -> FeatureDrift:
        if profile is None:
            prepared = (sorted_reference or {}).get(name) if kind == "numeric" else None
            return _column_drift(name, kind, reference.get(name) if prepared is None else prepared,
                                 current.get(name), config, chunks, role)
        return _column_drift(name, kind, profile.columns.get(name), current.get(name), config, chunks, role,
                             sample=None if rows is None else rows.get(name),
                             sample_complete=profile.sample_is_complete)

    def judge(context: contextvars.Context, column: tuple[str, str]) -> FeatureDrift:
        return context.run(column_drift, *column)

    # numpy releases the GIL while sorting and searching, most of the work on large days. Each column runs in
    # a copy of the caller's context, so numpy error states the caller set still hold in the worker threads.
    with ThreadPoolExecutor(max_workers=max(1, min(len(kinds), os.cpu_count() or 1))) as pool:
        features = list(pool.map(judge, [contextvars.copy_context() for _ in kinds], kinds))
    features = _correct_for_multiple_testing(features, config.multiple_testing)
    prediction = None if output is None else column_drift(output, kind, role="prediction")
    judged = [feature for feature in features if feature.judged]
    drifted_share = sum(feature.drifted for feature in judged) / len(judged) if judged else NAN
    multivariate, note = None, ""
    if config.multivariate.enabled and rows is None:
        note = "the reference profiles hold no row sample to fit the PCA on"
    elif config.multivariate.enabled:
        found = reconstruction_drift(rows, current, columns.numeric_features, columns.categorical_features,
                                     variance=config.multivariate.variance, chunks=chunks,
                                     k_std=config.calibration.k_std)
        source = "" if profile is None else (
            f" of the stored profiles' row sample ({len(rows):,} of {profile.rows:,} reference rows)")
        multivariate, note = (None, found) if isinstance(found, str) else (
            found, f"band from {chunks.description}{source}" + (f"; {found.sampled}" if found.sampled else ""))
    return DriftReport(
        features=features, prediction=prediction, drifted_share=drifted_share,
        dataset_drift=bool(drifted_share >= config.dataset_drift_share),
        dataset_drift_share=config.dataset_drift_share, multivariate=multivariate, multivariate_note=note,
    )


def label_kind(monitor: MonitorConfig) -> str:
    """A regressor's label is a number; a classifier's a class."""
    return "numeric" if monitor.task is Task.REGRESSION else "categorical"


def output_column(monitor: MonitorConfig) -> tuple[str | None, str]:
    """A binary classifier's score, a regressor's prediction (numeric), a multiclass label (categorical)."""
    columns = monitor.columns
    if monitor.task is Task.BINARY_CLASSIFICATION:
        return columns.score, "numeric"
    if monitor.task is Task.MULTICLASS_CLASSIFICATION:
        return columns.prediction, "categorical"
    return columns.prediction, "numeric"


# --- one column ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Samples:
    """One column reduced to what the methods read. Numeric columns keep sorted values (with each
    reference value's chunk, for calibration); ``counts`` are on reference quantile bins or categories.

    From a profiled reference: ``reference_profile`` is a numeric column's profile (KS and Wasserstein
    read it), ``reference_values`` its row sample's values (None without one), and ``counts_bound`` /
    ``values_bound`` say how far statistics on the counts / values may be from the reference rows' ones
    (0: exact, NaN: estimated without a bound).
    """

    reference_values: np.ndarray | None
    current_values: np.ndarray | None
    reference_chunk: np.ndarray | None  # chunk label of each sorted reference value / each reference code
    reference_codes: np.ndarray | None  # categorical: category index of each reference value
    edges: np.ndarray | None  # numeric binned by quantiles
    value_categories: np.ndarray | None  # numeric binned by value (few distinct values)
    reference_counts: np.ndarray
    current_counts: np.ndarray
    reference_size: int
    current_size: int
    distinct: int
    unseen: tuple[str, ...]
    from_profile: bool = False
    reference_profile: NumericProfile | None = None
    counts_bound: float = 0.0
    values_bound: float = 0.0

    def read(self, method: Method) -> tuple[np.ndarray, np.ndarray]:
        if method.reads == "values":
            return self.reference_values, self.current_values
        return self.reference_counts, self.current_counts

    def compare(self, method: Method) -> tuple[float, float, float]:
        """The statistic, its p-value (NaN for distances) and how far the statistic may be from its raw value."""
        if self.reference_profile is not None and method.name in PROFILE_STATISTICS:
            estimate = PROFILE_STATISTICS[method.name](self.reference_profile, self.current_values)
            return estimate.value, NAN if estimate.p_value is None else estimate.p_value, estimate.error_bound
        statistic, p_value = method.compare(*self.read(method))
        return statistic, p_value, self.values_bound if method.reads == "values" else self.counts_bound

    def chunk_pairs(self, method: Method, chunks: int):
        """(rest of the reference, one chunk) for each chunk, in the form ``method`` reads."""
        for chunk in range(chunks):
            inside = self.reference_chunk == chunk
            if not inside.any():
                continue
            if method.reads == "values":
                yield self.reference_values[~inside], self.reference_values[inside]
            elif self.reference_codes is not None:
                counts = np.bincount(self.reference_codes[inside], minlength=self.reference_counts.size)
                yield self.reference_counts - counts, counts
            elif self.value_categories is not None:
                counts = stats.sorted_value_counts(self.reference_values[inside], self.value_categories)
                yield self.reference_counts - counts, counts
            elif self.edges is not None:
                counts = stats.bin_counts(self.reference_values[inside], self.edges)
                yield self.reference_counts - counts, counts


def _column_drift(name: str, kind: str,
                  reference: pd.Series | SortedColumn | NumericProfile | CategoricalProfile | None,
                  current: pd.Series | None, config: DriftConfig, chunks: ReferenceChunks | None,
                  role: str = "feature", sample: pd.Series | None = None, sample_complete: bool = False
                  ) -> FeatureDrift:
    """One column against its reference: rows, or a column profile with the profile's ``sample`` of it
    (chunked by ``chunks``), which calibration and the methods that need values read."""
    absent = [side for side, series in (("reference", reference), ("current", current)) if series is None]
    if absent:
        return _unjudged(name, kind, role, config, f"column '{name}' is not in the {' and '.join(absent)} data")
    calibrating = chunks is not None and _calibrates(config, name)
    chunk_labels = chunks.labels if calibrating else None
    from_rows = _numeric_samples if kind == "numeric" else _categorical_samples
    if isinstance(reference, pd.Series | SortedColumn):
        prepared = calibration = from_rows(reference, current, chunk_labels)
    else:
        prepared = _profiled_samples(name, kind, reference, current, sample, sample_complete)
        calibration = from_rows(sample, current, chunk_labels) if calibrating and sample is not None else None
    if isinstance(prepared, str):
        return _unjudged(name, kind, role, config, prepared)
    samples, reference_nulls, current_nulls, notes = prepared
    reference_size, current_size = samples.reference_size, samples.current_size
    method = METHODS[choose_method(kind, config, reference_size, samples.distinct, name)]
    if method.reads == "values" and samples.reference_values is None and method.name not in PROFILE_STATISTICS:
        return _unjudged(name, kind, role, config, f"{method.label} compares values, and the reference profiles "
                                                   f"hold no row sample of '{name}'")
    statistic, p_value, error_bound = samples.compare(method)
    threshold = _threshold(config, method.name, name)
    decision_metric, decision_value = (method.p_value, p_value) if method.is_test else (method.statistic, statistic)
    rule = f"{decision_metric} {'<' if method.is_test else '>='} {threshold:g}"
    calibrated = None
    if calibrating:
        pairs = calibration[0].chunk_pairs(method, chunks.count) if isinstance(calibration, tuple) else ()
        calibrated = band([method.compare(rest, chunk)[0] for rest, chunk in pairs], config.calibration.k_std)
        if calibrated is None:
            notes.append(f"not calibrated: fewer than 3 reference chunks give a {method.statistic} "
                         f"({chunks.description}), so the fixed threshold applies")
        else:
            decision_metric, decision_value, threshold = method.statistic, statistic, calibrated.upper
            rule = f"{method.statistic} > {threshold:.4g} ({calibrated.describe(method.statistic, chunks.description)})"
    drifted = _past(decision_value, threshold, decision_metric, strict=calibrated is not None)
    parts = [f"drift when {rule}{_why_auto(kind, config, name, reference_size, samples.distinct)}"]
    if math.isnan(decision_value):
        parts.insert(0, f"{decision_metric} could not be computed for these values")
    if samples.unseen:
        more = ", ..." if len(samples.unseen) > MAX_NAMED_UNSEEN else ""
        parts.append(f"{len(samples.unseen)} categories not in the reference: "
                     f"{', '.join(samples.unseen[:MAX_NAMED_UNSEEN])}{more}")
    parts.append(f"{reference_size:,} reference and {current_size:,} current values")
    if samples.from_profile:
        parts.append(_profile_precision(method, samples, error_bound))
    if reference_nulls or current_nulls:
        parts.append(f"left out {reference_nulls} reference and {current_nulls} current values that are null")
    return FeatureDrift(
        feature=name, kind=kind, method=method.name, statistic=statistic,
        p_value=p_value if method.is_test else None, threshold=threshold, drifted=drifted,
        reference_rows=reference_size, current_rows=current_size, reference_nulls=reference_nulls,
        current_nulls=current_nulls, unseen_categories=samples.unseen, detail="; ".join(parts + notes), role=role,
        decision_metric=decision_metric, decision_value=decision_value, band=calibrated, error_bound=error_bound,
    )


def _profile_precision(method: Method, samples: _Samples, error_bound: float) -> str:
    """How the statistic of a profiled reference relates to the one its rows would give."""
    if error_bound == 0:
        return "reference from stored profiles: exact"
    if method.name in PROFILE_STATISTICS:
        return (f"reference from stored profiles: {method.statistic} within {error_bound:.2g} of its exact value "
                "(99% confidence, the KLL sketch's rank error)")
    if method.reads == "values":
        return (f"reference from stored profiles: compared on a uniform sample of {samples.reference_values.size:,} "
                "values")
    return "reference from stored profiles: its counts estimated from sketches (each share within the sketch's bound)"


def _numeric_samples(reference: pd.Series | SortedColumn, current: pd.Series, chunk_labels: np.ndarray | None):
    presorted = isinstance(reference, SortedColumn)
    reference_values, reference_nulls, reference_invalid = (
        (reference.values, reference.nulls, reference.not_numbers) if presorted else _numeric_values(reference))
    current_values, current_nulls, current_invalid = _numeric_values(current)
    empty = _empty_sides(reference_values.size, current_values.size)
    if empty:
        return empty
    reference_chunk = None
    if chunk_labels is not None:
        if presorted:
            raise ValueError("a calibrated column needs the reference's rows (each value's day), not its sorted values")
        labels = chunk_labels[~np.isnan(numeric_values(reference)[0])]
        order = np.argsort(reference_values, kind="stable")
        reference_values, reference_chunk = reference_values[order], labels[order]
    elif not presorted:
        reference_values = _sorted_own(reference_values)
    current_values = _sorted_own(current_values)
    distinct = _distinct_count_capped(reference_values, current_values, CATEGORICAL_LIKE_MAX_DISTINCT)
    unseen: tuple[str, ...] = ()
    edges = categories = None
    if distinct <= CATEGORICAL_LIKE_MAX_DISTINCT:
        categories = np.union1d(stats.first_distinct_sorted(reference_values, CATEGORICAL_LIKE_MAX_DISTINCT),
                              stats.first_distinct_sorted(current_values, CATEGORICAL_LIKE_MAX_DISTINCT))
        reference_counts = stats.sorted_value_counts(reference_values, categories)
        current_counts = stats.sorted_value_counts(current_values, categories)
        unseen = _unseen_values(categories, reference_counts)
    else:
        edges = stats.quantile_bin_edges(reference_values)
        if edges.size:
            reference_counts = stats.bin_counts(reference_values, edges)
            current_counts = stats.bin_counts(current_values, edges)
        else:  # no finite reference value to cut bins at: histogram methods give NaN
            edges, reference_counts, current_counts = None, np.zeros(0, np.int64), np.zeros(0, np.int64)
    samples = _Samples(reference_values, current_values, reference_chunk, None, edges, categories, reference_counts,
                       current_counts, reference_values.size, current_values.size, distinct, unseen)
    return samples, reference_nulls, current_nulls, _not_numbers_notes(reference_invalid, current_invalid)


def _categorical_samples(reference: pd.Series, current: pd.Series, chunk_labels: np.ndarray | None):
    counts = stats.align_categories(reference, current)
    empty = _empty_sides(int(counts.reference.sum()), int(counts.current.sum()))
    if empty:
        return empty
    codes = reference_chunk = None
    if chunk_labels is not None:
        present = reference.notna().to_numpy()
        codes = pd.Categorical(reference[present], categories=list(counts.categories)).codes.astype(np.int64)
        reference_chunk = chunk_labels[present]
    samples = _Samples(None, None, reference_chunk, codes, None, None, counts.reference, counts.current,
                       int(counts.reference.sum()), int(counts.current.sum()), len(counts.categories), counts.unseen)
    return samples, counts.reference_nulls, counts.current_nulls, []


def _profiled_samples(name: str, kind: str, reference: NumericProfile | CategoricalProfile, current: pd.Series,
                      sample: pd.Series | None, sample_complete: bool):
    """The column reduced from its reference profile and the current rows, as the row functions above do."""
    profiled = "numeric" if isinstance(reference, NumericProfile) else "categorical"
    if profiled != kind:
        return (f"the reference profiles summarise '{name}' as {profiled} but it is compared as {kind}; "
                "materialize the reference days' inference logs again to profile them anew")
    if kind == "categorical":
        current_profile = profile_categorical(current, max_categories=max(len(current), 1))  # exact counts
        counts = category_counts(reference, current_profile)
        empty = _empty_sides(int(counts.reference.sum()), int(counts.current.sum()))
        if empty:
            return empty
        samples = _Samples(None, None, None, None, None, None, counts.reference, counts.current,
                           int(counts.reference.sum()), int(counts.current.sum()), len(counts.categories),
                           counts.unseen, from_profile=True, counts_bound=0.0 if reference.exact else NAN)
        return samples, counts.reference_nulls, counts.current_nulls, []
    current_values, current_nulls, current_invalid = _numeric_values(current)
    empty = _empty_sides(reference.present, current_values.size)
    if empty:
        return empty
    current_values = _sorted_own(current_values)
    reference_distinct = _profiled_distinct(reference)
    # without value counts the reference has more distinct values than the profile counts one by one
    distinct = (max(reference.max_distinct, CATEGORICAL_LIKE_MAX_DISTINCT) + 1 if reference_distinct is None else
                _distinct_count_capped(reference_distinct, current_values, CATEGORICAL_LIKE_MAX_DISTINCT))
    unseen: tuple[str, ...] = ()
    edges = categories = None
    counts_bound = 0.0
    if distinct <= CATEGORICAL_LIKE_MAX_DISTINCT:
        categories = np.union1d(reference_distinct,
                                stats.first_distinct_sorted(current_values, CATEGORICAL_LIKE_MAX_DISTINCT))
        known = {**reference.value_counts, -np.inf: reference.negative_infinities,
                 np.inf: reference.positive_infinities}
        reference_counts = np.asarray([known.get(value, 0) for value in categories.tolist()], dtype=np.int64)
        current_counts = stats.sorted_value_counts(current_values, categories)
        unseen = _unseen_values(categories, reference_counts)
    else:
        edges = np.asarray(profile_quantile_bin_edges(reference))
        if edges.size:
            reference_counts = sketch_bin_counts(reference, edges)
            current_counts = stats.bin_counts(current_values, edges)
            counts_bound = 0.0 if is_exact(reference) else NAN
        else:
            edges, reference_counts, current_counts = None, np.zeros(0, np.int64), np.zeros(0, np.int64)
    reference_values = None if sample is None else np.sort(_numeric_values(sample)[0])
    samples = _Samples(reference_values, current_values, None, None, edges, categories, reference_counts,
                       current_counts, reference.present, current_values.size, distinct, unseen, from_profile=True,
                       reference_profile=reference, counts_bound=counts_bound,
                       values_bound=0.0 if sample_complete else NAN)
    notes = _not_numbers_notes(reference.not_numbers, current_invalid)
    return samples, reference.nulls + reference.not_numbers, current_nulls, notes


def _profiled_distinct(column: NumericProfile) -> np.ndarray | None:
    """The column's distinct non-null numbers (±inf included), sorted, when its profile counts them; else None."""
    if column.value_counts is None:
        return None
    infinities = [-np.inf] * bool(column.negative_infinities) + [np.inf] * bool(column.positive_infinities)
    return np.sort(np.asarray([*column.value_counts, *infinities], dtype=np.float64))


def _unseen_values(categories: np.ndarray, reference_counts: np.ndarray) -> tuple[str, ...]:
    return tuple(str(value) for value, count in zip(categories, reference_counts, strict=True) if not count)


def _not_numbers_notes(reference_invalid: int, current_invalid: int) -> list[str]:
    return [f"{count} of the left-out {side} values are not numbers"
            for side, count in (("reference", reference_invalid), ("current", current_invalid)) if count]


def _correct_for_multiple_testing(features: list[FeatureDrift], correction: str) -> list[FeatureDrift]:
    """Adjust the p-values of the features judged by a test (not calibrated ones) across the day's features."""
    tested = [i for i, feature in enumerate(features) if feature.judged and feature.decided_on_p_value]
    if correction == "none" or not tested:
        return features
    adjusted = adjust_p_values([features[i].decision_value for i in tested], correction)
    corrected = list(features)
    for i, value in zip(tested, adjusted, strict=True):
        feature = features[i]
        metric = f"{feature.decision_metric}_{correction}"
        note = (f"{CORRECTION_NAMES[correction]}-adjusted over {len(tested)} tested features "
                f"(raw p = {feature.decision_value:.3g})")
        corrected[i] = dataclasses.replace(
            feature, decision_metric=metric, decision_value=float(value), drifted=bool(value < feature.threshold),
            detail=feature.detail.replace(f"drift when {feature.decision_metric} <", f"drift when {metric} <", 1)
            + f"; {note}")
    return corrected


def _unjudged(name: str, kind: str, role: str, config: DriftConfig, reason: str) -> FeatureDrift:
    """A column that cannot be compared; its method is the configured one (``auto`` stays undecided)."""
    override = config.features.get(name)
    method = (override.method if override and override.method else
              config.numeric_method if kind == "numeric" else config.categorical_method)
    known = METHODS.get(method)
    decision = None if known is None else known.p_value or known.statistic
    return FeatureDrift(
        feature=name, kind=kind, method="" if known is None else method, statistic=NAN, p_value=None,
        threshold=NAN if known is None else _threshold(config, method, name), drifted=False,
        reference_rows=0, current_rows=0, detail=f"not judged: {reason}", role=role, decision_metric=decision,
    )


def _calibrates(config: DriftConfig, name: str) -> bool:
    override = config.features.get(name)
    return override.calibrate if override is not None and override.calibrate is not None \
        else config.calibration.enabled


def _threshold(config: DriftConfig, method: str, name: str) -> float:
    override = config.features.get(name)
    if override is not None and override.threshold is not None and (override.method in (None, method)):
        return float(override.threshold)
    return float(getattr(config.thresholds, method))


def _past(value: float, threshold: float, metric: str | None, *, strict: bool) -> bool:
    """Tests drift below the threshold; distances at or above it (strictly above a calibrated band)."""
    if math.isnan(value):
        return False
    if metric is not None and "p_value" in metric:
        return value < threshold
    return value > threshold if strict else value >= threshold


def _why_auto(kind: str, config: DriftConfig, name: str, reference_values: int, distinct: int) -> str:
    override = config.features.get(name)
    configured = config.numeric_method if kind == "numeric" else config.categorical_method
    if (override is not None and override.method is not None) or configured != "auto":
        return ""
    size = "<=" if reference_values <= SMALL_REFERENCE_MAX_ROWS else ">"
    why = f" (auto: {reference_values} reference values {size} {SMALL_REFERENCE_MAX_ROWS}"
    if kind == "numeric":
        many = distinct > CATEGORICAL_LIKE_MAX_DISTINCT
        why += f", {'more than' if many else 'at most'} {CATEGORICAL_LIKE_MAX_DISTINCT} distinct values"
    elif reference_values <= SMALL_REFERENCE_MAX_ROWS:
        why += f", {distinct} categories"
    return why + ")"


def _numeric_values(series: pd.Series) -> tuple[np.ndarray, int, int]:
    """Non-null values as float64, the number left out, and how many of those were not numbers at all
    (read as a day's profile reads them)."""
    values, invalid = numeric_values(series)
    kept, dropped = stats.split_nan(values)
    return kept, dropped, invalid


def _sorted_own(values: np.ndarray) -> np.ndarray:
    """The values sorted: in place when they are a fresh array of their own (nulls dropped, a type converted),
    else a sorted copy. A column's own memory comes read-only from pandas, so it is never sorted under the caller;
    at millions of values the copy's fresh memory costs a tenth of the sort."""
    if values.flags.owndata and values.flags.writeable:
        values.sort()
        return values
    return np.sort(values)


def _empty_sides(reference_values: int, current_values: int) -> str:
    """'' when both samples have values, else a reason naming the empty side(s)."""
    empty = [side for side, size in (("reference", reference_values), ("current", current_values)) if size == 0]
    return f"no non-null values in the {' and '.join(empty)} data" if empty else ""


def _distinct_count_capped(reference_sorted: np.ndarray, current_sorted: np.ndarray, cap: int) -> int:
    """Distinct values over both sorted samples, exact up to ``cap``; above it, some number greater than ``cap``."""
    reference_distinct = stats.first_distinct_sorted(reference_sorted, cap + 1)
    current_distinct = stats.first_distinct_sorted(current_sorted, cap + 1)
    if max(reference_distinct.size, current_distinct.size) > cap:
        return max(reference_distinct.size, current_distinct.size)
    return int(np.union1d(reference_distinct, current_distinct).size)
