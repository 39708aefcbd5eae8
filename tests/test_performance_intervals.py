"""Confidence intervals of performance figures: resamples against scikit-learn, coverage in seeded simulations,
judging by the interval, and the segment fairness view."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, norm
from sklearn import metrics as sk

from monitoring_jobs.config import ConfigError, MonitorConfig, PerformanceConfig
from monitoring_jobs.metrics import Status
from monitoring_jobs.performance import compute_performance, measures
from monitoring_jobs.performance.intervals import (
    BOOTSTRAP_MAX_ROWS,
    Figure,
    Interval,
    bootstrap,
    judge_figure,
    quantile_interval,
    resample_weights,
    wilson,
)
from monitoring_jobs.performance.measures import BinarySample, MulticlassSample, RegressionSample
from tests.helpers import build_monitor, by_key

TOLERANCE = 1e-9
SETTINGS = PerformanceConfig(bootstrap_resamples=300)


def draw_counts(rng, rows: int, resamples: int = 6) -> np.ndarray:
    return next(resample_weights(rows, resamples, rng))


def repeated(counts: np.ndarray, *arrays):
    """The rows of one resample, each as often as it was drawn: what the weights stand for."""
    return [np.repeat(array, counts.astype(int), axis=0) for array in arrays]


# --- one formula for the figure and its resamples ------------------------------------------------------

def test_resample_weights_are_draw_counts_of_every_row():
    counts = np.concatenate(list(resample_weights(50, 7, np.random.default_rng(0))))
    assert counts.shape == (7, 50) and (counts.sum(axis=1) == 50).all() and (counts == np.round(counts)).all()


@pytest.mark.parametrize("scores", ["tied", "distinct"])
def test_binary_resamples_equal_sklearn_on_the_repeated_rows(scores):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    score = np.clip(0.3 * y + rng.uniform(0, 0.7, 300), 0, 1)
    if scores == "tied":
        score = np.round(score, 2)
    assert (np.unique(score).size == score.size) == (scores == "distinct")
    sample = BinarySample(y, score, threshold=0.5, positive_label=1, bins=10)
    counts = draw_counts(rng, 300)
    measures = sample.measures(counts)
    for index, row in enumerate(counts):
        labels, scores = repeated(row, y, score)
        predicted = (scores >= 0.5).astype(int)
        expected = {"roc_auc": sk.roc_auc_score(labels, scores), "pr_auc": sk.average_precision_score(labels, scores),
                    "accuracy": sk.accuracy_score(labels, predicted), "f1": sk.f1_score(labels, predicted),
                    "precision": sk.precision_score(labels, predicted), "recall": sk.recall_score(labels, predicted),
                    "log_loss": sk.log_loss(labels, scores), "brier_score": sk.brier_score_loss(labels, scores)}
        for name, value in expected.items():
            assert measures[name][index] == pytest.approx(value, abs=TOLERANCE), name


@pytest.mark.parametrize("block_rows", [measures.POINT_BLOCK_ROWS, 64])
@pytest.mark.parametrize("case", ["ties", "infinite scores", "one class", "no positives", "one row", "empty"])
def test_binary_point_by_counting_equals_the_weighted_formula_and_sklearn(case, block_rows, monkeypatch):
    """The point value is counted (each class's scores sorted apart, sums over blocks of rows) rather than
    weighted: both routes give the same figures, and scikit-learn's where it defines them."""
    monkeypatch.setattr(measures, "POINT_BLOCK_ROWS", block_rows)
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 2000)
    score = np.round(np.clip(0.3 * y + rng.uniform(0, 0.7, 2000), 0, 1), 2)
    if case == "infinite scores":
        score[:5], score[5:9] = np.inf, -np.inf
    elif case == "one class":
        y[:] = 1
    elif case == "no positives":
        y[:] = 0
    elif case == "one row":
        y, score = y[:1], score[:1]
    elif case == "empty":
        y, score = y[:0], score[:0]
    sample = BinarySample(y, score, threshold=0.5, positive_label=1, bins=10)
    weighted = BinarySample(y, score, threshold=0.5, positive_label=1, bins=10).measures(np.ones((1, y.size)))
    assert sample.point.keys() == weighted.keys()
    for name, value in sample.point.items():
        assert value.shape == (1,)
        assert value[0] == pytest.approx(weighted[name][0], rel=1e-12, abs=1e-12, nan_ok=True), name
    if case == "ties":
        assert sample.point["roc_auc"][0] == pytest.approx(sk.roc_auc_score(y, score), abs=TOLERANCE)
        assert sample.point["pr_auc"][0] == pytest.approx(sk.average_precision_score(y, score), abs=TOLERANCE)


