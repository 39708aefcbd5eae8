"""Property-based tests: the statistics, measures, operations and config loader on inputs nobody wrote by hand.

Determinism: every test takes its settings from the ``monitoring-properties`` profile below, which
has ``derandomize=True`` (examples derive from the test's source, so CI sees the same inputs on every
run) and no example database (no failure found on one machine is replayed on another; Hypothesis
still caches Unicode tables in ``.hypothesis/``, which ignores itself in git). The profile is the
parent of each test's ``@settings``, never loaded globally, so other test files are unaffected.
``PROPERTY_EXAMPLES_SCALE=10 pytest tests/test_properties.py`` searches ten times harder locally.

Input domain: "any float" means NaN, ±inf, subnormals and magnitudes up to 1.8e308. Where a property
is arithmetic (a value equals an oracle), it is stated for zero and magnitudes between 1e-150 and
1e150, so that squares and ranges of the data neither overflow nor underflow; beyond that float64
itself gives out and only "never raises, stays in range" is claimed.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn import metrics as sk

from monitoring_jobs.config import (
    CATEGORICAL_DRIFT_METHODS,
    NUMERIC_DRIFT_METHODS,
    P_VALUE_METHODS,
    ConfigError,
    MonitorConfig,
    load_monitor,
    load_monitors,
)
from monitoring_jobs.drift import compute_drift
from monitoring_jobs.drift.methods import METHODS
from monitoring_jobs.drift.stats import (
    PSI_EPSILON,
    align_categories,
    chi2_test,
    g_test,
    hellinger_distance,
    jensenshannon_distance,
    ks_test,
    linf_distance,
    numeric_bin_counts,
    psi,
    total_variation_distance,
    wasserstein_normed,
)
from monitoring_jobs.metrics import Status
from monitoring_jobs.operations import compute_operations
from monitoring_jobs.performance.measures import classification_metrics, multiclass_metrics, regression_metrics
from tests.conftest import MONITORS_DIR
from tests.helpers import build_monitor

settings.register_profile(
    "monitoring-properties",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = settings.get_profile("monitoring-properties")
SCALE = float(os.environ.get("PROPERTY_EXAMPLES_SCALE", "1"))


def examples(count: int) -> settings:
    """The shared profile with ``count`` examples (times PROPERTY_EXAMPLES_SCALE)."""
    return settings(PROFILE, max_examples=max(1, int(count * SCALE)))


JS_MAX = math.sqrt(math.log(2))
ROUNDING = 1e-12
MODERATE = 1e150

# --- strategies ---------------------------------------------------------------------------------

EXTREME_FLOATS = st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 2.2e-308, 1e-300, 1e300, -1e300,
                                  1.7976931348623157e308, -1.7976931348623157e308, math.inf, -math.inf, math.nan])
ANY_FLOAT = st.one_of(st.floats(allow_nan=True, allow_infinity=True), EXTREME_FLOATS)
NON_NAN_FLOAT = ANY_FLOAT.filter(lambda value: not math.isnan(value))
FINITE_FLOAT = ANY_FLOAT.filter(math.isfinite)
MODERATE_FLOAT = st.one_of(st.just(0.0), st.floats(1 / MODERATE, MODERATE), st.floats(-MODERATE, -1 / MODERATE))
HOSTILE_TEXT = st.sampled_from(["", " ", "<script>alert(1)</script>", "'", '"', "\n", "a\nb", "\t", "\\", "None",
                                "nan", "NaN", "null", "~", "0", "1.0", "é", "日本", "🙂", "\u200b", "\r\n", "{date}",
                                "\x00", "a", "a\x00"])  # numpy str arrays drop trailing NULs: "a\x00" -> "a"
CATEGORY = st.one_of(HOSTILE_TEXT, st.text(max_size=8))


def samples(elements=ANY_FLOAT, *, min_size: int = 0, max_size: int = 30) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays: arbitrary, constant, or drawn from a few values (many ties)."""
    sizes = st.integers(min_size, max_size)
    arbitrary = arrays(np.float64, sizes, elements=elements)
    constant = st.tuples(elements, sizes).map(lambda value_size: np.full(value_size[1], value_size[0]))
    tied = st.tuples(st.lists(elements, min_size=1, max_size=3), st.lists(st.integers(0, 2), min_size=min_size,
                                                                          max_size=max_size)).map(
        lambda pool_picks: np.array([pool_picks[0][i % len(pool_picks[0])] for i in pool_picks[1]], dtype=np.float64))
    return st.one_of(arbitrary, constant, tied)


