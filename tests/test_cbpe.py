"""Performance estimated without labels (CBPE): the expected confusion matrix and ROC AUC against scikit-learn,
estimates against realized values on calibrated data, and the estimate moving with the population."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from monitoring_jobs.metrics import Status
from monitoring_jobs.performance import Calibration, compute_performance, estimation, fit_calibration
from monitoring_jobs.performance import compute as compute_module
from monitoring_jobs.performance.estimation import EstimationSample
from monitoring_jobs.performance.measures import unit_weights
from tests.helpers import InlineExecutor, build_monitor, by_key

ESTIMATED = ("estimated_roc_auc", "estimated_accuracy", "estimated_precision", "estimated_recall", "estimated_f1")


def calibrated_rows(rng, rows: int, spread: float = 1.6, prefix: str = "r") -> tuple[pd.DataFrame, np.ndarray]:
    """Scores that are the true probability of the label: log-odds N(-0.5, spread)."""
    score = 1 / (1 + np.exp(-rng.normal(-0.5, spread, rows)))
    label = (rng.uniform(size=rows) < score).astype(int)
    return pd.DataFrame({"request_id": [f"{prefix}{i}" for i in range(rows)], "score": score, "x": 1.0}), label


def reference_frame(seed: int = 0, rows: int = 20_000) -> pd.DataFrame:
    frame, label = calibrated_rows(np.random.default_rng(seed), rows, prefix="ref")
    return frame.assign(label=label)


def expected_labels(scores: np.ndarray, probabilities: np.ndarray):
    """Each row twice, labelled 1 with weight p and 0 with weight 1 - p: its expected outcome as a weighted set."""
    return np.r_[np.ones(scores.size), np.zeros(scores.size)], np.r_[scores, scores], \
        np.r_[probabilities, 1 - probabilities]


@pytest.mark.parametrize("route", ["point", "point in blocks of 64 rows", "weighted"])
def test_expected_confusion_matrix_and_roc_auc_equal_sklearn_on_the_expected_labels(route, monkeypatch):
    """The point (probabilities sorted, no row order, the area summed over blocks) and the weighted formula (rows
    ordered by score) agree."""
    if route == "point in blocks of 64 rows":
        monkeypatch.setattr(estimation, "POINT_BLOCK_ROWS", 64)
    rng = np.random.default_rng(1)
    scores = np.round(rng.uniform(size=3000), 2)  # ties
    probabilities = np.minimum(scores ** 1.3, 0.6)  # a calibration map: monotone, one probability per score, flat top
    sample = EstimationSample(scores, probabilities, 0.4)
    measured = sample.measures(unit_weights(scores.size)) if route == "weighted" else sample.point
    estimate = {name: float(values[0]) for name, values in measured.items()}
    y, s, weight = expected_labels(scores, probabilities)
    called = (s >= 0.4).astype(int)
    (tn, fp), (fn, tp) = sk.confusion_matrix(y, called, sample_weight=weight)
    expected = {"true_positives": tp, "false_positives": fp, "true_negatives": tn, "false_negatives": fn,
                "accuracy": sk.accuracy_score(y, called, sample_weight=weight),
                "precision": sk.precision_score(y, called, sample_weight=weight),
                "recall": sk.recall_score(y, called, sample_weight=weight),
                "f1": sk.f1_score(y, called, sample_weight=weight),
                "roc_auc": sk.roc_auc_score(y, s, sample_weight=weight)}
    for name, value in expected.items():
        assert estimate[name] == pytest.approx(value, rel=1e-9, abs=1e-9), name


def test_calibration_is_isotonic_on_the_reference_labels():
    reference = reference_frame()
    calibration = fit_calibration(reference, build_monitor())
    probabilities = calibration.probabilities(reference["score"].to_numpy())
    assert calibration.rows == len(reference)
    assert (np.diff(probabilities[np.argsort(reference["score"].to_numpy())]) >= 0).all()
    assert probabilities.mean() == pytest.approx(reference["label"].mean(), abs=1e-9)  # isotonic keeps the mean
    assert calibration.probabilities(np.array([-3.0, 7.0])).tolist() == [probabilities.min(), probabilities.max()]


def test_calibration_predicts_what_scikit_learns_isotonic_regression_predicts_and_survives_storage():
    from sklearn.isotonic import IsotonicRegression

    reference = reference_frame(seed=7, rows=5000).assign(score=lambda f: np.round(f["score"], 3))  # ties
    calibration = fit_calibration(reference, build_monitor())
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(reference["score"], reference["label"])
    scores = np.r_[np.random.default_rng(8).uniform(-0.5, 1.5, 20_000), calibration.thresholds, 0.0, 1.0]
    np.testing.assert_allclose(calibration.probabilities(scores), model.predict(scores), rtol=0, atol=1e-12)
    stored = Calibration.from_json(calibration.to_json().decode())
    assert stored.probabilities(scores).tolist() == calibration.probabilities(scores).tolist()
    assert stored.rows == calibration.rows == 5000
    constant = fit_calibration(reference.assign(score=0.3), build_monitor())  # one distinct score: one level
    np.testing.assert_allclose(constant.probabilities(scores), reference["label"].mean(), rtol=0, atol=1e-12)


def test_on_calibrated_scores_the_estimate_is_within_002_of_the_realized_value():
    day, label = calibrated_rows(np.random.default_rng(2), 20_000)
    labels = pd.DataFrame({"request_id": day["request_id"], "label": label})
    monitor = build_monitor()
    metrics = by_key(compute_performance(day, labels, monitor, fit_calibration(reference_frame(), monitor)))
    for name in ESTIMATED:
        estimated, realized = metrics[(name, "")], metrics[(name.removeprefix("estimated_"), "")]
        assert abs(estimated.value - realized.value) < 0.02, name
        assert estimated.lower < estimated.value < estimated.upper
        assert f"realized {realized.value:.4g} on 20000 labeled rows" in estimated.detail


def test_segments_figured_beside_the_day_are_the_segments_figured_before_it(monkeypatch):
    """Every figure, interval, status and detail, in the same order, whether the segments' figures are made in a
    thread beside the day's and the estimate or in the calling thread first: nothing is shared between them
    (each scope draws its resamples from a generator of its own)."""
    rng = np.random.default_rng(4)
    day, label = calibrated_rows(rng, 6000)
    day = day.assign(region=rng.choice(["north", "south", "east", None], day.shape[0], p=[0.5, 0.3, 0.195, 0.005]))
    labels = pd.DataFrame({"request_id": day["request_id"], "label": label}).iloc[:5000]
    monitor = build_monitor(columns={"segments": ["region"]},
                            performance={"thresholds": {"roc_auc": {"min": 0.9, "severity": "ERROR"}}})
    calibration = fit_calibration(reference_frame(), monitor)
    beside = compute_performance(day, labels, monitor, calibration)
    monkeypatch.setattr(compute_module, "ThreadPoolExecutor", InlineExecutor)
    first = compute_performance(day, labels, monitor, calibration)
    assert [repr(metric) for metric in beside] == [repr(metric) for metric in first]
    assert {metric.segment for metric in beside} >= {"", "region=north", "region=(missing)", "region"}
    assert any(metric.metric.startswith("estimated_") for metric in beside)


def test_the_estimate_falls_before_any_label_when_the_population_moves_where_the_model_is_unsure():
    monitor = build_monitor(performance={"thresholds": {"estimated_roc_auc": {"min": 0.75, "severity": "ERROR"}}})
    clear, clear_labels = calibrated_rows(np.random.default_rng(3), 3000)
    unsure, unsure_labels = calibrated_rows(np.random.default_rng(4), 3000, spread=0.5)  # log-odds near 0
    reference = reference_frame()
    calibration = fit_calibration(reference, monitor)
    before = by_key(compute_performance(clear, None, monitor, calibration))
    after = by_key(compute_performance(unsure, None, monitor, calibration))
    assert before[("labeled_rows", "")].value == after[("labeled_rows", "")].value == 0
    assert before[("estimated_roc_auc", "")].status is Status.OK
    assert after[("estimated_roc_auc", "")].status is Status.FAIL and after[("estimated_roc_auc", "")].upper < 0.75
    assert "no realized value yet (0 labeled rows)" in after[("estimated_roc_auc", "")].detail
    assert after[("estimated_accuracy", "")].value < before[("estimated_accuracy", "")].value - 0.1
    realized = {name: sk.roc_auc_score(labels, frame["score"])
                for name, frame, labels in (("before", clear, clear_labels), ("after", unsure, unsure_labels))}
    assert abs(after[("estimated_roc_auc", "")].value - realized["after"]) < 0.03  # and once labels arrive, it holds
    assert abs(before[("estimated_roc_auc", "")].value - realized["before"]) < 0.03


def test_without_a_labeled_reference_the_estimate_is_missing_with_the_reason():
    day, _ = calibrated_rows(np.random.default_rng(5), 500)
    monitor = build_monitor()
    unlabeled = by_key(compute_performance(day, None, monitor,
                                           fit_calibration(reference_frame().drop(columns="label"), monitor)))
    assert all(unlabeled[(name, "")].status is Status.MISSING for name in ESTIMATED)
    assert "the reference has no 'label' column" in unlabeled[("estimated_roc_auc", "")].detail
    none = by_key(compute_performance(day, None, monitor, "no reference yet: none of the previous 7 days"))
    assert "no reference yet" in none[("estimated_f1", "")].detail
    one_class = reference_frame().assign(label=0)
    assert "both classes" in fit_calibration(one_class, monitor)


def test_estimation_is_only_for_binary_classifiers_that_ask_for_it():
    day, label = calibrated_rows(np.random.default_rng(6), 300)
    labels = pd.DataFrame({"request_id": day["request_id"], "label": label})
    off = build_monitor(performance={"estimate_without_labels": False})
    calibration = fit_calibration(reference_frame(), off)
    assert not any(m.metric.startswith("estimated_") for m in compute_performance(day, labels, off, calibration))
    regression = build_monitor("regression")
    frame = day.rename(columns={"score": "prediction"})
    assert not any(m.metric.startswith("estimated_")
                   for m in compute_performance(frame, labels, regression, calibration))


def test_on_the_demo_the_estimate_falls_on_the_performance_drop_days_before_any_label_arrives(demo_root):
    """The demo's credit_default drop (days 24-26) moves the estimated ROC AUC below its bound with no labels at
    all, while clean days stay above it; the realized ROC AUC, once labels exist, agrees on the direction."""
    from monitoring_jobs.config import load_monitors
    from monitoring_jobs.demo_data import INCIDENTS
    from tests.conftest import MONITORS_DIR

    monitor = next(m for m in load_monitors(MONITORS_DIR) if m.name == "credit_default")
    drop = next(i for i in INCIDENTS if i.model == "credit_default" and i.kind == "performance_drop")
    data = demo_root / "data" / "credit_default"
    reference = pd.read_parquet(data / "reference" / "reference.parquet")
    assert reference["label"].notna().all()  # the reference carries the labels CBPE calibrates on
    bound = monitor.performance.thresholds["estimated_roc_auc"].min
    calibration = fit_calibration(reference, monitor)

    def estimated(day: dt.date):
        inference = pd.read_parquet(data / "inference" / f"dt={day.isoformat()}")
        metrics = by_key(compute_performance(inference, None, monitor, calibration))
        return metrics[("estimated_roc_auc", "")]

    drop_days = [drop.first_day + dt.timedelta(days=k) for k in range((drop.last_day - drop.first_day).days + 1)]
    clean_days = [drop.first_day - dt.timedelta(days=3), drop.last_day + dt.timedelta(days=2)]
    for day in drop_days:
        figure = estimated(day)
        assert figure.upper < bound and figure.status is Status.WARN, (day, figure)
    for day in clean_days:
        figure = estimated(day)
        assert figure.lower > bound and figure.status is Status.OK, (day, figure)


def test_the_stage_fits_the_calibration_once_per_state_of_the_reference_file(tmp_path, monkeypatch):
    from monitoring_jobs import stages
    from monitoring_jobs.metric_store import MetricStore
    from monitoring_jobs.pipeline import Workspace
    from monitoring_jobs.storage import ObjectStore

    workspace = Workspace(ObjectStore(tmp_path), MetricStore(f"sqlite:///{tmp_path / 'm.db'}"), tmp_path / "reports",
                          tmp_path / "state")
    monitor = build_monitor(reference={"kind": "file", "uri": "file://reference/reference.parquet"})
    (tmp_path / "reference").mkdir()
    reference_frame(seed=1).to_parquet(tmp_path / "reference" / "reference.parquet")
    fits, fit = [], stages.fit_calibration
    monkeypatch.setattr(stages, "fit_calibration", lambda *args: fits.append(args) or fit(*args))
    day = dt.date(2026, 10, 2)
    first = stages.cbpe_calibration(workspace, monitor, day)
    again = stages.cbpe_calibration(workspace, monitor, day)  # read back: no reference read, no fit
    assert len(fits) == 1 and again.thresholds.tolist() == first.thresholds.tolist() and again.rows == first.rows
    expected = fit(reference_frame(seed=1), monitor)
    assert first.levels.tolist() == expected.levels.tolist()
    reference_frame(seed=2).to_parquet(tmp_path / "reference" / "reference.parquet")  # a new reference
    renewed = stages.cbpe_calibration(workspace, monitor, day)
    assert len(fits) == 2 and renewed.levels.tolist() == fit(reference_frame(seed=2), monitor).levels.tolist()
    reference_frame(seed=3).assign(label=1).to_parquet(tmp_path / "reference" / "reference.parquet")
    reason = stages.cbpe_calibration(workspace, monitor, day)  # why there is none is kept as well
    assert "both classes" in reason and stages.cbpe_calibration(workspace, monitor, day) == reason and len(fits) == 3
    (tmp_path / "reference" / "reference.parquet").unlink()
    assert stages.cbpe_calibration(workspace, monitor, day).startswith("no reference to calibrate on (reference file")