def test_multiclass_resamples_equal_sklearn_on_the_repeated_rows():
    rng = np.random.default_rng(2)
    y = rng.choice(["a", "b", "c", "d"], 200, p=[0.5, 0.3, 0.15, 0.05])
    predicted = np.where(rng.uniform(size=200) < 0.6, y, rng.choice(["a", "b", "c"], 200))
    probabilities = rng.dirichlet(np.ones(4), 200)
    sample = MulticlassSample(y, predicted, probabilities, ("a", "b", "c", "d"))
    counts = draw_counts(rng, 200)
    measures = sample.measures(counts)
    for index, row in enumerate(counts):
        labels, outputs, probs = repeated(row, y, predicted, probabilities)
        assert measures["accuracy"][index] == pytest.approx(sk.accuracy_score(labels, outputs), abs=TOLERANCE)
        for name, average in (("f1", "macro"), ("f1_weighted", "weighted")):
            assert measures[name][index] == pytest.approx(
                sk.f1_score(labels, outputs, average=average, zero_division=0), abs=TOLERANCE), name
        assert measures["recall"][index] == pytest.approx(
            sk.recall_score(labels, outputs, average="macro", zero_division=0), abs=TOLERANCE)
        assert measures["log_loss"][index] == pytest.approx(
            sk.log_loss(labels, probs, labels=["a", "b", "c", "d"]), abs=TOLERANCE)


def test_regression_resamples_equal_sklearn_on_the_repeated_rows():
    rng = np.random.default_rng(3)
    y = rng.lognormal(12, 0.4, 250)
    predicted = y * rng.normal(1, 0.1, 250)
    sample = RegressionSample(y, predicted)
    counts = draw_counts(rng, 250)
    measures = sample.measures(counts)
    for index, row in enumerate(counts):
        labels, outputs = repeated(row, y, predicted)
        assert measures["mae"][index] == pytest.approx(sk.mean_absolute_error(labels, outputs), rel=TOLERANCE)
        assert measures["rmse"][index] == pytest.approx(sk.root_mean_squared_error(labels, outputs), rel=TOLERANCE)
        assert measures["mape"][index] == pytest.approx(sk.mean_absolute_percentage_error(labels, outputs),
                                                        rel=TOLERANCE)
        assert measures["r2"][index] == pytest.approx(sk.r2_score(labels, outputs), rel=1e-7, abs=TOLERANCE)
        assert measures["mean_error"][index] == pytest.approx(np.mean(labels - outputs), rel=1e-7, abs=1e-6)


# --- the intervals themselves --------------------------------------------------------------------------

@pytest.mark.parametrize("successes, trials", [(0, 10), (7, 40), (39, 40), (31_000, 40_000)])
def test_wilson_equals_scipy(successes, trials):
    expected = binomtest(successes, trials).proportion_ci(0.95, method="wilson")
    interval = wilson(successes, trials, 0.95)
    assert (interval.lower, interval.upper) == pytest.approx((expected.low, expected.high), abs=1e-12)
    assert wilson(0, 0, 0.95) is None


