"""Performance metrics against scikit-learn; label join, segments and judging by hand."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk
from sklearn.calibration import calibration_curve

from monitoring_jobs.config import MonitorConfig
from monitoring_jobs.metrics import Status
from monitoring_jobs.performance import (
    LabelJoinError,
    classification_metrics,
    compute_performance,
    join_labels,
    multiclass_metrics,
    regression_metrics,
)
from tests.helpers import build_monitor, by_key

TOLERANCE = 1e-12


def make_monitor(task: str = "binary_classification", performance: dict | None = None, **columns) -> MonitorConfig:
    return build_monitor(task, columns=columns, performance=performance)


# --- formulas against scikit-learn --------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_metrics_equal_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 2000)
    score = np.clip(np.round(0.35 * y + rng.uniform(0, 0.65, y.size), 2), 0, 1)  # rounded: tied scores
    score[:3] = [0.0, 1.0, 0.5]  # extremes exercise log-loss clipping and the >= threshold rule
    result = classification_metrics(y, score, threshold=0.5, positive_label=1, bins=10)
    predicted = (score >= 0.5).astype(int)
    (tn, fp), (fn, tp) = sk.confusion_matrix(y, predicted)
    expected = {
        "roc_auc": sk.roc_auc_score(y, score),
        "pr_auc": sk.average_precision_score(y, score),
        "accuracy": sk.accuracy_score(y, predicted),
        "precision": sk.precision_score(y, predicted),
        "recall": sk.recall_score(y, predicted),
        "f1": sk.f1_score(y, predicted),
        "log_loss": sk.log_loss(y, score),
        "brier_score": sk.brier_score_loss(y, score),
        "ece": expected_calibration_error(y, score, bins=10),
        "true_positives": tp, "false_positives": fp, "true_negatives": tn, "false_negatives": fn,
    }
    assert result.keys() == expected.keys()
    for name, value in expected.items():
        assert result[name] == pytest.approx(value, abs=TOLERANCE, rel=TOLERANCE), name


def expected_calibration_error(y, score, bins: int) -> float:
    """ECE from scikit-learn's reliability curve: per non-empty bin, |observed - predicted| weighted by its rows."""
    observed, predicted = calibration_curve(y, score, n_bins=bins, strategy="uniform")
    rows = np.bincount(np.searchsorted(np.linspace(0, 1, bins + 1)[1:-1], score), minlength=bins)
    return float(np.sum(rows[rows > 0] / len(y) * np.abs(observed - predicted)))


def test_string_labels_with_string_positive_label():
    rng = np.random.default_rng(5)
    y = rng.choice(["good", "bad"], 500)
    score = rng.uniform(size=500)
    result = classification_metrics(y, score, threshold=0.3, positive_label="bad")
    positive = (y == "bad").astype(int)
    assert result["roc_auc"] == pytest.approx(sk.roc_auc_score(positive, score), abs=TOLERANCE)
    assert result["f1"] == pytest.approx(sk.f1_score(positive, (score >= 0.3).astype(int)), abs=TOLERANCE)


def test_numeric_labels_match_textual_positive_label_and_reject_a_word():
    y, score = np.array([1.0, 0.0, 1.0]), np.array([0.9, 0.2, 0.4])
    assert classification_metrics(y, score, threshold=0.5, positive_label="1")["recall"] == 0.5
    with pytest.raises(ValueError, match="not a number"):
        classification_metrics(y, score, threshold=0.5, positive_label="yes")


def test_undefined_binary_metrics_are_nan():
    single_class = classification_metrics([0, 0, 0], [0.1, 0.7, 0.2], threshold=0.5, positive_label=1)
    assert math.isnan(single_class["roc_auc"]) and math.isnan(single_class["recall"])
    assert single_class["precision"] == sk.precision_score([0, 0, 0], [0, 1, 0], zero_division=np.nan)
    assert single_class["log_loss"] == pytest.approx(sk.log_loss([0, 0, 0], [0.1, 0.7, 0.2], labels=[0, 1]))
    no_positive_prediction = classification_metrics([1, 0], [0.1, 0.2], threshold=0.5, positive_label=1)
    assert math.isnan(no_positive_prediction["precision"])
    assert all(math.isnan(v) for v in classification_metrics([], [], threshold=0.5, positive_label=1).values())


