"""Operational metrics: percentiles against numpy, error rate and confidence by hand, judging."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from monitoring_jobs.config import Bound, MonitorConfig, Severity
from monitoring_jobs.metrics import Status, failure_status, judged_metric
from monitoring_jobs.operations import compute_operations
from tests.helpers import build_monitor, by_key


def make_monitor(task: str = "binary_classification", operations: dict | None = None, **columns) -> MonitorConfig:
    return build_monitor(task, columns={"latency_ms": "latency_ms", "status": "status", **columns},
                         operations=operations)


def _frame():
    return pd.DataFrame({
        "status": ["ok", "ok", "error", "timeout", None, "ok"],
        "latency_ms": [12.0, 15.0, 300.0, 5000.0, np.nan, 20.0],
        "score": [0.9, 0.2, np.nan, np.nan, np.nan, 0.5],
        "prediction": [1.0, 0.0, np.nan, np.nan, np.nan, 1.0],
    })


def test_latency_percentiles_equal_numpy_linear_over_all_rows_with_a_latency():
    rng = np.random.default_rng(0)
    latency = rng.gamma(2.0, 30.0, 5000)
    latency[::97] = np.nan
    frame = pd.DataFrame({"latency_ms": latency, "status": rng.choice(["ok", "error"], 5000), "score": 0.5})
    metrics = by_key(compute_operations(frame, make_monitor()))
    present = latency[~np.isnan(latency)]  # failed requests included: their latency is real
    for name, q in (("latency_p50_ms", 50), ("latency_p95_ms", 95), ("latency_p99_ms", 99)):
        assert metrics[(name, "")].value == pytest.approx(np.percentile(present, q, method="linear"), rel=1e-12)
        assert "left out" in metrics[(name, "")].detail


def test_error_rate_and_status_counts_by_hand():
    metrics = by_key(compute_operations(_frame(), make_monitor()))
    # not ok: error, timeout, null -> 3 of 6 rows
    assert metrics[("error_rate", "")].value == pytest.approx(3 / 6)
    assert metrics[("row_count", "")].value == 6
    counts = {segment: m.value for (name, segment), m in metrics.items() if name == "status_count"}
    assert counts == {"status=ok": 3, "status=error": 1, "status=timeout": 1, "status=(missing)": 1}
    tolerant = by_key(compute_operations(_frame(), make_monitor(operations={"ok_statuses": ["ok", "timeout"]})))
    assert tolerant[("error_rate", "")].value == pytest.approx(2 / 6)


def test_mean_confidence_binary_by_hand_and_omitted_for_regression():
    metrics = by_key(compute_operations(_frame(), make_monitor()))
    # max(s, 1 - s) over the non-null scores 0.9, 0.2, 0.5 -> 0.9, 0.8, 0.5
    assert metrics[("mean_confidence", "")].value == pytest.approx((0.9 + 0.8 + 0.5) / 3)
    regression = by_key(compute_operations(_frame(), make_monitor("regression")))
    assert ("mean_confidence", "") not in regression


@pytest.mark.parametrize("bound, status, threshold", [
    ({"max": 0.1, "severity": "ERROR"}, Status.FAIL, 0.1),
    ({"max": 0.1}, Status.WARN, 0.1),
    ({"min": 0.6}, Status.WARN, 0.6),
    ({"min": 0.0, "max": 0.6}, Status.OK, 0.6),
])
def test_error_rate_thresholds(bound, status, threshold):
    monitor = make_monitor(operations={"thresholds": {"error_rate": bound}})
    error_rate = by_key(compute_operations(_frame(), monitor))[("error_rate", "")]
    assert error_rate.status is status and error_rate.threshold == threshold


def test_unbounded_metrics_are_info_and_bounded_row_count_is_judged():
    monitor = make_monitor(operations={"thresholds": {"row_count": {"min": 100, "severity": "ERROR"}}})
    metrics = by_key(compute_operations(_frame(), monitor))
    assert metrics[("row_count", "")].status is Status.FAIL
    assert metrics[("latency_p99_ms", "")].status is Status.INFO


def test_unconfigured_columns_are_omitted_and_absent_ones_missing():
    unconfigured = by_key(compute_operations(_frame(), make_monitor(latency_ms=None, status=None)))
    assert not any(name.startswith("latency") or name in ("error_rate", "status_count")
                   for name, _ in unconfigured)
    absent = by_key(compute_operations(_frame().drop(columns=["latency_ms", "status", "score"]), make_monitor()))
    for name in ("latency_p50_ms", "error_rate", "mean_confidence"):
        assert absent[(name, "")].status is Status.MISSING and "is not in the data" in absent[(name, "")].detail


def test_empty_frame_gives_missing_metrics_without_exception():
    metrics = by_key(compute_operations(_frame().iloc[0:0], make_monitor()))
    assert metrics[("row_count", "")].value == 0
    for name in ("latency_p50_ms", "error_rate", "mean_confidence"):
        assert metrics[(name, "")].status is Status.MISSING and math.isnan(metrics[(name, "")].value)


def test_judging_rule():
    assert failure_status(Severity.WARN) is Status.WARN and failure_status(Severity.ERROR) is Status.FAIL
    bound = Bound(min=0.2, max=0.8)
    assert judged_metric("operations", "m", float("nan"), bound).status is Status.MISSING
    assert judged_metric("operations", "m", 0.5, None).status is Status.INFO
    inside = judged_metric("operations", "m", 0.7, bound)
    assert inside.status is Status.OK and inside.threshold == 0.8  # the nearer end
    below = judged_metric("operations", "m", 0.1, bound)
    assert below.status is Status.WARN and below.threshold == 0.2