def test_bootstrap_is_seeded_per_scope_and_narrows_with_more_labels():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 4000)
    score = np.clip(0.3 * y + rng.uniform(0, 0.7, 4000), 0, 1)
    small = BinarySample(y[:200], score[:200], threshold=0.5, positive_label=1)
    large = BinarySample(y, score, threshold=0.5, positive_label=1)
    first = bootstrap(small, SETTINGS, "")["roc_auc"]
    assert bootstrap(small, SETTINGS, "")["roc_auc"] == first  # a re-run: same bounds
    assert bootstrap(small, SETTINGS, "region=north")["roc_auc"] != first
    wide = bootstrap(large, SETTINGS, "")["roc_auc"]
    assert wide.upper - wide.lower < (first.upper - first.lower) / 3  # 20x the rows: about 1/sqrt(20) the width


def test_a_large_day_bootstraps_a_subsample_and_keeps_the_width_the_central_limit_theorem_gives():
    rows = 40 * BOOTSTRAP_MAX_ROWS
    rng = np.random.default_rng(9)
    score = rng.random(rows)
    y = (rng.random(rows) < score).astype(int)
    sample = BinarySample(y, score, threshold=0.5, positive_label=1)
    intervals = bootstrap(sample, SETTINGS, "")
    z = norm.ppf(0.975)
    auc = sk.roc_auc_score(y, score)
    positives, negatives = y.sum(), rows - y.sum()
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)  # Hanley and McNeil (1982)
    auc_se = math.sqrt((auc * (1 - auc) + (positives - 1) * (q1 - auc ** 2) + (negatives - 1) * (q2 - auc ** 2))
                       / (positives * negatives))
    accuracy = sk.accuracy_score(y, score >= 0.5)
    squared = (score - y) ** 2
    expected = {"roc_auc": (auc, auc_se), "accuracy": (accuracy, math.sqrt(accuracy * (1 - accuracy) / rows)),
                "brier_score": (squared.mean(), squared.std() / math.sqrt(rows))}
    for name, (value, standard_error) in expected.items():
        interval = intervals[name]
        assert interval.lower < value < interval.upper, name  # around the whole day's value, not the subsample's
        assert interval.upper - interval.lower == pytest.approx(2 * z * standard_error, rel=0.25), name


def coverage(draw, figure, truth: float, samples: int = 200) -> float:
    """Share of ``samples`` seeded samples whose interval holds the population value ``truth``."""
    hits = 0
    for seed in range(samples):
        interval = figure(*draw(np.random.default_rng(seed)), seed)
        hits += interval.lower <= truth <= interval.upper
    return hits / samples


def test_bootstrap_roc_auc_covers_the_population_auc_at_about_95_percent():
    shift = 1.0  # positives' scores N(1, 1), negatives' N(0, 1): population AUC = Phi(1 / sqrt 2)

    def draw(rng):
        y = rng.integers(0, 2, 300)
        return y, rng.normal(shift * y, 1.0)

    def figure(y, score, seed):
        sample = BinarySample(y, score, threshold=0.5, positive_label=1)
        return bootstrap(sample, SETTINGS.model_copy(update={"bootstrap_seed": seed}),
                         "")["roc_auc"]

    assert 0.90 <= coverage(draw, figure, norm.cdf(shift / math.sqrt(2))) <= 0.99


def test_wilson_accuracy_covers_the_population_accuracy_at_about_95_percent():
    def draw(rng):
        return (rng.uniform(size=120) < 0.8).sum(), 120

    assert 0.90 <= coverage(draw, lambda hits, n, _: wilson(hits, n, 0.95), 0.8) <= 0.99


def test_bootstrap_mae_and_order_statistic_median_cover_at_about_95_percent():
    def draw(rng):
        y = rng.normal(100.0, 10.0, 250)
        return y, y - rng.normal(0.5, 2.0, 250)  # residual N(0.5, 2): E|r| below, median 0.5

    def mae(y, predicted, seed):
        sample = RegressionSample(y, predicted)
        return bootstrap(sample, SETTINGS.model_copy(update={"bootstrap_seed": seed}),
                         "")["mae"]

    # E|N(mu, s)| = s sqrt(2/pi) exp(-mu^2 / 2s^2) + mu (1 - 2 Phi(-mu/s))
    truth = 2.0 * math.sqrt(2 / math.pi) * math.exp(-0.5 ** 2 / 8) + 0.5 * (1 - 2 * norm.cdf(-0.25))
    assert 0.90 <= coverage(draw, mae, truth) <= 0.99
    median = coverage(draw, lambda y, predicted, _: quantile_interval(y - predicted, 0.5, 0.95), 0.5)
    assert 0.90 <= median <= 0.99