def test_multiclass_metrics_equal_sklearn_macro_with_zero_division_zero():
    rng = np.random.default_rng(6)
    y = rng.choice(["cat", "dog", "bird", "fish"], 1000, p=[0.4, 0.3, 0.2, 0.1])
    predicted = np.where(rng.uniform(size=1000) < 0.6, y, rng.choice(["cat", "dog", "bird", "eel"], 1000))
    classes = ("bird", "cat", "dog", "fish")
    probabilities = rng.dirichlet(np.ones(4), 1000)
    result = multiclass_metrics(y, predicted, probabilities, classes)  # "eel" is never a label; "fish" never predicted
    assert result["accuracy"] == pytest.approx(sk.accuracy_score(y, predicted), abs=TOLERANCE)
    for name, function in (("precision", sk.precision_score), ("recall", sk.recall_score), ("f1", sk.f1_score)):
        assert result[name] == pytest.approx(function(y, predicted, average="macro", zero_division=0),
                                             abs=TOLERANCE), name
    assert result["f1_weighted"] == pytest.approx(sk.f1_score(y, predicted, average="weighted", zero_division=0),
                                                  abs=TOLERANCE)
    assert result["log_loss"] == pytest.approx(sk.log_loss(y, probabilities, labels=list(classes)), abs=TOLERANCE)
    assert math.isnan(multiclass_metrics(y, predicted)["log_loss"])  # no probabilities: undefined


def test_multiclass_labels_that_went_through_float_match_int_predictions():
    assert multiclass_metrics(pd.Series([1.0, 2.0, 3.0]), pd.Series([1, 2, 2]))["accuracy"] == pytest.approx(2 / 3)


def test_regression_metrics_equal_sklearn():
    rng = np.random.default_rng(7)
    y = rng.lognormal(12, 0.5, 3000)
    predicted = y * rng.normal(1, 0.1, y.size)
    predicted[:2] = y[:2]  # zero errors
    result = regression_metrics(y, predicted)
    assert result["mae"] == pytest.approx(sk.mean_absolute_error(y, predicted), rel=TOLERANCE)
    assert result["rmse"] == pytest.approx(sk.root_mean_squared_error(y, predicted), rel=TOLERANCE)
    assert result["mape"] == pytest.approx(sk.mean_absolute_percentage_error(y, predicted), rel=TOLERANCE)
    assert result["r2"] == pytest.approx(sk.r2_score(y, predicted), rel=TOLERANCE, abs=TOLERANCE)
    residuals = y - predicted
    assert result["mean_error"] == pytest.approx(float(np.mean(residuals)), rel=1e-9)  # positive: predicts too low
    for name, quantile in (("residual_p05", 5), ("residual_p50", 50), ("residual_p95", 95)):
        assert result[name] == pytest.approx(float(np.percentile(residuals, quantile)), rel=TOLERANCE), name
    assert math.isnan(regression_metrics([5.0, 5.0], [4.0, 6.0])["r2"])  # constant labels


# --- label join ---------------------------------------------------------------------------------

def _inference():
    return pd.DataFrame({
        "request_id": ["r1", "r2", "r3", "r4", "r5"],
        "score": [0.9, 0.2, np.nan, 0.6, 0.4],  # r3 is an error row without a score
        "region": ["north", "north", "south", "south", "south"],
        "x": 1.0,
    })


