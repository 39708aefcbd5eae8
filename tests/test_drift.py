"""Drift statistics against scipy, scikit-learn and hand-worked values; the engine on seeded data."""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from monitoring_jobs.config import MonitorConfig
from monitoring_jobs.drift import DriftLabels, choose_method, compute_drift, multivariate
from monitoring_jobs.drift import stats as drift_stats
from monitoring_jobs.drift.calibration import reference_chunks
from monitoring_jobs.drift.multiple_testing import adjust_p_values
from monitoring_jobs.drift.multivariate import reconstruction_drift
from monitoring_jobs.drift.stats import (
    PSI_EPSILON,
    align_categories,
    anderson_darling_test,
    bin_counts,
    chi2_test,
    cramer_von_mises_test,
    g_test,
    hellinger_distance,
    jensenshannon_distance,
    ks_test,
    linf_distance,
    numeric_bin_counts,
    psi,
    quantile_bin_edges,
    total_variation_distance,
    wasserstein_normed,
    z_test,
)
from monitoring_jobs.metrics import Status
from tests.helpers import build_monitor


def make_monitor(drift: dict | None = None, task: str = "binary_classification", **columns) -> MonitorConfig:
    return build_monitor(task, columns={"score": "score", "prediction": "prediction", **columns}, drift=drift)


def numeric_psi(reference, current, bins: int = 10) -> float:
    return psi(*numeric_bin_counts(reference, current, bins))


# --- sample statistics against scipy ------------------------------------------------------------

SIZES = [(15, 18), (50, 80), (1200, 3000), (20000, 15000)]  # exact and asymptotic p-value paths


@pytest.mark.parametrize("sizes", SIZES)
def test_ks_equals_scipy(sizes):
    rng = np.random.default_rng(1)
    reference = rng.normal(0, 1, sizes[0])
    current = np.round(rng.normal(0.2, 1.1, sizes[1]), 1)  # rounded: ties
    expected = stats.ks_2samp(reference, current)
    assert ks_test(reference, current) == (pytest.approx(expected.statistic, abs=1e-15),
                                          pytest.approx(expected.pvalue, rel=1e-12, abs=1e-300))


@pytest.mark.parametrize("sizes", SIZES)
def test_cramer_von_mises_equals_scipy(sizes):
    rng = np.random.default_rng(2)
    reference = np.round(rng.normal(0, 1, sizes[0]), 1)
    current = np.round(rng.normal(0.1, 1.2, sizes[1]), 1)
    expected = stats.cramervonmises_2samp(reference, current)
    statistic, p_value = cramer_von_mises_test(reference, current)
    assert statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("sizes", SIZES)