# --- judging through the interval ----------------------------------------------------------------------

def bound(**ends):
    return PerformanceConfig(thresholds={"accuracy": ends}).thresholds["accuracy"]


@pytest.mark.parametrize("interval, status, phrase", [
    ((0.55, 0.68), Status.FAIL, "the whole 95% interval is below the minimum 0.7"),
    ((0.55, 0.75), Status.MISSING, "too few rows to tell"),
    (None, Status.FAIL, "allowed >= 0.7"),
])
def test_a_bound_fails_only_when_the_whole_interval_is_outside(interval, status, phrase):
    figure = Figure(0.65, interval and Interval(*interval, "Wilson"))
    metric = judge_figure("performance", "accuracy", figure, bound(min=0.7, severity="ERROR"), 0.95)
    assert metric.status is status and phrase in metric.detail and metric.threshold == 0.7
    assert (metric.lower, metric.upper) == (interval or (None, None))


def test_inside_the_bound_is_ok_and_a_maximum_works_the_same_way():
    inside = judge_figure("performance", "accuracy", Figure(0.8, Interval(0.65, 0.9, "Wilson")), bound(min=0.7), 0.95)
    assert inside.status is Status.OK
    above = judge_figure("performance", "log_loss", Figure(0.9, Interval(0.81, 1.0, "bootstrap")), bound(max=0.8),
                         0.95)
    assert above.status is Status.WARN and "above the maximum 0.8" in above.detail