def count_pairs(min_size: int = 0, max_size: int = 8) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    """Two aligned non-negative count vectors (zeros, one-sided categories and huge counts included)."""
    counts = st.one_of(st.integers(0, 5), st.integers(0, 10**12))
    return st.integers(min_size, max_size).flatmap(lambda size: st.tuples(
        arrays(np.int64, size, elements=counts), arrays(np.int64, size, elements=counts)))


def in_range(value: float, low: float, high: float) -> bool:
    return isinstance(value, float) and (math.isnan(value) or low <= value <= high)


def has_number(values: np.ndarray) -> bool:
    return bool((~np.isnan(values)).any())


def has_finite(values: np.ndarray) -> bool:
    return bool(np.isfinite(values).any())


# --- drift statistics: never raise, stay in range, NaN only when there is nothing to compare ---------

def numeric_psi(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI of two numeric samples on the reference's quantile bins, as the drift engine computes it."""
    return psi(*numeric_bin_counts(reference, current))


KS_FALLBACK_WARNING = pytest.mark.filterwarnings(
    "ignore:ks_2samp. Exact calculation unsuccessful:RuntimeWarning")  # scipy's own, harmless fallback


@KS_FALLBACK_WARNING
@examples(300)
@given(samples(), samples())
def test_ks_stays_in_range_and_equals_the_ecdf_supremum(reference, current):
    statistic, p_value = ks_test(reference, current)
    comparable = has_number(reference) and has_number(current)
    assert math.isnan(statistic) == math.isnan(p_value) == (not comparable)
    assert in_range(statistic, 0.0, 1.0) and in_range(p_value, 0.0, 1.0)
    if comparable:
        ref, cur = reference[~np.isnan(reference)], current[~np.isnan(current)]
        points = np.concatenate((ref, cur))
        ecdf_gap = max(abs(np.mean(ref <= x) - np.mean(cur <= x)) for x in points)
        assert statistic == pytest.approx(ecdf_gap, abs=ROUNDING)


@examples(300)
@given(samples(), samples())
def test_wasserstein_normed_is_non_negative_and_nan_only_without_finite_values(reference, current):
    with np.errstate(over="ignore", invalid="ignore"):  # ranges near 1.8e308 overflow float64 itself
        value = wasserstein_normed(reference, current)
    if not (has_finite(reference) and has_finite(current)):
        assert math.isnan(value)
        return
    # Near 1.8e308 float64 overflows: +inf (a 1e308 move over the 0.001 floor) or NaN (scipy's 0 * inf
    # between ECDF steps) may come out here; the next test asserts a finite value on moderate data.
    assert in_range(value, 0.0, math.inf)


@examples(300)
@given(samples(MODERATE_FLOAT, min_size=1), samples(MODERATE_FLOAT, min_size=1))
def test_wasserstein_normed_is_finite_on_moderate_values(reference, current):
    value = wasserstein_normed(reference, current)
    assert math.isfinite(value) and value >= 0.0


@examples(300)
@given(samples(), samples())
def test_numeric_psi_is_non_negative_and_bins_hold_every_value(reference, current):
    with np.errstate(over="ignore", invalid="ignore"):
        value = numeric_psi(reference, current)
    comparable = has_number(reference) and has_number(current) and has_finite(reference)
    assert math.isnan(value) == (not comparable)
    assert in_range(value, 0.0, math.inf)
    if comparable:
        assert math.isfinite(value)  # the epsilon smoothing bounds every term


@examples(300)
@given(samples(st.one_of(MODERATE_FLOAT, st.sampled_from([math.inf, -math.inf, 5e-324, -0.0]))),
       samples(NON_NAN_FLOAT))
def test_psi_bins_partition_both_samples_with_outside_values_in_the_end_bins(reference, current):
    reference_counts, current_counts = numeric_bin_counts(np.sort(reference), np.sort(current))
    finite = reference[np.isfinite(reference)]
    if not finite.size:
        assert reference_counts.size == current_counts.size == 0
        return
    assert reference_counts.size == current_counts.size >= 3
    assert (reference_counts >= 0).all() and (current_counts >= 0).all()
    assert reference_counts.sum() == reference.size and current_counts.sum() == current.size
    assert current_counts[0] == np.count_nonzero(current < finite.min())
    assert current_counts[-1] == np.count_nonzero(current > finite.max())


@examples(300)
@given(count_pairs())
def test_count_statistics_stay_in_range_and_match_their_formulas(pair):
    reference, current = pair
    comparable = reference.sum() > 0 and current.sum() > 0
    statistic, p_value = chi2_test(reference, current)
    g, g_p_value = g_test(reference, current)
    js = jensenshannon_distance(reference, current)
    index = psi(reference, current)
    shares = [hellinger_distance(reference, current), total_variation_distance(reference, current),
              linf_distance(reference, current)]
    for value in (statistic, p_value, g, g_p_value, js, index, *shares):
        assert math.isnan(value) == (not comparable)
    assert in_range(statistic, 0.0, math.inf) and in_range(p_value, 0.0, 1.0)
    assert in_range(g, 0.0, math.inf) and in_range(g_p_value, 0.0, 1.0)
    assert in_range(js, 0.0, JS_MAX + ROUNDING) and in_range(index, 0.0, math.inf)
    assert all(in_range(value, 0.0, 1.0 + ROUNDING) for value in shares)
    if not comparable:
        return
    # Goodness of fit of the current counts to the reference proportions (Evidently's chi-square).
    seen = (reference + current) > 0
    observed = current[seen].astype(np.float64)
    expected = reference[seen].astype(np.float64) * float(current.sum()) / float(reference.sum())
    if ((expected == 0) & (observed > 0)).any():
        assert (statistic, p_value) == (math.inf, 0.0)
    elif seen.sum() > 1:
        assert statistic == pytest.approx(float(((observed - expected) ** 2 / expected).sum()), rel=1e-9, abs=1e-9)
    p, q = reference / reference.sum(), current / current.sum()
    m = (p + q) / 2
    kl = lambda a: float(sum(x * math.log(x / y) for x, y in zip(a, m, strict=True) if x > 0))  # noqa: E731
    assert js == pytest.approx(math.sqrt(max((kl(p) + kl(q)) / 2, 0.0)), abs=1e-7)


@examples(200)
@given(st.lists(st.one_of(CATEGORY, st.none()), max_size=25), st.lists(st.one_of(CATEGORY, st.none()), max_size=25))
def test_category_alignment_counts_every_non_null_value_and_names_unseen_ones(reference, current):
    counts = align_categories(reference, current)
    reference_values = [value for value in reference if value is not None]
    current_values = [value for value in current if value is not None]
    assert counts.reference.sum() == len(reference_values) and counts.current.sum() == len(current_values)
    assert (counts.reference_nulls, counts.current_nulls) == (reference.count(None), current.count(None))
    assert set(counts.categories) == set(reference_values) | set(current_values)
    assert set(counts.unseen) == set(current_values) - set(reference_values)
    for category, in_reference, in_current in zip(counts.categories, counts.reference, counts.current, strict=True):
        assert (in_reference, in_current) == (reference_values.count(category), current_values.count(category))


# --- distance of a sample to itself ------------------------------------------------------------------

@examples(300)
@given(samples(FINITE_FLOAT, min_size=1))
def test_a_numeric_sample_does_not_drift_from_itself(sample):
    assert ks_test(sample, sample) == (0.0, pytest.approx(1.0))
    with np.errstate(over="ignore", invalid="ignore"):  # the std of 1e300s overflows; W1 is still 0
        assert numeric_psi(sample, sample) == 0.0
        assume(np.ptp(sample) <= MODERATE)  # beyond, the ECDF steps of scipy's W1 overflow float64
        assert wasserstein_normed(sample, sample) == 0.0


@examples(200)
@given(st.lists(CATEGORY, min_size=1, max_size=25))
def test_a_categorical_sample_does_not_drift_from_itself(sample):
    counts = align_categories(sample, sample)
    for test in (chi2_test, g_test):
        statistic, p_value = test(counts.reference, counts.current)
        assert statistic == pytest.approx(0.0, abs=1e-9) and p_value == pytest.approx(1.0)
    assert jensenshannon_distance(counts.reference, counts.current) == 0.0
    assert psi(counts.reference, counts.current) == 0.0
    assert counts.unseen == ()


# --- symmetry ------------------------------------------------------------------------------------

@KS_FALLBACK_WARNING
@examples(300)
@given(samples(), samples())
def test_ks_is_symmetric(reference, current):
    forward, backward = ks_test(reference, current), ks_test(current, reference)
    assert forward[0] == pytest.approx(backward[0], abs=ROUNDING, nan_ok=True)
    assert forward[1] == pytest.approx(backward[1], rel=1e-9, abs=1e-12, nan_ok=True)


@examples(300)
@given(count_pairs())
def test_count_statistics_are_symmetric(pair):
    """JS, PSI, Hellinger, total variation and L-infinity on *fixed* bins treat both rows alike.

    The chi-square and G-tests are not symmetric: they fit the current counts to the reference's
    proportions (Evidently's convention). Numeric PSI is not because its bins are cut at the
    reference's quantiles, and normed Wasserstein is not because it divides by the reference's spread.
    """
    reference, current = pair
    measures = (jensenshannon_distance, psi, hellinger_distance, total_variation_distance, linf_distance)
    forward = tuple(measure(reference, current) for measure in measures)
    backward = tuple(measure(current, reference) for measure in measures)
    assert forward == pytest.approx(backward, rel=1e-9, abs=1e-12, nan_ok=True)


def test_reference_based_measures_are_asymmetric_by_definition():
    """W1({0, 1}, {0, 10}) = 4.5; normed by std 0.5 it is 9, by std 5 it is 0.9.

    PSI of {0, 0} against {1, 2}: a constant reference gives bins (below, equal, above), shares
    (0, 1, 0) against (0, 0, 1), so 2 (1 - e) ln(1 / e) with e = 1e-4. The other way round the bins
    are cut inside [1, 2]: shares (0, 1/2, .., 1/2, 0) against (1, 0, .., 0, 0), a different sum.
    """
    assert wasserstein_normed(np.array([0.0, 1.0]), np.array([0.0, 10.0])) == pytest.approx(9.0)
    assert wasserstein_normed(np.array([0.0, 10.0]), np.array([0.0, 1.0])) == pytest.approx(0.9)
    e = PSI_EPSILON
    assert numeric_psi(np.array([0.0, 0.0]), np.array([1.0, 2.0])) == pytest.approx(2 * (1 - e) * math.log(1 / e))
    assert numeric_psi(np.array([1.0, 2.0]), np.array([0.0, 0.0])) == pytest.approx(
        (1 - e) * math.log(1 / e) + 2 * (0.5 - e) * math.log(0.5 / e))


# --- the drift engine on random frames ------------------------------------------------------------

NUMERIC_METHODS = ["auto", *NUMERIC_DRIFT_METHODS]
CATEGORICAL_METHODS = ["auto", *CATEGORICAL_DRIFT_METHODS]
STATISTIC_RANGES = {"ks_statistic": (0.0, 1.0), "jensenshannon": (0.0, JS_MAX + ROUNDING),
                    "hellinger": (0.0, 1.0), "total_variation": (0.0, 1.0), "linf_distance": (0.0, 1.0),
                    "cramervonmises_statistic": (0.0, math.inf), "wasserstein_normed": (0.0, math.inf),
                    "psi": (0.0, math.inf), "chi2_statistic": (0.0, math.inf), "g_test_statistic": (0.0, math.inf),
                    "anderson_statistic": (-math.inf, math.inf), "z_test_statistic": (-math.inf, math.inf)}


def numeric_column(size: int) -> st.SearchStrategy[list]:
    """Numbers with NaN/inf, sometimes a few values (categorical-like), sometimes text mixed in."""
    numbers = st.one_of(ANY_FLOAT, st.sampled_from([0.0, 1.0, 2.0]), st.integers(-3, 3).map(float))
    mixed = st.one_of(numbers, st.none(), HOSTILE_TEXT)
    return st.one_of(st.lists(numbers, min_size=size, max_size=size), st.lists(mixed, min_size=size, max_size=size))


@st.composite
def drift_frames(draw) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    columns = {}
    for side in ("reference", "current"):
        size = draw(st.integers(0, 25))
        repeat = draw(st.sampled_from([1, 1, 1, 50])) if side == "reference" else 1  # > 1000 rows: distances
        frame = pd.DataFrame({
            "x": draw(numeric_column(size)) * repeat,
            "c": draw(st.lists(st.one_of(CATEGORY, st.none()), min_size=size, max_size=size)) * repeat,
            "score": draw(st.lists(st.one_of(st.floats(0, 1), st.none()), min_size=size, max_size=size)) * repeat,
        })
        columns[side] = frame.drop(columns=draw(st.sets(st.sampled_from(["x", "c", "score"]), max_size=1)))
    drift = {"numeric_method": draw(st.sampled_from(NUMERIC_METHODS)),
             "categorical_method": draw(st.sampled_from(CATEGORICAL_METHODS)),
             "dataset_drift_share": draw(st.sampled_from([0.01, 0.5, 1.0])),
             "multiple_testing": draw(st.sampled_from(["bh", "bonferroni", "none"])),
             "calibration": {"enabled": draw(st.booleans()), "chunks": draw(st.sampled_from([3, 10]))}}
    return columns["reference"], columns["current"], drift


@examples(120)
@given(drift_frames())
def test_compute_drift_never_raises_and_flags_exactly_the_features_past_their_threshold(frames):
    reference, current, drift = frames
    monitor = build_monitor(columns={"score": "score", "categorical_features": ["c"]}, drift=drift)
    with np.errstate(all="ignore"):
        report = compute_drift(reference, current, monitor)
    thresholds = monitor.drift.thresholds
    judged = []
    for feature in [*report.features, report.prediction]:
        decision = feature.decision_metric
        if not feature.judged:
            assert not feature.drifted
            continue
        if feature is not report.prediction:
            judged.append(feature)
        value = feature.decision_value
        if feature.band is not None:  # calibrated: the statistic against the top of its reference band
            assert decision == METHODS[feature.method].statistic and feature.threshold == feature.band.upper
            assert feature.drifted == (value > feature.threshold)
        elif feature.method in P_VALUE_METHODS:
            assert feature.threshold == getattr(thresholds, feature.method)
            assert "p_value" in decision and in_range(value, 0.0, 1.0)
            assert feature.drifted == (value < feature.threshold)
            assert in_range(feature.p_value, 0.0, 1.0) and value >= feature.p_value  # corrections only raise p
        else:
            assert feature.threshold == getattr(thresholds, feature.method)
            assert feature.drifted == (value >= feature.threshold)
        low, high = STATISTIC_RANGES[METHODS[feature.method].statistic]
        assert in_range(feature.statistic, low, high), (feature.method, feature.statistic)
    if judged:
        share = sum(feature.drifted for feature in judged) / len(judged)
        assert report.drifted_share == pytest.approx(share)
        assert report.dataset_drift == (share >= monitor.drift.dataset_drift_share)
    else:
        assert math.isnan(report.drifted_share) and not report.dataset_drift
    categorical = report.features[1]
    if categorical.judged:
        seen = set(reference["c"].dropna())
        unseen = set(current["c"].dropna()) - seen
        assert set(categorical.unseen_categories) == unseen
    verdicts = {m.feature: m for m in report.metrics(monitor.drift.severity) if m.metric == "drift_detected"}
    for feature in report.features:
        expected = Status.MISSING if not feature.judged else Status.WARN if feature.drifted else Status.OK
        assert verdicts[feature.feature].status is expected


# --- performance measures ---------------------------------------------------------------------------
# Contract (performance/compute.py): the caller drops rows whose label or output is null, and turns
# scores/regression values into float64 with non-numbers as null. So NaN never arrives, but ±inf,
# out-of-range scores, single-class and empty days do.

SCORE = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0, 0.5]),
                  st.floats(allow_nan=False, allow_infinity=True))