def test_anderson_darling_equals_scipy_midrank(sizes):
    rng = np.random.default_rng(3)
    reference, current = np.round(rng.normal(0, 1, sizes[0]), 2), np.round(rng.normal(0.15, 1, sizes[1]), 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # scipy: "p-value capped/floored", as documented
        expected = stats.anderson_ksamp([reference, current], variant="midrank")
    assert anderson_darling_test(reference, current) == (pytest.approx(expected.statistic, rel=1e-12),
                                                        pytest.approx(expected.pvalue))


def test_anderson_darling_subsamples_large_samples_with_a_fixed_seed(monkeypatch):
    monkeypatch.setattr(drift_stats, "ANDERSON_MAX_VALUES", 500)
    rng = np.random.default_rng(4)
    reference, current = np.sort(rng.normal(0, 1, 3000)), np.sort(rng.normal(0.1, 1, 400))
    subsample = np.random.default_rng(drift_stats.ANDERSON_SEED).choice(reference, 500, replace=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = stats.anderson_ksamp([subsample, current], variant="midrank")
    assert anderson_darling_test(reference, current) == (pytest.approx(expected.statistic), expected.pvalue)
    assert anderson_darling_test(reference, current) == anderson_darling_test(reference, current)


@pytest.mark.parametrize("sizes", SIZES)
def test_wasserstein_is_normed_by_population_std(sizes):
    rng = np.random.default_rng(5)
    reference = rng.normal(10, 3, sizes[0])
    current = rng.normal(11, 3, sizes[1])
    raw = stats.wasserstein_distance(reference, current)
    assert wasserstein_normed(reference, current) == pytest.approx(raw / np.std(reference, ddof=0), rel=1e-12)
    assert wasserstein_normed(reference, current) != pytest.approx(raw / np.std(reference, ddof=1), rel=1e-6)


@pytest.mark.parametrize("sizes", [(1, 7), (7, 1), (64, 64), (64, 65), (1000, 333), (999, 1000), (4096, 10)])
def test_wasserstein_summed_block_by_block_equals_scipy(monkeypatch, sizes):
    """The sum runs over blocks of reference values; blocks far smaller than the samples, ties within and
    between them, and sizes that share no factor must all give scipy's distance."""
    monkeypatch.setattr(drift_stats, "WASSERSTEIN_BLOCK", 16)
    rng = np.random.default_rng(sizes[0] * 7919 + sizes[1])
    reference = rng.integers(0, 20, sizes[0]).astype(float)
    current = rng.integers(2, 25, sizes[1]).astype(float) + rng.choice([0.0, 0.5], sizes[1])
    expected = stats.wasserstein_distance(reference, current) / max(np.std(reference), 0.001)
    assert wasserstein_normed(reference, current) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert wasserstein_normed(current, current) == 0.0


def test_wasserstein_constant_reference_uses_evidently_floor():
    reference = np.full(10, 5.0)
    current = np.array([5.0, 6.0])
    # W1 between {5 x10} and {5, 6}: half the current mass moves by 1, so 0.5; std is 0 -> divided by 0.001.
    assert wasserstein_normed(reference, current) == pytest.approx(0.5 / 0.001)
    assert wasserstein_normed(reference, reference) == 0.0


# --- histogram statistics against scipy and by hand ---------------------------------------------

def test_chi2_is_evidentlys_goodness_of_fit_equal_to_scipy_chisquare():
    reference_counts = np.array([30, 50, 20])
    current_counts = np.array([25, 40, 35])
    expected = stats.chisquare(current_counts, reference_counts * current_counts.sum() / reference_counts.sum())
    assert chi2_test(reference_counts, current_counts) == (pytest.approx(expected.statistic, rel=1e-12),
                                                          pytest.approx(expected.pvalue, rel=1e-12))
    # A category the reference never saw cannot be fitted: infinitely unlikely, p = 0.
    assert chi2_test([30, 50, 20, 0], [25, 40, 30, 5]) == (math.inf, 0.0)
    # Categories absent on both sides do not count as degrees of freedom.
    assert chi2_test([10, 0, 5], [8, 0, 9]) == pytest.approx(chi2_test([10, 5], [8, 9]))


def test_g_test_equals_scipy_power_divergence_log_likelihood():
    reference_counts, current_counts = np.array([120, 60, 20]), np.array([70, 70, 20])
    scaled = reference_counts * current_counts.sum() / reference_counts.sum()
    expected = stats.power_divergence(current_counts, scaled, lambda_="log-likelihood")
    assert g_test(reference_counts, current_counts) == (pytest.approx(expected.statistic, rel=1e-12),
                                                       pytest.approx(expected.pvalue, rel=1e-12))
    assert g_test([5, 0], [3, 1]) == (math.inf, 0.0)


def test_z_test_squared_is_the_uncorrected_2x2_contingency_chi_square():
    reference_counts, current_counts = np.array([120, 80]), np.array([70, 90])
    expected = stats.chi2_contingency(np.vstack([reference_counts, current_counts]), correction=False)
    z, p_value = z_test(reference_counts, current_counts)
    assert z * z == pytest.approx(expected.statistic, rel=1e-12)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9)
    n1, n2 = 200, 160  # by hand: pooled share of the first value
    pooled = (120 + 70) / (n1 + n2)
    assert z == pytest.approx((120 / n1 - 70 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)))
    assert z_test([10, 0], [7, 0]) == (0.0, 1.0)
    assert all(math.isnan(value) for value in z_test([1, 2, 3], [3, 2, 1]))


def test_jensenshannon_equals_scipy_natural_log():
    p, q = np.array([10, 20, 30, 0]), np.array([5, 25, 20, 10])
    assert jensenshannon_distance(p, q) == pytest.approx(distance.jensenshannon(p, q), rel=1e-12)
    pn, qn = p / p.sum(), q / q.sum()
    m = (pn + qn) / 2
    kl = lambda a, b: sum(x * math.log(x / y) for x, y in zip(a, b) if x > 0)  # noqa: E731
    assert jensenshannon_distance(p, q) == pytest.approx(math.sqrt((kl(pn, m) + kl(qn, m)) / 2), rel=1e-12)
    assert jensenshannon_distance([1, 0], [0, 1]) == pytest.approx(math.sqrt(math.log(2)))


def test_hellinger_total_variation_and_linf_by_hand():
    reference, current = [50, 30, 20], [20, 30, 50]  # shares 0.5/0.3/0.2 against 0.2/0.3/0.5
    bhattacharyya = math.sqrt(0.5 * 0.2) + math.sqrt(0.3 * 0.3) + math.sqrt(0.2 * 0.5)
    assert hellinger_distance(reference, current) == pytest.approx(math.sqrt(1 - bhattacharyya))
    root_gap = [math.sqrt(a) - math.sqrt(b) for a, b in ((0.5, 0.2), (0.3, 0.3), (0.2, 0.5))]
    assert hellinger_distance(reference, current) == pytest.approx(math.sqrt(sum(g * g for g in root_gap) / 2))
    assert total_variation_distance(reference, current) == pytest.approx((0.3 + 0 + 0.3) / 2)
    assert linf_distance(reference, current) == pytest.approx(0.3)
    assert hellinger_distance([1, 0], [0, 1]) == total_variation_distance([1, 0], [0, 1]) == 1.0