def test_join_coverage_and_duplicates():
    labels = pd.DataFrame({
        "request_id": ["r1", "r2", "r2", "r3", "zz9", "r4"],
        "label": [1, 1, 0, 1, 0, None],
        "labeled_at": pd.to_datetime(["2026-10-02", "2026-10-05", "2026-10-03", "2026-10-02", "2026-10-02",
                                      "2026-10-09"], utc=True),
    })
    joined = join_labels(_inference(), labels, make_monitor())
    labels_by_id = dict(zip(joined.frame["request_id"], joined.frame["label"]))
    assert labels_by_id["r2"] == 1  # the 2026-10-05 label beats the earlier one listed after it
    assert labels_by_id["r4"] != labels_by_id["r4"]  # a null label is ignored, not joined
    assert math.isnan(labels_by_id["r5"])
    assert joined.predicted_rows == 4  # r3 has no score
    assert joined.labeled_rows == 2  # r1, r2 (r3 is labelled but has no score)
    assert joined.coverage == pytest.approx(2 / 4)
    assert "zz9" not in set(joined.frame["request_id"])  # a label of another day adds no row
    assert joined.duplicate_labels == 1 and joined.null_labels == 1
    assert len(joined.frame) == len(_inference())
    # each label row, null label included, in the order given: is its id one of the day's requests?
    assert joined.matched_labels.tolist() == [True, True, True, True, False, True]


def test_matched_labels_are_the_label_rows_whose_id_text_is_a_requests():
    """Against a set of the requests' ids as text: ids as numbers and as text, nulls on both sides, duplicate
    and null labels, dated rows the join reorders, a labels frame with an index of its own."""
    rng = np.random.default_rng(9)
    inference = pd.DataFrame({"request_id": pd.array([*range(200), None], dtype="Int64"), "score": 0.5})
    ids = rng.integers(150, 260, 400).astype(str).astype(object)
    ids[rng.random(400) < 0.05] = None
    labels = pd.DataFrame({"request_id": ids, "label": np.where(rng.random(400) < 0.1, np.nan, 1.0),
                           "labeled_at": pd.to_datetime(rng.integers(0, 10**9, 400), unit="s", utc=True)},
                          index=rng.permutation(400) + 1000)
    labels.loc[labels.index[:20], "labeled_at"] = pd.NaT
    joined = join_labels(inference, labels, make_monitor())
    requested = {str(value) for value in inference["request_id"].dropna()}
    assert joined.matched_labels.tolist() == [value is not None and value in requested for value in ids]
    assert 0 < joined.matched_labels.sum() < len(labels)


def test_join_without_labeled_at_keeps_the_last_row_and_matches_ids_as_text():
    inference = pd.DataFrame({"request_id": [101, 102], "score": [0.3, 0.8], "x": 1.0})
    labels = pd.DataFrame({"request_id": ["101", "101", "102"], "label": [1, 0, 1]})
    joined = join_labels(inference, labels, make_monitor())
    assert joined.frame["label"].tolist() == [0, 1]


def test_join_without_labels_and_with_broken_inputs():
    joined = join_labels(_inference(), None, make_monitor())
    assert joined.labeled_rows == 0 and joined.coverage == 0.0 and joined.frame["label"].isna().all()
    with pytest.raises(LabelJoinError, match="label column 'label' is not in the label data"):
        join_labels(_inference(), pd.DataFrame({"request_id": ["r1"]}), make_monitor())
    with pytest.raises(LabelJoinError, match="already has a column 'label'"):
        join_labels(_inference().assign(label=1), pd.DataFrame({"request_id": [], "label": []}), make_monitor())


def test_a_join_made_on_ids_and_scores_alone_serves_the_whole_frame():
    labels = pd.DataFrame({"request_id": ["r1", "r2", "r2", "r4"], "label": [1, 0, 1, 0]})
    inference, monitor = _inference(), make_monitor()
    narrow = join_labels(inference[["request_id", "score"]], labels, monitor)
    whole = join_labels(inference, labels, monitor)
    onto = narrow.onto(inference)
    pd.testing.assert_frame_equal(onto.frame, whole.frame)
    assert dataclasses.replace(onto, frame=None) == dataclasses.replace(whole, frame=None)
    assert onto.matched_labels.tolist() == whole.matched_labels.tolist() == [True] * 4
    assert compute_performance(inference, narrow, monitor) == compute_performance(inference, labels, monitor)
    with pytest.raises(LabelJoinError, match="already has a column 'label'"):
        narrow.onto(inference.assign(label=1))
    with pytest.raises(ValueError, match="the join holds 5 rows, the inference data 4"):
        narrow.onto(inference.iloc[:4])