@st.composite
def binary_days(draw, score=SCORE) -> tuple[np.ndarray, np.ndarray, float]:
    size = draw(st.integers(0, 30))
    labels = draw(arrays(np.int64, size, elements=st.sampled_from([0, 1])))
    scores = draw(arrays(np.float64, size, elements=score))
    return labels, scores, draw(st.floats(0.01, 0.99))


@examples(300)
@given(binary_days())
def test_binary_measures_never_raise_and_stay_in_range(day):
    labels, scores, threshold = day
    result = classification_metrics(labels, scores, threshold=threshold, positive_label=1)
    for name in ("roc_auc", "accuracy", "precision", "recall", "f1"):
        assert in_range(result[name], 0.0, 1.0), name
    assert in_range(result["log_loss"], 0.0, math.inf)
    assert math.isnan(result["roc_auc"]) == (len(set(labels.tolist())) < 2)
    assert math.isnan(result["accuracy"]) == (labels.size == 0)


@examples(300)
@given(binary_days(score=st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0, 0.5, 0.25]))))
def test_binary_measures_equal_sklearn_where_defined(day):
    labels, scores, threshold = day
    assume(labels.size > 0)
    result = classification_metrics(labels, scores, threshold=threshold, positive_label=1)
    predicted = (scores >= threshold).astype(np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns where it returns the zero_division value
        expected = {
            "accuracy": sk.accuracy_score(labels, predicted),
            "precision": sk.precision_score(labels, predicted, zero_division=np.nan),
            "recall": sk.recall_score(labels, predicted, zero_division=np.nan),
            "f1": sk.f1_score(labels, predicted, zero_division=np.nan),
            "log_loss": sk.log_loss(labels, scores, labels=[0, 1]),
            "roc_auc": sk.roc_auc_score(labels, scores) if len(set(labels.tolist())) == 2 else math.nan,
        }
    for name, value in expected.items():
        assert result[name] == pytest.approx(value, rel=1e-9, abs=1e-12, nan_ok=True), name


@examples(150)
@given(st.integers(0, 20).flatmap(lambda n: st.tuples(st.lists(CATEGORY, min_size=n, max_size=n),
                                                      st.lists(st.floats(0, 1), min_size=n, max_size=n))),
       CATEGORY)
def test_binary_measures_on_text_labels_match_the_numeric_encoding(day, positive_label):
    labels, scores = day
    result = classification_metrics(labels, scores, threshold=0.5, positive_label=positive_label)
    encoded = np.array([label == positive_label for label in labels], dtype=np.int64)
    assert result == pytest.approx(classification_metrics(encoded, scores, threshold=0.5, positive_label=1),
                                   nan_ok=True)


REGRESSION_VALUE = st.one_of(MODERATE_FLOAT, st.sampled_from([0.0, 1.0, 1e6]))


@examples(300)
@given(st.integers(0, 30).flatmap(lambda n: st.tuples(arrays(np.float64, n, elements=NON_NAN_FLOAT),
                                                      arrays(np.float64, n, elements=NON_NAN_FLOAT))))
def test_regression_measures_never_raise_and_stay_in_range(pair):
    labels, predictions = pair
    with np.errstate(all="ignore"):  # inf - inf and squares past 1.8e308 are float64's own limits
        result = regression_metrics(labels, predictions)
    assert in_range(result["mae"], 0.0, math.inf) and in_range(result["rmse"], 0.0, math.inf)
    assert in_range(result["r2"], -math.inf, 1.0)
    if labels.size == 0:
        assert all(math.isnan(value) for value in result.values())
    elif np.isfinite(labels).all() and np.isfinite(predictions).all():
        assert not math.isnan(result["mae"]) and not math.isnan(result["rmse"])


@examples(300)
@example(pair=(np.full(3, 0.1), np.full(3, 0.2)))  # constant labels whose mean is not exactly 0.1
@example(pair=(np.array([1e-150, np.nextafter(1e-150, 1.0)]), np.zeros(2)))  # a spread whose squares underflow
@given(st.integers(1, 30).flatmap(lambda n: st.tuples(arrays(np.float64, n, elements=REGRESSION_VALUE),
                                                      arrays(np.float64, n, elements=REGRESSION_VALUE))))
def test_regression_measures_equal_sklearn_where_defined(pair):
    labels, predictions = pair
    result = regression_metrics(labels, predictions)
    assert result["mae"] == pytest.approx(sk.mean_absolute_error(labels, predictions), rel=1e-9)
    assert result["rmse"] == pytest.approx(sk.root_mean_squared_error(labels, predictions), rel=1e-9)
    spread = float(((labels - labels.mean()) ** 2).sum())
    if labels.min() == labels.max() or spread == 0.0:
        # Undefined: constant labels (scikit-learn's own mean rounding can give -5e31 here), or a spread
        # so tiny that its squares underflow to zero (labels around 1e-150 differing in the last digit).
        assert math.isnan(result["r2"])
    else:
        with np.errstate(over="ignore"):  # scikit-learn's -inf for a huge error over a tiny spread
            assert result["r2"] == pytest.approx(sk.r2_score(labels, predictions), rel=1e-7, abs=1e-9)


LABEL = st.one_of(CATEGORY, st.integers(-3, 3))


@examples(300)
@given(st.integers(0, 30).flatmap(lambda n: st.tuples(st.lists(LABEL, min_size=n, max_size=n),
                                                      st.lists(LABEL, min_size=n, max_size=n))))
def test_multiclass_measures_equal_sklearn_macro_on_labels_compared_as_text(pair):
    labels, predictions = pair
    result = multiclass_metrics(labels, predictions)
    if not labels:
        assert all(math.isnan(value) for value in result.values())
        return
    # Classes numbered by their text before scikit-learn sees them: it, too, drops trailing NULs.
    codes: dict[str, int] = {}
    true_codes = [codes.setdefault(str(value), len(codes)) for value in labels]
    predicted_codes = [codes.setdefault(str(value), len(codes)) for value in predictions]
    assert result["accuracy"] == pytest.approx(sk.accuracy_score(true_codes, predicted_codes))
    for name, function in (("precision", sk.precision_score), ("recall", sk.recall_score), ("f1", sk.f1_score)):
        expected = function(true_codes, predicted_codes, average="macro", zero_division=0)
        assert result[name] == pytest.approx(expected), name


EVERY_MEASURE = {"roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1", "log_loss", "brier_score", "ece",
                 "true_positives", "false_positives", "true_negatives", "false_negatives", "mae", "rmse", "mape", "r2",
                 "mean_error", "residual_p05", "residual_p25", "residual_p50", "residual_p75", "residual_p95"}


@pytest.mark.parametrize("labels, outputs, undefined", [
    ([], [], EVERY_MEASURE),
    ([1, 1, 1], [0.2, 0.9, 0.4], {"roc_auc", "r2"}),
    ([0, 0], [0.1, 0.7], {"roc_auc", "pr_auc", "recall", "r2"}),
    ([1, 0], [0.1, 0.2], {"precision"}),
    ([0, 0], [0.1, 0.2], {"roc_auc", "pr_auc", "precision", "recall", "f1", "r2"}),
])
def test_undefined_measures_are_nan_without_warnings(labels, outputs, undefined):
    """The module promises NaN, never a warning, where a measure is undefined (empty, one class, constant)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = {**classification_metrics(labels, outputs, threshold=0.5, positive_label=1),
                  **regression_metrics(labels, outputs)}
        multiclass_metrics(labels, outputs)
    assert {name for name, value in values.items() if math.isnan(value)} == undefined


# --- operations -------------------------------------------------------------------------------------

OPERATIONS_MONITOR = build_monitor(columns={"latency_ms": "latency_ms", "status": "status"},
                                   operations={"ok_statuses": ["ok", "<script>"]})


@st.composite
def operations_frames(draw) -> pd.DataFrame:
    size = draw(st.integers(0, 30))
    latency = st.one_of(
        arrays(np.float64, size, elements=ANY_FLOAT),
        st.lists(st.one_of(ANY_FLOAT, st.none(), HOSTILE_TEXT, st.integers(-10**20, 10**20)),
                 min_size=size, max_size=size).map(lambda values: pd.Series(values, dtype=object)),
    )
    status = st.lists(st.one_of(st.sampled_from(["ok", "error", "timeout", "<script>"]), CATEGORY, st.none(),
                                st.integers(0, 3)), min_size=size, max_size=size)
    score = arrays(np.float64, size, elements=ANY_FLOAT)
    frame = pd.DataFrame({"latency_ms": draw(latency), "status": draw(status), "score": draw(score)},
                         index=range(size))
    return frame.drop(columns=draw(st.sets(st.sampled_from(["latency_ms", "status", "score"]), max_size=1)))


@examples(200)
@given(operations_frames())
def test_compute_operations_never_raises_and_counts_every_row(frame):
    with np.errstate(all="ignore"):
        metrics = {(m.metric, m.segment): m for m in compute_operations(frame, OPERATIONS_MONITOR)}
    assert metrics[("row_count", "")].value == len(frame)
    for name in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms"):
        value = metrics[(name, "")].value
        assert math.isfinite(value) or metrics[(name, "")].status is Status.MISSING
    if "latency_ms" in frame and pd.api.types.is_float_dtype(frame["latency_ms"]):
        finite = frame["latency_ms"].to_numpy()[np.isfinite(frame["latency_ms"].to_numpy())]
        if finite.size:
            with np.errstate(all="ignore"):
                assert metrics[("latency_p95_ms", "")].value == pytest.approx(np.percentile(finite, 95))
    error_rate = metrics[("error_rate", "")]
    if "status" in frame and len(frame):
        errors = sum(1 for value in frame["status"] if pd.isna(value) or str(value) not in ("ok", "<script>"))
        assert error_rate.value == pytest.approx(errors / len(frame))
        counted = sum(m.value for (name, _), m in metrics.items() if name == "status_count")
        assert counted == len(frame)
    else:
        assert error_rate.status is Status.MISSING and math.isnan(error_rate.value)
    if "score" in frame:
        scores = frame["score"].to_numpy()[np.isfinite(frame["score"].to_numpy())]
        with np.errstate(over="ignore"):  # scores near 1.8e308 (nonsense, but possible) sum to inf
            expected = float(np.mean(np.maximum(scores, 1 - scores))) if scores.size else math.nan
        assert metrics[("mean_confidence", "")].value == pytest.approx(expected, nan_ok=True)


# --- config loader: anything either loads or is a ConfigError naming the file ---------------------------

SHIPPED = (MONITORS_DIR / "credit_default.yaml").read_text(encoding="utf-8")
SHIPPED_LINES = SHIPPED.splitlines()
YAML_SCALARS = st.one_of(HOSTILE_TEXT, st.text(max_size=12), st.sampled_from([
    "2026-13-45", "2026-02-30", "2026-10-01 25:61:61", "2026-10-01T00:00:00+99:00", "!!int abc", "!!float x",
    "!!bool maybe", "!!timestamp x", "!!binary '%%%'", "!!python/object/apply:os.system [ls]", "!!set {a}",
    "!!omap [1]", "&a [*a]", "*undefined", "{", "[", "[[[[", "'unterminated", "|", ">-", "- - -", ".nan", ".inf",
    "-.inf", "1e400", "1.0e400", "0x1F", "0o17", "1_000", "99999999999999999999999999", "-1", "0", "true", "~",
    "{min: 1, max: 0}", "{min: .nan}", "[ok, 1, null]", "file://x/{date}/{oops}", "s3://b/{date}", "ftp://x",
]))


@st.composite
def mutated_shipped_configs(draw) -> str:
    """The shipped credit_default.yaml with lines deleted, values swapped or replaced, keys added."""
    lines = list(SHIPPED_LINES)
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["delete", "swap", "replace", "add_key", "indent"]))
        at = draw(st.integers(0, len(lines) - 1)) if lines else 0
        if not lines:
            lines.append(draw(YAML_SCALARS))
        elif action == "delete":
            del lines[at]
        elif action == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            (key, _, value), (other_key, _, other_value) = lines[at].partition(":"), lines[other].partition(":")
            lines[at], lines[other] = f"{key}:{other_value}", f"{other_key}:{value}"
        elif action == "replace":
            key, colon, _ = lines[at].partition(":")
            lines[at] = f"{key}{colon or ':'} {draw(YAML_SCALARS)}"
        elif action == "add_key":
            indent = " " * draw(st.sampled_from([0, 2, 4]))
            lines.insert(at, f"{indent}{draw(st.one_of(CATEGORY, st.from_regex(r'[a-z_]{1,12}', fullmatch=True)))}: "
                             f"{draw(YAML_SCALARS)}")
        else:
            lines[at] = " " * draw(st.integers(1, 3)) + lines[at]
    return "\n".join(lines) + "\n"


def assert_loads_or_names_the_file(path) -> None:
    try:
        monitor = load_monitor(path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path)), str(exc)
    else:
        assert isinstance(monitor, MonitorConfig)


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("configs")


def test_the_shipped_config_loads_so_mutations_start_from_a_valid_file(config_dir):
    path = config_dir / "shipped.yaml"
    path.write_text(SHIPPED, encoding="utf-8")
    assert load_monitor(path).name == "credit_default"


@examples(300)
@example(text="start_date: 2026-02-30\n")  # PyYAML's own date constructor raises ValueError
@example(text="a: !!bool maybe")  # ... KeyError
@example(text="a: !!timestamp x")  # ... AttributeError
@example(text="a: " + "[" * 3000)  # ... RecursionError
@given(text=st.one_of(st.text(), st.lists(YAML_SCALARS, max_size=6).map("\n".join),
                      st.integers(1, 400).map(lambda depth: "a: " + "[" * depth)))
def test_any_text_loads_or_is_a_config_error(config_dir, text):
    path = config_dir / "text.yaml"
    path.write_text(text, encoding="utf-8", newline="")
    assert_loads_or_names_the_file(path)


@examples(200)
@given(data=st.binary(max_size=200))
def test_any_bytes_load_or_are_a_config_error(config_dir, data):
    path = config_dir / "bytes.yaml"
    path.write_bytes(data)
    assert_loads_or_names_the_file(path)


@examples(300)
@given(text=mutated_shipped_configs())
def test_mutated_shipped_config_loads_or_is_a_config_error(config_dir, text):
    path = config_dir / "mutated.yaml"
    path.write_text(text, encoding="utf-8")
    assert_loads_or_names_the_file(path)


@examples(60)
@given(text=mutated_shipped_configs())
def test_a_folder_with_a_mutated_config_loads_or_is_a_config_error_naming_it(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("folder")
    (folder / "house_price.yaml").write_text((MONITORS_DIR / "house_price.yaml").read_text(encoding="utf-8"))
    path = folder / "credit_default.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        monitors = load_monitors(folder)
    except ConfigError as exc:
        assert str(exc).startswith(str(path)) or str(exc).startswith(f"{folder}: two monitors"), str(exc)
    else:
        assert sorted(m.name for m in monitors) == sorted({m.name for m in monitors})