# --- PSI and its bins by hand -------------------------------------------------------------------

def test_psi_numeric_hand_computed():
    reference = np.arange(1.0, 11.0)  # 1..10
    current = np.array([2.0, 3.0, 7.0, 8.0, 9.0, 12.0])
    # bins=2: reference quantiles at 0, 0.5, 1 are 1, 5.5, 10 -> bins (<1), [1, 5.5), [5.5, 10], (>10).
    # reference counts 0, 5, 5, 0 -> shares 0, 1/2, 1/2, 0 (zeros become 1e-4)
    # current counts   0, 2, 3, 1 -> shares 0, 1/3, 1/2, 1/6
    # PSI = 0 (both empty) + (1/3 - 1/2) ln((1/3)/(1/2)) + 0 + (1/6 - 1e-4) ln((1/6)/1e-4)
    expected = (1 / 3 - 1 / 2) * math.log((1 / 3) / (1 / 2)) + (1 / 6 - 1e-4) * math.log((1 / 6) / 1e-4)
    assert numeric_psi(reference, current, bins=2) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(1.30327, abs=1e-5)


def test_psi_categorical_hand_computed():
    # shares 0.5/0.5 -> 0.25/0.75: (0.25-0.5) ln(0.5) + (0.75-0.5) ln(1.5) = 0.25 ln 2 + 0.25 ln 1.5 = 0.25 ln 3
    assert psi([50, 50], [25, 75]) == pytest.approx(0.25 * math.log(3), rel=1e-12)
    # A category unseen in the reference: its reference share 0 becomes PSI_EPSILON.
    expected = (0.5 - 1.0) * math.log(0.5 / 1.0) + (0.5 - PSI_EPSILON) * math.log(0.5 / PSI_EPSILON)
    assert psi([10, 0], [5, 5]) == pytest.approx(expected, rel=1e-12)


def test_bins_put_infinities_and_out_of_range_values_in_under_and_overflow():
    reference = np.array([1.0, 2.0, 3.0, 4.0, np.inf])
    current = np.array([-np.inf, 0.5, 2.5, 99.0, np.inf])
    edges = quantile_bin_edges(reference, bins=2)
    assert edges.tolist() == [1.0, 2.5, 4.0]  # finite reference 1..4 -> (<1), [1, 2.5), [2.5, 4], (>4)
    assert bin_counts(reference, edges).tolist() == [0, 2, 2, 1]
    assert bin_counts(current, edges).tolist() == [2, 0, 1, 2]