# --- compute_performance ------------------------------------------------------------------------

def _day(rng, rows: int = 600):
    y = rng.integers(0, 2, rows)
    inference = pd.DataFrame({
        "request_id": [f"req-{i}" for i in range(rows)],
        "score": np.clip(0.3 * y + rng.uniform(0, 0.7, rows), 0, 1),
        "region": rng.choice(["north", "south", "<script>alert(1)</script>"], rows, p=[0.6, 0.35, 0.05]),
        "x": 1.0,
    })
    inference.loc[::50, "score"] = np.nan  # error rows
    labels = pd.DataFrame({"request_id": inference["request_id"], "label": y}).iloc[::2]  # half labelled
    return inference, labels


def test_whole_day_and_segments_equal_sklearn_on_the_same_rows():
    inference, labels = _day(np.random.default_rng(8))
    monitor = make_monitor(segments=["region"], performance={"min_labels": 20, "segment_min_support": 20})
    metrics = by_key(compute_performance(inference, labels, monitor))
    merged = inference.merge(labels, on="request_id").dropna(subset=["score"])
    for segment, rows in [("", merged), *((f"region={r}", g) for r, g in merged.groupby("region"))]:
        assert metrics[("labeled_rows", segment)].value == len(rows)
        expected_status = Status.MISSING if len(rows) < 20 else Status.INFO  # no bound configured
        assert metrics[("roc_auc", segment)].status is expected_status
        assert metrics[("roc_auc", segment)].value == pytest.approx(
            sk.roc_auc_score(rows["label"], rows["score"]), abs=TOLERANCE)
        assert metrics[("log_loss", segment)].value == pytest.approx(
            sk.log_loss(rows["label"], rows["score"], labels=[0, 1]), abs=TOLERANCE)
    scored = inference["score"].notna()
    assert metrics[("label_coverage", "")].value == pytest.approx(len(merged) / scored.sum())
    small = metrics[("roc_auc", "region=<script>alert(1)</script>")]
    assert metrics[("labeled_rows", small.segment)].value < 20  # 5% of about 290 labelled rows
    assert small.status is Status.MISSING and "segment_min_support=20" in small.detail
    assert not math.isnan(small.value)  # still computed, just not judged


@pytest.mark.parametrize("bound, status", [
    ({"min": 0.99}, Status.WARN),
    ({"min": 0.99, "severity": "ERROR"}, Status.FAIL),
    ({"min": 0.5, "max": 1.0}, Status.OK),
])
def test_thresholds_give_status_and_threshold(bound, status):
    inference, labels = _day(np.random.default_rng(9))
    monitor = make_monitor(performance={"thresholds": {"accuracy": bound}})
    accuracy = by_key(compute_performance(inference, labels, monitor))[("accuracy", "")]
    assert accuracy.status is status
    assert accuracy.threshold == (0.99 if status is not Status.OK else 0.5)


def test_label_coverage_is_judged_even_without_enough_labels():
    inference, _ = _day(np.random.default_rng(10))
    monitor = make_monitor(performance={"thresholds": {"label_coverage": {"min": 0.2}}})
    metrics = by_key(compute_performance(inference, None, monitor))
    assert metrics[("label_coverage", "")].value == 0.0 and metrics[("label_coverage", "")].status is Status.WARN
    assert metrics[("labeled_rows", "")].value == 0
    assert metrics[("roc_auc", "")].status is Status.MISSING and math.isnan(metrics[("roc_auc", "")].value)