def labeled_day(rng, rows: int, accuracy: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A day whose predictions are right on a share ``accuracy`` of rows (scores 0.9 or 0.1)."""
    y = rng.integers(0, 2, rows)
    right = rng.uniform(size=rows) < accuracy
    score = np.where(right == (y == 1), 0.9, 0.1)
    ids = [f"r{i}" for i in range(rows)]
    return (pd.DataFrame({"request_id": ids, "score": score, "x": 1.0}),
            pd.DataFrame({"request_id": ids, "label": y}))


def test_40_labels_do_not_raise_the_alarm_that_40000_do():
    monitor = build_monitor(performance={"min_labels": 20,
                                         "thresholds": {"accuracy": {"min": 0.7, "severity": "ERROR"}}})
    few = by_key(compute_performance(*labeled_day(np.random.default_rng(5), 40, 0.62), monitor))[("accuracy", "")]
    many = by_key(compute_performance(*labeled_day(np.random.default_rng(6), 40_000, 0.62), monitor))[("accuracy", "")]
    assert few.value < 0.7 and many.value < 0.7
    assert few.status is Status.MISSING and "too few rows to tell" in few.detail and few.upper > 0.7
    assert many.status is Status.FAIL and many.upper < 0.7
    expected = binomtest(round(many.value * 40_000), 40_000).proportion_ci(0.95, method="wilson")
    assert (many.lower, many.upper) == pytest.approx((expected.low, expected.high), abs=1e-12)


# --- segments and the fairness view --------------------------------------------------------------------

def segmented_day(rng, sizes: dict[str, tuple[int, float]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames = []
    for region, (rows, accuracy) in sizes.items():
        inference, labels = labeled_day(rng, rows, accuracy)
        frames.append(inference.assign(region=region, label=labels["label"],
                                       request_id=[f"{region}-{i}" for i in range(rows)]))
    day = pd.concat(frames, ignore_index=True)
    return day.drop(columns="label"), day[["request_id", "label"]]


def fairness_monitor(**performance) -> MonitorConfig:
    return build_monitor(columns={"segments": ["region"]},
                         performance={"segment_metric": "accuracy", "segment_min_support": 100, **performance})


def test_worst_segment_and_gap_with_a_newcombe_interval():
    inference, labels = segmented_day(np.random.default_rng(7), {"north": (2000, 0.9), "south": (1500, 0.7),
                                                                 "east": (60, 0.3)})
    monitor = fairness_monitor(segment_thresholds={"worst_segment_accuracy": {"min": 0.8},
                                                   "segment_gap_accuracy": {"max": 0.1, "severity": "ERROR"}})
    metrics = by_key(compute_performance(inference, labels, monitor))
    merged = inference.merge(labels, on="request_id")
    right = {region: int(((rows["score"] >= 0.5) == (rows["label"] == 1)).sum()) for region, rows in
             merged.groupby("region")}
    north, south = right["north"] / 2000, right["south"] / 1500
    worst, gap = metrics[("worst_segment_accuracy", "region")], metrics[("segment_gap_accuracy", "region")]
    assert worst.value == pytest.approx(south) and "worst region=south" in worst.detail
    assert "best region=north" in worst.detail and "2 values compared" in worst.detail  # east: too few rows
    assert worst.status is Status.WARN
    # Newcombe's hybrid score interval for a difference of two proportions (method 10), from scipy's Wilson bounds
    high = binomtest(right["north"], 2000).proportion_ci(0.95, method="wilson")
    low = binomtest(right["south"], 1500).proportion_ci(0.95, method="wilson")
    expected = (north - south - math.hypot(north - high.low, low.high - south),
                north - south + math.hypot(high.high - north, south - low.low))
    assert gap.value == pytest.approx(north - south, abs=TOLERANCE)
    assert (gap.lower, gap.upper) == pytest.approx(expected, abs=TOLERANCE)
    assert gap.status is Status.FAIL and gap.threshold == 0.1
    east = metrics[("accuracy", "region=east")]
    assert east.status is Status.MISSING and "only 60 labeled rows, fewer than segment_min_support=100" in east.detail
    assert metrics[("accuracy", "region=north")].status is Status.INFO  # a segment alone is never judged


def test_lower_is_better_metrics_rank_the_highest_as_worst():
    inference, labels = segmented_day(np.random.default_rng(8), {"north": (800, 0.9), "south": (800, 0.6)})
    metrics = by_key(compute_performance(inference, labels, fairness_monitor(segment_metric="log_loss")))
    worst, gap = metrics[("worst_segment_log_loss", "region")], metrics[("segment_gap_log_loss", "region")]
    south = metrics[("log_loss", "region=south")]
    assert worst.value == south.value and (worst.lower, worst.upper) == (south.lower, south.upper)
    assert gap.value == pytest.approx(south.value - metrics[("log_loss", "region=north")].value) and gap.value > 0


def test_one_supported_segment_leaves_the_fairness_view_missing():
    inference, labels = segmented_day(np.random.default_rng(9), {"north": (500, 0.9), "south": (20, 0.6)})
    metrics = by_key(compute_performance(inference, labels, fairness_monitor()))
    for name in ("worst_segment_accuracy", "segment_gap_accuracy"):
        assert metrics[(name, "region")].status is Status.MISSING
        assert "needs two values of 'region'" in metrics[(name, "region")].detail


@pytest.mark.parametrize("performance, message", [
    ({"segment_thresholds": {"worst_segment_f1": {"min": 0.5}}}, "unknown name(s) ['worst_segment_f1']"),
    ({"segment_metric": "mean_error"}, "cannot be compared across segments"),
    ({"thresholds": {"estimated_mae": {"max": 1}}}, "unknown metric(s) ['estimated_mae']"),
])
def test_segment_and_threshold_settings_are_checked(performance, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        build_monitor(columns={"segments": ["region"]}, performance=performance)


def test_segment_thresholds_need_segments():
    with pytest.raises((ValueError, ConfigError), match="no segments to compare"):
        build_monitor(performance={"segment_thresholds": {"worst_segment_roc_auc": {"min": 0.5}}})