@pytest.mark.parametrize("size", [1, 2, 3, 10, 11, 999, 100_003])
def test_quantile_bin_edges_are_numpys_quantiles_to_the_bit(size):
    """The edges are read off the sorted values without ``np.quantile``'s partition pass; they must be the
    very floats ``np.quantile`` gives (a value on an edge must land in the same bin as Evidently's)."""
    rng = np.random.default_rng(size)
    values = np.concatenate((rng.lognormal(0, 2, size), rng.integers(0, 5, size // 3).astype(float)))
    for bins in (1, 3, 10, 7):
        expected = np.unique(np.quantile(values, np.linspace(0.0, 1.0, bins + 1)))
        assert quantile_bin_edges(values, bins).tolist() == expected.tolist()


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


def test_nan_values_are_dropped_before_every_sample_statistic():
    rng = np.random.default_rng(3)
    reference, current = rng.normal(size=200), rng.normal(0.3, 1, 150)
    with_nan_ref, with_nan_cur = np.append(reference, [np.nan] * 7), np.insert(current, 3, np.nan)
    for statistic in (ks_test, wasserstein_normed, cramer_von_mises_test, anderson_darling_test, numeric_psi):
        assert statistic(with_nan_ref, with_nan_cur) == statistic(reference, current), statistic.__name__


@pytest.mark.parametrize("reference, current", [([], [1.0, 2.0]), ([1.0, 2.0], []), ([np.nan, np.nan], [1.0]),
                                                ([], [])])
def test_empty_samples_give_nan_without_exception(reference, current):
    for statistic in (ks_test, cramer_von_mises_test, anderson_darling_test):
        assert all(math.isnan(value) for value in statistic(reference, current))
    assert math.isnan(wasserstein_normed(reference, current)) and math.isnan(numeric_psi(reference, current))
    for statistic in (chi2_test, g_test, z_test):
        assert all(math.isnan(value) for value in statistic([1, 2], [0, 0]))
    for distance_measure in (jensenshannon_distance, hellinger_distance, total_variation_distance, linf_distance, psi):
        assert math.isnan(distance_measure([0, 0], [1, 2]))


def test_constant_identical_samples_show_no_drift():
    constant = np.full(30, 3.0)
    assert ks_test(constant, constant)[0] == 0.0
    assert wasserstein_normed(constant, constant) == 0.0 and numeric_psi(constant, constant) == 0.0
    assert cramer_von_mises_test(constant, constant)[1] == pytest.approx(1.0)
    assert anderson_darling_test(constant, constant)[1] == 1.0
    assert chi2_test([30], [30]) == g_test([30], [30]) == z_test([30], [30]) == (0.0, 1.0)


# --- multiple testing ---------------------------------------------------------------------------

def test_benjamini_hochberg_equals_scipy_and_bonferroni_multiplies():
    p_values = np.array([0.01, 0.04, 0.03, 0.2, 0.0001, 0.5, 0.04])
    assert adjust_p_values(p_values, "bh") == pytest.approx(stats.false_discovery_control(p_values, method="bh"))
    assert adjust_p_values(p_values, "bonferroni") == pytest.approx(np.minimum(p_values * 7, 1.0))
    assert adjust_p_values(p_values, "none").tolist() == p_values.tolist()


def test_bh_keeps_the_false_discovery_rate_at_alpha_over_many_days():
    """2,000 simulated days of 19 unshifted features (uniform p-values) and one strongly shifted one: among
    flagged features, the mean share of false alarms stays at most alpha (BH's guarantee), while uncorrected
    tests would flag about one unshifted feature a day."""
    rng = np.random.default_rng(22)
    days, alpha = 2000, 0.05
    p_values = np.column_stack([rng.uniform(size=(days, 19)), np.full(days, 1e-6)])
    false_shares = []
    for day in p_values:
        flagged = adjust_p_values(day, "bh") < alpha
        false_shares.append(flagged[:19].sum() / flagged.sum())
    standard_error = np.std(false_shares) / math.sqrt(days)
    assert np.mean(false_shares) <= alpha * 19 / 20 + 3 * standard_error
    assert (p_values[:, :19] < alpha).sum(axis=1).mean() == pytest.approx(19 * alpha, rel=0.1)


def test_bh_on_20_features_of_a_million_rows_flags_the_shifted_one_and_at_most_one_other():
    """19 features drawn from one distribution on both sides and one shifted by 0.01 std, judged by KS.
    A million rows make every test powerful, but unshifted features still give uniform p-values, so BH
    flags the shifted feature and rarely any other (at most one here), fewer than uncorrected tests."""
    rng = np.random.default_rng(20)
    rows, names = 1_000_000, [f"f{i:02d}" for i in range(20)]
    reference = pd.DataFrame({name: rng.standard_normal(rows) for name in names})
    current = pd.DataFrame({name: rng.standard_normal(rows) for name in names})
    current["f19"] += 0.01
    reference["score"] = current["score"] = 0.5
    monitor = make_monitor({"numeric_method": "ks", "multivariate": {"enabled": False}}, numeric_features=names)
    started = time.perf_counter()
    report = compute_drift(reference, current, monitor)
    elapsed = time.perf_counter() - started
    flagged = report.drifted_features()
    raw = np.array([feature.p_value for feature in report.features])
    assert "f19" in flagged and len(flagged) <= 2
    assert len(flagged) <= (raw < 0.05).sum()
    assert [feature.decision_value for feature in report.features] == pytest.approx(
        stats.false_discovery_control(raw, method="bh"))
    for name in ("f00", "f19"):  # the large-sample path: our D and Smirnov's limit, against scipy
        expected = stats.ks_2samp(reference[name], current[name])
        feature = report.features[names.index(name)]
        assert (feature.statistic, feature.p_value) == (pytest.approx(expected.statistic, abs=1e-12),
                                                        pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300))
    assert elapsed < 30, f"{elapsed:.1f}s for 20 features of 1M rows"


# --- method choice ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, reference_values, distinct, expected", [
    ("numeric", 1000, 50, "ks"),
    ("numeric", 1001, 50, "wasserstein"),
    ("numeric", 500, 5, "chi2"),
    ("numeric", 500, 2, "z_test"),
    ("numeric", 5000, 5, "jensenshannon"),
    ("numeric", 5000, 6, "wasserstein"),
    ("categorical", 1000, 40, "chi2"),
    ("categorical", 1000, 2, "z_test"),
    ("categorical", 1001, 3, "jensenshannon"),
])
def test_auto_method_follows_evidently_defaults(kind, reference_values, distinct, expected):
    assert choose_method(kind, make_monitor().drift, reference_values, distinct) == expected