def test_single_class_day_reports_missing_roc_auc_with_reason():
    inference, labels = _day(np.random.default_rng(11))
    labels = labels.assign(label=0)
    monitor = make_monitor(performance={"min_labels": 5, "thresholds": {"roc_auc": {"min": 0.7}}})
    metrics = by_key(compute_performance(inference, labels, monitor))
    roc_auc = metrics[("roc_auc", "")]
    assert math.isnan(roc_auc.value) and roc_auc.status is Status.MISSING and "one class" in roc_auc.detail
    assert metrics[("accuracy", "")].status is Status.INFO


def test_regression_and_multiclass_days():
    rng = np.random.default_rng(12)
    y = rng.normal(300_000, 50_000, 200)
    inference = pd.DataFrame({"request_id": [str(i) for i in range(200)], "prediction": y + rng.normal(0, 9000, 200),
                              "x": 1.0})
    labels = pd.DataFrame({"request_id": inference["request_id"], "label": y.astype(str)})  # labels read as text
    regression = by_key(compute_performance(inference, labels, make_monitor("regression")))
    assert regression[("rmse", "")].value == pytest.approx(
        sk.root_mean_squared_error(y, inference["prediction"]), rel=1e-9)

    classes = rng.choice(["a", "b", "c"], 200)
    multiclass = make_monitor("multiclass_classification", performance={"thresholds": {"roc_auc": {"min": 0.8}}})
    inference = inference.assign(prediction=np.where(rng.uniform(size=200) < 0.7, classes, "a"))
    result = by_key(compute_performance(inference, labels.assign(label=classes), multiclass))
    assert result[("f1", "")].value == pytest.approx(
        sk.f1_score(classes, inference["prediction"], average="macro", zero_division=0), abs=TOLERANCE)
    assert result[("roc_auc", "")].status is Status.MISSING and "multiclass" in result[("roc_auc", "")].detail


def test_unjoinable_labels_give_missing_metrics_not_an_exception():
    inference, _ = _day(np.random.default_rng(13))
    metrics = compute_performance(inference, pd.DataFrame({"id": ["x"], "label": [1]}), make_monitor())
    assert {m.metric for m in metrics} >= {"label_coverage", "labeled_rows", "roc_auc"}
    assert all(m.status is Status.MISSING and "request id column" in m.detail for m in metrics)


def test_missing_segment_column_is_reported():
    inference, labels = _day(np.random.default_rng(14))
    monitor = make_monitor(segments=["region"])
    metrics = compute_performance(inference.drop(columns="region"), labels, monitor)
    missing = [m for m in metrics if m.segment == "region"]
    assert len(missing) == 1 and missing[0].status is Status.MISSING
    assert "not in the inference data" in missing[0].detail


def test_segments_are_reported_but_not_judged_with_whole_day_bounds():
    rng = np.random.default_rng(3)
    n = 400
    labels = rng.integers(0, 2, n)
    score = np.clip(labels * 0.6 + rng.normal(0.2, 0.15, n), 0, 1)
    region = np.where(np.arange(n) < 300, "north", "south")
    score[300:] = 1 - score[300:]  # the south segment is badly ranked
    frame = pd.DataFrame({"request_id": [f"r{i}" for i in range(n)], "score": score, "region": region})
    label_frame = pd.DataFrame({"request_id": frame["request_id"], "label": labels})
    monitor = make_monitor(performance={"min_labels": 10, "thresholds": {"roc_auc": {"min": 0.6, "severity": "ERROR"}}},
                           segments=["region"])
    metrics = compute_performance(frame, label_frame, monitor)
    south = next(m for m in metrics if m.metric == "roc_auc" and m.segment == "region=south")
    expected = sk.roc_auc_score(labels[300:], score[300:])
    assert south.value == pytest.approx(expected, abs=1e-12) and expected < 0.6
    assert south.status is Status.INFO
    whole = next(m for m in metrics if m.metric == "roc_auc" and m.segment == "")
    assert whole.value == pytest.approx(sk.roc_auc_score(labels, score), abs=1e-12)
    assert whole.status is (Status.FAIL if whole.value < 0.6 else Status.OK) and whole.threshold == 0.6
