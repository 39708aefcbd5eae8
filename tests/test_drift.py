"""Drift statistics against scipy and hand-worked values; the engine on seeded data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from monitoring_jobs.config import MonitorConfig
from monitoring_jobs.drift import choose_method, compute_drift
from monitoring_jobs.drift.stats import (
    PSI_EPSILON,
    align_categories,
    chi2_test,
    jensenshannon_distance,
    ks_test,
    numeric_bin_counts,
    psi,
    psi_categorical,
    wasserstein_normed,
)
from monitoring_jobs.metrics import Status
from tests.helpers import build_monitor


def make_monitor(drift: dict | None = None, task: str = "binary_classification", **columns) -> MonitorConfig:
    return build_monitor(task, columns={"score": "score", "prediction": "prediction", **columns}, drift=drift)


# --- statistics against scipy -------------------------------------------------------------------

@pytest.mark.parametrize("sizes", [(50, 80), (1200, 3000), (20000, 15000)])
def test_ks_equals_scipy(sizes):
    rng = np.random.default_rng(1)
    reference = rng.normal(0, 1, sizes[0])
    current = np.round(rng.normal(0.2, 1.1, sizes[1]), 1)  # rounded: ties
    expected = stats.ks_2samp(reference, current)
    assert ks_test(reference, current) == (pytest.approx(expected.statistic, abs=1e-15),
                                          pytest.approx(expected.pvalue, rel=1e-12, abs=1e-300))


def test_wasserstein_is_normed_by_population_std():
    rng = np.random.default_rng(2)
    reference = rng.normal(10, 3, 400)
    current = rng.normal(11, 3, 300)
    raw = stats.wasserstein_distance(reference, current)
    assert wasserstein_normed(reference, current) == pytest.approx(raw / np.std(reference, ddof=0), rel=1e-12)
    assert wasserstein_normed(reference, current) != pytest.approx(raw / np.std(reference, ddof=1), rel=1e-6)


def test_wasserstein_constant_reference_uses_evidently_floor():
    reference = np.full(10, 5.0)
    current = np.array([5.0, 6.0])
    # W1 between {5 x10} and {5, 6}: half the current mass moves by 1, so 0.5; std is 0 -> divided by 0.001.
    assert wasserstein_normed(reference, current) == pytest.approx(0.5 / 0.001)
    assert wasserstein_normed(reference, reference) == 0.0


def test_chi2_equals_scipy_contingency_with_unseen_column():
    reference_counts = np.array([30, 50, 20, 0])
    current_counts = np.array([25, 40, 30, 5])  # last category never seen in the reference
    expected = stats.chi2_contingency(np.vstack([reference_counts, current_counts]), correction=False)
    statistic, p_value = chi2_test(reference_counts, current_counts)
    assert statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-12)


def test_chi2_two_categories_equals_pooled_two_proportion_z_test():
    # Evidently judges two-valued columns with a pooled z-test; the uncorrected chi-square is z squared.
    reference_counts, current_counts = np.array([120, 80]), np.array([70, 90])
    n1, n2 = reference_counts.sum(), current_counts.sum()
    p1, p2 = reference_counts[0] / n1, current_counts[0] / n2
    pooled = (reference_counts[0] + current_counts[0]) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    statistic, p_value = chi2_test(reference_counts, current_counts)
    assert statistic == pytest.approx(z * z, rel=1e-12)
    assert p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)


def test_chi2_drops_categories_absent_on_both_sides():
    assert chi2_test([10, 0, 5], [8, 0, 9]) == pytest.approx(chi2_test([10, 5], [8, 9]))


def test_jensenshannon_equals_scipy_natural_log():
    p, q = np.array([10, 20, 30, 0]), np.array([5, 25, 20, 10])
    assert jensenshannon_distance(p, q) == pytest.approx(distance.jensenshannon(p, q), rel=1e-12)
    # By hand, natural log: JS = sqrt((KL(p||m) + KL(q||m)) / 2).
    pn, qn = p / p.sum(), q / q.sum()
    m = (pn + qn) / 2
    kl = lambda a, b: sum(x * math.log(x / y) for x, y in zip(a, b) if x > 0)  # noqa: E731
    assert jensenshannon_distance(p, q) == pytest.approx(math.sqrt((kl(pn, m) + kl(qn, m)) / 2), rel=1e-12)
    assert jensenshannon_distance([1, 0], [0, 1]) == pytest.approx(math.sqrt(math.log(2)))


# --- PSI by hand --------------------------------------------------------------------------------

def test_psi_numeric_hand_computed():
    reference = np.arange(1.0, 11.0)  # 1..10
    current = np.array([2.0, 3.0, 7.0, 8.0, 9.0, 12.0])
    # bins=2: reference quantiles at 0, 0.5, 1 are 1, 5.5, 10 -> bins (<1), [1, 5.5), [5.5, 10], (>10).
    # reference counts 0, 5, 5, 0 -> shares 0, 1/2, 1/2, 0 (zeros become 1e-4)
    # current counts   0, 2, 3, 1 -> shares 0, 1/3, 1/2, 1/6
    # PSI = 0 (both empty) + (1/3 - 1/2) ln((1/3)/(1/2)) + 0 + (1/6 - 1e-4) ln((1/6)/1e-4)
    expected = (1 / 3 - 1 / 2) * math.log((1 / 3) / (1 / 2)) + (1 / 6 - 1e-4) * math.log((1 / 6) / 1e-4)
    assert psi(reference, current, bins=2) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(1.30327, abs=1e-5)


def test_psi_categorical_hand_computed():
    # shares 0.5/0.5 -> 0.25/0.75: (0.25-0.5) ln(0.5) + (0.75-0.5) ln(1.5) = 0.25 ln 2 + 0.25 ln 1.5 = 0.25 ln 3
    assert psi_categorical([50, 50], [25, 75]) == pytest.approx(0.25 * math.log(3), rel=1e-12)
    # A category unseen in the reference: its reference share 0 becomes PSI_EPSILON.
    expected = (0.5 - 1.0) * math.log(0.5 / 1.0) + (0.5 - PSI_EPSILON) * math.log(0.5 / PSI_EPSILON)
    assert psi_categorical([10, 0], [5, 5]) == pytest.approx(expected, rel=1e-12)


def test_bins_put_infinities_and_out_of_range_values_in_under_and_overflow():
    reference = np.sort(np.array([1.0, 2.0, 3.0, 4.0, np.inf]))
    current = np.sort(np.array([-np.inf, 0.5, 2.5, 99.0, np.inf]))
    reference_counts, current_counts = numeric_bin_counts(reference, current, bins=2)
    # finite reference 1..4 -> edges 1, 2.5, 4 -> (<1), [1, 2.5), [2.5, 4], (>4)
    assert reference_counts.tolist() == [0, 2, 2, 1]
    assert current_counts.tolist() == [2, 0, 1, 2]


def test_constant_reference_gives_below_equal_above_bins():
    reference_counts, current_counts = numeric_bin_counts(np.full(4, 7.0), np.array([6.0, 7.0, 7.0, 8.0]), 10)
    assert reference_counts.tolist() == [0, 4, 0]
    assert current_counts.tolist() == [1, 2, 1]


# --- degenerate inputs --------------------------------------------------------------------------

def test_align_categories_reports_unseen_by_name_and_counts_nulls():
    counts = align_categories(pd.Series(["a", "b", None, "a"]),
                              pd.Series(["a", "c", "<script>alert(1)</script>", np.nan]))
    by_category = dict(zip(counts.categories, zip(counts.reference.tolist(), counts.current.tolist())))
    assert by_category == {"a": (2, 1), "b": (1, 0), "c": (0, 1), "<script>alert(1)</script>": (0, 1)}
    assert set(counts.unseen) == {"c", "<script>alert(1)</script>"}
    assert (counts.reference_nulls, counts.current_nulls) == (1, 1)


def test_nan_values_are_dropped_before_every_statistic():
    rng = np.random.default_rng(3)
    reference, current = rng.normal(size=200), rng.normal(0.3, 1, 150)
    with_nan_ref, with_nan_cur = np.append(reference, [np.nan] * 7), np.insert(current, 3, np.nan)
    assert ks_test(with_nan_ref, with_nan_cur) == ks_test(reference, current)
    assert wasserstein_normed(with_nan_ref, with_nan_cur) == wasserstein_normed(reference, current)
    assert psi(with_nan_ref, with_nan_cur) == psi(reference, current)


@pytest.mark.parametrize("reference, current", [
    ([], [1.0, 2.0]),
    ([1.0, 2.0], []),
    ([np.nan, np.nan], [1.0]),
    ([], []),
])
def test_empty_samples_give_nan_without_exception(reference, current):
    assert all(math.isnan(value) for value in ks_test(reference, current))
    assert math.isnan(wasserstein_normed(reference, current))
    assert math.isnan(psi(reference, current))
    assert all(math.isnan(value) for value in chi2_test([1, 2], [0, 0]))
    assert math.isnan(jensenshannon_distance([0, 0], [1, 2]))
    assert math.isnan(psi_categorical([], []))


def test_infinities_do_not_crash_and_stay_finite_where_defined():
    reference = np.array([1.0, 2.0, 3.0, np.inf, -np.inf, 4.0])
    current = np.array([1.5, np.inf, 2.5, 3.5])
    statistic, p_value = ks_test(reference, current)
    assert 0 <= statistic <= 1 and 0 <= p_value <= 1
    assert wasserstein_normed(reference, current) == pytest.approx(
        stats.wasserstein_distance([1, 2, 3, 4], [1.5, 2.5, 3.5]) / np.std([1, 2, 3, 4]))
    assert math.isfinite(psi(reference, current))
    assert math.isnan(wasserstein_normed([np.inf, -np.inf], [1.0]))  # no finite reference value


def test_constant_identical_samples_show_no_drift():
    constant = np.full(30, 3.0)
    assert ks_test(constant, constant)[0] == 0.0
    assert wasserstein_normed(constant, constant) == 0.0
    assert psi(constant, constant) == 0.0
    assert chi2_test([30], [30])[1] == 1.0
    assert jensenshannon_distance([30], [30]) == 0.0


# --- method choice ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, reference_values, distinct, expected", [
    ("numeric", 1000, 50, "ks"),
    ("numeric", 1001, 50, "wasserstein"),
    ("numeric", 500, 5, "chi2"),
    ("numeric", 5000, 5, "jensenshannon"),
    ("numeric", 5000, 6, "wasserstein"),
    ("categorical", 1000, 40, "chi2"),
    ("categorical", 1001, 3, "jensenshannon"),
])
def test_auto_method_follows_evidently_defaults(kind, reference_values, distinct, expected):
    assert choose_method(kind, make_monitor().drift, reference_values, distinct) == expected


def test_configured_method_overrides_auto():
    config = make_monitor({"numeric_method": "psi", "categorical_method": "chi2"}).drift
    assert choose_method("numeric", config, 10, 100) == "psi"
    assert choose_method("categorical", config, 100000, 3) == "chi2"


# --- the engine ---------------------------------------------------------------------------------

def _frames(rng, reference_rows: int, current_rows: int, shift: float):
    def frame(rows, delta):
        return pd.DataFrame({
            "stable": rng.normal(50, 10, rows),
            "shifted": rng.normal(50 + delta, 10, rows),
            "colour": rng.choice(["red", "green", "blue"], p=[0.5, 0.3, 0.2], size=rows),
            "score": rng.uniform(size=rows),
        })
    return frame(reference_rows, 0.0), frame(current_rows, shift)


def test_small_reference_uses_ks_and_flags_only_the_shifted_feature():
    rng = np.random.default_rng(10)
    reference, current = _frames(rng, 800, 600, shift=5.0)
    monitor = make_monitor(numeric_features=["stable", "shifted"], categorical_features=["colour"])
    report = compute_drift(reference, current, monitor)
    by_name = {feature.feature: feature for feature in report.features}
    assert by_name["shifted"].method == "ks" and by_name["colour"].method == "chi2"
    for name in ("stable", "shifted"):
        expected_p = stats.ks_2samp(reference[name], current[name]).pvalue
        assert by_name[name].p_value == pytest.approx(expected_p, rel=1e-12)
        assert by_name[name].drifted == (expected_p < 0.05)
    assert report.drifted_features() == ["shifted"]
    assert report.drifted_share == pytest.approx(1 / 3)
    assert report.dataset_drift is False


def test_large_reference_uses_normed_wasserstein_and_jensenshannon():
    rng = np.random.default_rng(11)
    reference, current = _frames(rng, 5000, 4000, shift=3.0)
    current.loc[: len(current) // 2, "colour"] = "blue"  # half the rows move to one colour
    monitor = make_monitor(numeric_features=["stable", "shifted"], categorical_features=["colour"])
    report = compute_drift(reference, current, monitor)
    by_name = {feature.feature: feature for feature in report.features}
    expected_w = stats.wasserstein_distance(reference["shifted"], current["shifted"]) / np.std(reference["shifted"])
    assert by_name["shifted"].method == "wasserstein"
    assert by_name["shifted"].statistic == pytest.approx(expected_w, rel=1e-12)
    assert by_name["colour"].method == "jensenshannon"
    reference_counts = reference["colour"].value_counts()
    current_counts = current["colour"].value_counts().reindex(reference_counts.index)
    assert by_name["colour"].statistic == pytest.approx(distance.jensenshannon(reference_counts, current_counts))
    assert sorted(report.drifted_features()) == ["colour", "shifted"]
    assert report.drifted_share == pytest.approx(2 / 3) and report.dataset_drift is True


def test_dataset_drift_compares_share_with_threshold_inclusively():
    rng = np.random.default_rng(12)
    reference, current = _frames(rng, 3000, 3000, shift=6.0)
    features = {"numeric_features": ["stable", "shifted"]}
    assert compute_drift(reference, current, make_monitor({"dataset_drift_share": 0.5}, **features)).dataset_drift
    assert not compute_drift(reference, current, make_monitor({"dataset_drift_share": 0.6}, **features)).dataset_drift


def test_unseen_categories_are_reported_and_counted_in_chi2():
    reference = pd.DataFrame({"colour": ["red"] * 60 + ["blue"] * 40, "score": 0.5})
    current = pd.DataFrame({"colour": ["red"] * 50 + ["blue"] * 30 + ["<b>teal</b>"] * 20, "score": 0.5})
    report = compute_drift(reference, current, make_monitor(numeric_features=[], categorical_features=["colour"]))
    colour = report.features[0]
    assert colour.unseen_categories == ("<b>teal</b>",)
    expected = stats.chi2_contingency([[60, 40, 0], [50, 30, 20]], correction=False)
    assert colour.statistics["chi2_p_value"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert colour.drifted and "<b>teal</b>" in colour.detail


def test_metrics_status_follows_severity_and_decision():
    rng = np.random.default_rng(13)
    reference, current = _frames(rng, 2000, 2000, shift=8.0)
    for severity, failed in (("WARN", Status.WARN), ("ERROR", Status.FAIL)):
        monitor = make_monitor({"severity": severity}, numeric_features=["stable", "shifted"])
        metrics = compute_drift(reference, current, monitor).metrics(monitor.drift.severity)
        decision = {(m.feature, m.metric): m for m in metrics}
        assert decision[("shifted", "wasserstein_normed")].status is failed
        assert decision[("shifted", "wasserstein_normed")].threshold == 0.1
        assert decision[("shifted", "drift_detected")].value == 1.0
        assert decision[("stable", "wasserstein_normed")].status is Status.OK
        assert decision[("stable", "drift_detected")].value == 0.0
        assert decision[("stable", "ks_p_value")].status is Status.INFO
        assert decision[("shifted", "psi")].status is Status.INFO
        assert decision[("score", "prediction_drift")].value == 0.0
        assert decision[("", "dataset_drift")].value == 1.0 and decision[("", "dataset_drift")].status is failed
        assert decision[("", "drifted_feature_share")].value == 0.5


def test_missing_and_all_null_features_are_reported_not_raised():
    reference = pd.DataFrame({"x": [1.0, 2.0, 3.0], "empty": [np.nan] * 3, "score": [0.1, 0.5, 0.9]})
    current = pd.DataFrame({"x": [1.0, 2.5, 3.0], "empty": [np.nan] * 3, "score": [0.2, 0.4, np.nan]})
    monitor = make_monitor(numeric_features=["x", "empty", "absent"])
    report = compute_drift(reference, current, monitor)
    by_name = {feature.feature: feature for feature in report.features}
    for name in ("empty", "absent"):
        assert math.isnan(by_name[name].statistic) and not by_name[name].drifted
    metrics = [m for m in report.metrics(monitor.drift.severity) if m.feature in ("empty", "absent")]
    assert metrics and all(m.status is Status.MISSING for m in metrics)
    assert any("not in the reference and current data" in m.detail for m in metrics)
    assert any("no non-null values" in m.detail for m in metrics)
    assert report.prediction.current_nulls == 1 and "1 current" in report.prediction.detail
    assert report.drifted_share == 0.0  # only 'x' could be judged


def test_nothing_to_judge_gives_missing_day_verdict():
    monitor = make_monitor(numeric_features=["x"])
    report = compute_drift(pd.DataFrame(), pd.DataFrame({"x": [1.0]}), monitor)
    assert math.isnan(report.drifted_share) and report.dataset_drift is False
    day = {m.metric: m for m in report.metrics(monitor.drift.severity) if m.feature == ""}
    assert day["dataset_drift"].status is Status.MISSING


def test_low_cardinality_numeric_gets_category_statistics_and_multiclass_prediction_is_categorical():
    rng = np.random.default_rng(14)
    reference = pd.DataFrame({"rooms": rng.integers(1, 4, 300).astype(float),
                              "prediction": rng.choice(["a", "b"], 300)})
    current = pd.DataFrame({"rooms": rng.integers(1, 5, 200), "prediction": rng.choice(["a", "b", "c"], 200)})
    monitor = make_monitor(task="multiclass_classification", score=None, numeric_features=["rooms"])
    report = compute_drift(reference, current, monitor)
    rooms = report.features[0]
    assert rooms.method == "chi2" and {"ks_p_value", "chi2_p_value", "jensenshannon"} <= rooms.statistics.keys()
    assert rooms.unseen_categories == ("4.0",)
    assert report.prediction.kind == "categorical" and report.prediction.unseen_categories == ("c",)


def test_non_numeric_values_in_a_numeric_feature_are_counted():
    reference = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "score": 0.5})
    current = pd.DataFrame({"x": ["1", "oops", "3", None], "score": 0.5})
    feature = compute_drift(reference, current, make_monitor()).features[0]
    assert feature.current_nulls == 2 and "1 of the left-out current values are not numbers" in feature.detail