@pytest.mark.parametrize("reference_values, current_values, expected", [
    ([0, 1, 2, 3, 4], [0, 1, 2, 3, 4], "jensenshannon"),  # 5 distinct values: a category-like number
    ([0, 1, 2, 3, 4], [1, 2, 3, 4, 5], "wasserstein"),  # 5 on each side, 6 over both
    ([-0.0, 1, 2, 3, 4], [0.0, 1, 2, 3, 4], "jensenshannon"),  # -0.0 and 0.0 are one value
    ([0, 1, 2, 3, 4, 5], [0], "wasserstein"),
    ([-np.inf, 0, 1, 2, 3], [np.inf], "wasserstein"),  # infinities are values too
])
def test_distinct_values_over_both_days_choose_the_method(reference_values, current_values, expected):
    """The engine counts distinct values without a pass over every row; the count must still be the one
    over both samples that Evidently's rule reads (more than 5 distinct: a continuous number)."""
    monitor = make_monitor()
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"x": rng.choice(np.array(reference_values, float), 3000)})
    reference.loc[:len(reference_values) - 1, "x"] = reference_values
    current = pd.DataFrame({"x": rng.choice(np.array(current_values, float), 2000)})
    current.loc[:len(current_values) - 1, "x"] = current_values
    feature = compute_drift(reference, current, monitor).features[0]
    assert feature.method == expected


def test_configured_and_per_feature_methods_override_auto():
    config = make_monitor({"numeric_method": "psi", "categorical_method": "chi2",
                           "features": {"x": {"method": "anderson"}}}).drift
    assert choose_method("numeric", config, 10, 100) == "psi"
    assert choose_method("numeric", config, 10, 100, column="x") == "anderson"
    assert choose_method("categorical", config, 100000, 3) == "chi2"


@pytest.mark.parametrize("drift, message", [
    ({"features": {"age": {"method": "psi"}}}, "drift.features: unknown column 'age'"),
    ({"features": {"x": {"method": "chi2"}}}, "drift.features.x.method: 'chi2' does not apply to a numeric column"),
    ({"features": {"x": {"method": "ks", "threshold": 2}}}, "drift.features.x.threshold: 2 is a p-value threshold"),
    ({"multiple_testing": "holm"}, "drift.multiple_testing"),
    ({"calibration": {"chunks": 2}}, "drift.calibration.chunks"),
])
def test_config_errors_name_the_field(tmp_path, drift, message):
    import yaml

    from monitoring_jobs.config import ConfigError, load_monitor

    raw = {"name": "m", "task": "binary_classification", "start_date": "2026-10-01",
           "inference": {"uri": "file://data/{date}/"}, "columns": {"score": "score", "numeric_features": ["x"]},
           "drift": drift}
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_monitor(path)


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
    monitor = make_monitor({"multiple_testing": "none"}, numeric_features=["stable", "shifted"],
                           categorical_features=["colour"])
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


def test_p_values_of_tested_features_are_bh_adjusted_by_default_and_stored_beside_the_raw_ones():
    rng = np.random.default_rng(10)
    reference, current = _frames(rng, 800, 600, shift=1.5)
    monitor = make_monitor(numeric_features=["stable", "shifted"], categorical_features=["colour"])
    report = compute_drift(reference, current, monitor)
    raw = np.array([feature.p_value for feature in report.features])
    adjusted = stats.false_discovery_control(raw, method="bh")
    for feature, expected in zip(report.features, adjusted):
        assert feature.decision_metric == f"{feature.decision_metric.removesuffix('_bh')}_bh"
        assert feature.decision_value == pytest.approx(expected) and feature.drifted == (expected < 0.05)
    metrics = {(m.feature, m.metric): m for m in report.metrics(monitor.drift.severity)}
    shifted = metrics[("shifted", "ks_p_value_bh")]
    assert shifted.threshold == 0.05 and shifted.status in (Status.OK, Status.WARN)
    assert metrics[("shifted", "ks_p_value")].value == pytest.approx(report.features[1].p_value)
    assert metrics[("shifted", "ks_p_value")].status is Status.INFO
    assert metrics[("shifted", "reference_rows")].value == 800 and metrics[("shifted", "current_rows")].value == 600
    assert "Benjamini-Hochberg-adjusted over 3 tested features" in shifted.detail


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


@pytest.mark.filterwarnings("ignore:p-value floored:UserWarning")  # scipy's oracle, as documented in stats
@pytest.mark.parametrize("method, oracle", [
    ("psi", lambda r, c: psi(*numeric_bin_counts(r, c))),
    ("hellinger", lambda r, c: hellinger_distance(*numeric_bin_counts(r, c))),
    ("cramervonmises", lambda r, c: stats.cramervonmises_2samp(r, c).pvalue),
    ("anderson", lambda r, c: stats.anderson_ksamp([r, c], variant="midrank").pvalue),
])
def test_per_feature_override_sets_method_and_threshold(method, oracle):
    rng = np.random.default_rng(12)
    reference, current = _frames(rng, 3000, 2000, shift=2.0)
    drift = {"features": {"shifted": {"method": method, "threshold": 0.03}}, "multiple_testing": "none"}
    report = compute_drift(reference, current, make_monitor(drift, numeric_features=["stable", "shifted"]))
    stable, shifted = report.features
    assert stable.method == "wasserstein" and shifted.method == method and shifted.threshold == 0.03
    assert shifted.decision_value == pytest.approx(oracle(reference["shifted"].to_numpy(),
                                                          current["shifted"].to_numpy()), rel=1e-9)


def test_dataset_drift_compares_share_with_threshold_inclusively():
    rng = np.random.default_rng(12)
    reference, current = _frames(rng, 3000, 3000, shift=6.0)
    features = {"numeric_features": ["stable", "shifted"]}
    assert compute_drift(reference, current, make_monitor({"dataset_drift_share": 0.5}, **features)).dataset_drift
    assert not compute_drift(reference, current, make_monitor({"dataset_drift_share": 0.6}, **features)).dataset_drift


def test_unseen_categories_are_reported_by_name_and_make_chi2_infinite():
    reference = pd.DataFrame({"colour": ["red"] * 60 + ["blue"] * 40 + ["green"] * 10, "score": 0.5})
    current = pd.DataFrame({"colour": ["red"] * 50 + ["blue"] * 30 + ["<b>teal</b>"] * 20, "score": 0.5})
    report = compute_drift(reference, current, make_monitor(numeric_features=[], categorical_features=["colour"]))
    colour = report.features[0]
    assert colour.method == "chi2" and colour.unseen_categories == ("<b>teal</b>",)
    assert (colour.statistic, colour.p_value) == (math.inf, 0.0)
    assert colour.drifted and "1 categories not in the reference: <b>teal</b>" in colour.detail


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
        assert ("stable", "ks_p_value") not in decision  # only the deciding method is computed
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
    x = report.features[0]  # only 'x' could be judged; its current value 2.5 is new, which chi-square rejects
    assert x.unseen_categories == ("2.5",) and x.drifted and report.drifted_share == 1.0
    assert "needs at least 2 features" in report.multivariate_note


def test_nothing_to_judge_gives_missing_day_verdict():
    monitor = make_monitor(numeric_features=["x"])
    report = compute_drift(pd.DataFrame(), pd.DataFrame({"x": [1.0]}), monitor)
    assert math.isnan(report.drifted_share) and report.dataset_drift is False
    day = {m.metric: m for m in report.metrics(monitor.drift.severity) if m.feature == ""}
    assert day["dataset_drift"].status is Status.MISSING


def test_low_cardinality_numeric_is_compared_by_value_and_multiclass_prediction_is_categorical():
    rng = np.random.default_rng(14)
    reference = pd.DataFrame({"rooms": rng.integers(1, 4, 300).astype(float),
                              "prediction": rng.choice(["a", "b"], 300)})
    current = pd.DataFrame({"rooms": rng.integers(1, 5, 200), "prediction": rng.choice(["a", "b", "c"], 200)})
    monitor = make_monitor({"multiple_testing": "none"}, task="multiclass_classification", score=None,
                           numeric_features=["rooms"])
    report = compute_drift(reference, current, monitor)
    rooms = report.features[0]
    counts = [np.sum(reference["rooms"] == value) for value in (1, 2, 3, 4)]
    with np.errstate(divide="ignore"):  # scipy divides by the zero expected count of the unseen value
        expected = stats.chisquare([np.sum(current["rooms"] == value) for value in (1, 2, 3, 4)],
                                   np.array(counts) * 200 / 300)
    assert rooms.method == "chi2" and rooms.unseen_categories == ("4.0",)
    assert (rooms.statistic, rooms.p_value) == (math.inf, 0.0) == (expected.statistic, expected.pvalue)
    assert report.prediction.kind == "categorical" and report.prediction.unseen_categories == ("c",)


def test_non_numeric_values_in_a_numeric_feature_are_counted():
    reference = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "score": 0.5})
    current = pd.DataFrame({"x": ["1", "oops", "3", None], "score": 0.5})
    feature = compute_drift(reference, current, make_monitor()).features[0]
    assert feature.current_nulls == 2 and "1 of the left-out current values are not numbers" in feature.detail


def test_label_drift_compares_the_labels_with_its_own_verdict_metric():
    rng = np.random.default_rng(15)
    reference, current = _frames(rng, 3000, 2000, shift=0.0)
    labels = DriftLabels(pd.Series(rng.binomial(1, 0.2, 3000)), pd.Series(rng.binomial(1, 0.45, 1500)))
    monitor = make_monitor(numeric_features=["stable"])
    report = compute_drift(reference, current, monitor).with_label_drift(labels, monitor)
    assert report.label.role == "label" and report.label.method == "jensenshannon" and report.label.drifted
    verdicts = {m.metric: m for m in report.metrics(monitor.drift.severity) if m.feature == "label"}
    assert verdicts["label_drift"].value == 1.0 and verdicts["current_rows"].value == 1500
    assert report.drifted_features() == []  # the label is not a feature


# --- calibration on reference days ------------------------------------------------------------------

def _days_of(rows: int, days: int, rng) -> pd.Series:
    start = pd.Timestamp("2026-09-01", tz="UTC")
    return start + pd.to_timedelta(np.sort(rng.integers(0, days * 86_400, rows)), unit="s")


def test_calibrated_threshold_is_mean_plus_3_std_of_each_reference_day_against_the_other_days():
    rng = np.random.default_rng(16)
    reference, current = _frames(rng, 7000, 1000, shift=0.0)
    reference["timestamp"] = _days_of(7000, 7, rng)
    current["shifted"] += 1.5  # 0.15 std: small, but far beyond day-to-day variation
    drift = {"calibration": {"enabled": True}, "features": {"stable": {"method": "ks"}}}
    report = compute_drift(reference, current, make_monitor(drift, numeric_features=["stable", "shifted"]))
    days = reference["timestamp"].dt.floor("D")
    for feature in report.features:
        statistic = (lambda r, c: stats.ks_2samp(r, c).statistic) if feature.method == "ks" else \
            (lambda r, c: stats.wasserstein_distance(r, c) / np.std(r))
        per_day = [statistic(reference.loc[days != day, feature.feature], reference.loc[days == day, feature.feature])
                   for day in days.unique()]
        upper = np.mean(per_day) + 3 * np.std(per_day, ddof=1)
        assert feature.band.chunks == 7 and feature.threshold == pytest.approx(upper, rel=1e-9)
        assert feature.decision_metric == ("ks_statistic" if feature.method == "ks" else "wasserstein_normed")
        assert feature.drifted == (feature.statistic > upper)
        assert "7 reference days (2026-09-01 to 2026-09-07)" in feature.detail
    assert [feature.drifted for feature in report.features] == [False, True]


def test_calibration_without_timestamps_uses_equal_chunks_and_categoricals_too():
    rng = np.random.default_rng(17)
    reference, current = _frames(rng, 3000, 1000, shift=0.0)
    drift = {"calibration": {"enabled": True, "chunks": 5}, "features": {"colour": {"method": "psi"}}}
    monitor = make_monitor(drift, numeric_features=[], categorical_features=["colour"])
    report = compute_drift(reference, current, monitor)
    colour = report.features[0]
    per_chunk = []
    for chunk in np.array_split(np.arange(3000), 5):
        inside = reference.index.isin(chunk)
        counts = align_categories(reference.loc[~inside, "colour"], reference.loc[inside, "colour"])
        per_chunk.append(psi(counts.reference, counts.current))
    assert colour.threshold == pytest.approx(np.mean(per_chunk) + 3 * np.std(per_chunk, ddof=1), rel=1e-9)
    assert "5 equal chunks of reference rows (the reference has no timestamps)" in colour.detail


def test_reference_chunks_fall_back_to_equal_chunks_when_the_reference_covers_too_few_days():
    frame = pd.DataFrame({"timestamp": pd.to_datetime(["2026-09-01T01:00Z", "2026-09-02T02:00Z"] * 5)})
    chunks = reference_chunks(frame, "timestamp", 4)
    assert chunks.count == 4 and np.bincount(chunks.labels).tolist() == [3, 2, 3, 2]
    assert "covers 2 day(s)" in chunks.description


# --- multivariate drift (PCA reconstruction) ----------------------------------------------------------

def _encoded(frame: pd.DataFrame, reference: pd.DataFrame) -> np.ndarray:
    """The oracle's preprocessing, written out: mean/mode imputation and frequency encoding."""
    numeric = frame[["a", "b", "c"]].fillna(reference[["a", "b", "c"]].mean())
    shares = reference["kind"].value_counts(normalize=True)
    kind = frame["kind"].fillna(reference["kind"].mode()[0]).map(shares).fillna(0.0)
    return np.column_stack([numeric.to_numpy(), kind.to_numpy()])


def _butterfly(rng, rows: int, flipped: bool) -> pd.DataFrame:
    a = rng.normal(size=rows)
    b = (-a if flipped else a) * 0.9 + rng.normal(scale=0.3, size=rows)
    frame = pd.DataFrame({"a": a, "b": b, "c": rng.normal(size=rows),
                          "kind": rng.choice(["x", "y", "z"], p=[0.5, 0.3, 0.2], size=rows), "score": 0.5})
    frame.loc[rng.choice(rows, rows // 50, replace=False), "a"] = np.nan
    frame.loc[rng.choice(rows, rows // 50, replace=False), "kind"] = None
    return frame


@pytest.mark.parametrize("block_rows", [multivariate.BLOCK_ROWS, 997], ids=["one block", "many blocks"])
def test_reconstruction_error_equals_sklearn_and_its_band_comes_from_out_of_chunk_fits(block_rows, monkeypatch):
    monkeypatch.setattr(multivariate, "BLOCK_ROWS", block_rows)  # blocks cut through days: sums must not care
    rng = np.random.default_rng(18)
    reference, current = _butterfly(rng, 6000, flipped=False), _butterfly(rng, 2000, flipped=True)
    reference["timestamp"] = _days_of(6000, 6, rng)
    chunks = reference_chunks(reference, "timestamp", 10)
    found = reconstruction_drift(reference, current, ["a", "b", "c"], ["kind"], variance=0.65, chunks=chunks,
                                 k_std=3.0)
    scaler = StandardScaler().fit(_encoded(reference, reference))
    pca = PCA(n_components=0.65).fit(scaler.transform(_encoded(reference, reference)))
    scaled = scaler.transform(_encoded(current, reference))
    expected = np.linalg.norm(scaled - pca.inverse_transform(pca.transform(scaled)), axis=1).mean()
    assert found.components == pca.n_components_ and found.error == pytest.approx(expected, rel=1e-9)
    reference_scaled = scaler.transform(_encoded(reference, reference))
    per_day = []
    for day in range(6):
        inside = chunks.labels == day
        rest = PCA(n_components=0.65).fit(reference_scaled[~inside])
        rows = reference_scaled[inside]
        per_day.append(np.linalg.norm(rows - rest.inverse_transform(rest.transform(rows)), axis=1).mean())
    assert found.band.upper == pytest.approx(np.mean(per_day) + 3 * np.std(per_day, ddof=1), rel=1e-9)
    assert found.band.lower == pytest.approx(np.mean(per_day) - 3 * np.std(per_day, ddof=1), rel=1e-9)


def test_multivariate_error_of_a_sample_stays_near_the_whole_days_error(monkeypatch):
    rng = np.random.default_rng(20)
    reference, current = _butterfly(rng, 60_000, flipped=False), _butterfly(rng, 40_000, flipped=True)
    reference["timestamp"] = _days_of(60_000, 6, rng)
    chunks = reference_chunks(reference, "timestamp", 10)

    def error(max_rows: int):
        monkeypatch.setattr(multivariate, "MAX_ROWS", max_rows)
        return reconstruction_drift(reference, current, ["a", "b", "c"], ["kind"], variance=0.65, chunks=chunks,
                                    k_std=3.0)

    whole, sampled = error(10 ** 9), error(6_000)
    assert whole.sampled == "" and sampled.sampled.startswith("reference: a seeded sample of")
    assert "day: a seeded sample of" in sampled.sampled
    spread = (whole.band.upper - whole.band.lower) / 6  # one standard deviation of the error over reference days
    assert sampled.error == pytest.approx(whole.error, abs=spread)
    assert sampled.drifted == whole.drifted and sampled.components == whole.components


def test_multivariate_drift_sees_a_flipped_correlation_that_no_single_feature_shows():
    rng = np.random.default_rng(19)
    reference = _butterfly(rng, 6000, flipped=False)
    reference["timestamp"] = _days_of(6000, 6, rng)
    monitor = make_monitor(numeric_features=["a", "b", "c"], categorical_features=["kind"])
    flipped = compute_drift(reference, _butterfly(rng, 2000, flipped=True), monitor)
    assert flipped.drifted_features() == [] and flipped.multivariate_drifted
    clean = compute_drift(reference, _butterfly(rng, 2000, flipped=False), monitor)
    assert not clean.multivariate_drifted
    metric = next(m for m in flipped.metrics(monitor.drift.severity) if m.metric == "multivariate_reconstruction_error")
    assert metric.status is Status.WARN and metric.threshold == pytest.approx(flipped.multivariate.band.upper)
    assert "6 reference days" in metric.detail


def test_multivariate_can_be_switched_off():
    rng = np.random.default_rng(19)
    reference = _butterfly(rng, 500, flipped=False)
    monitor = make_monitor({"multivariate": {"enabled": False}}, numeric_features=["a", "b"])
    report = compute_drift(reference, _butterfly(rng, 200, flipped=True), monitor)
    assert report.multivariate is None and not any("multivariate" in m.metric
                                                   for m in report.metrics(monitor.drift.severity))


def test_no_warnings_on_ordinary_data():
    rng = np.random.default_rng(21)
    reference, current = _frames(rng, 900, 300, shift=1.0)
    monitor = make_monitor({"numeric_method": "anderson"}, numeric_features=["stable", "shifted"],
                           categorical_features=["colour"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compute_drift(reference, current, monitor)


def test_compute_drift_leaves_the_callers_frames_as_they_were():
    """Columns are sorted in place where the engine made its own array (nulls dropped, ints converted), never
    where the array is the caller's."""
    rng = np.random.default_rng(11)
    monitor = make_monitor(numeric_features=["x", "n", "gaps"], categorical_features=[])
    frames = [pd.DataFrame({"x": rng.normal(size=3000), "n": rng.integers(0, 100, 3000),
                            "gaps": np.where(rng.random(3000) < 0.1, np.nan, rng.normal(size=3000)),
                            "score": rng.random(3000)}) for _ in range(2)]
    before = [frame.copy(deep=True) for frame in frames]
    compute_drift(*frames, monitor)
    for frame, copy in zip(frames, before, strict=True):
        pd.testing.assert_frame_equal(frame, copy)
