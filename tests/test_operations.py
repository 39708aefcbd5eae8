"""Operational metrics: percentiles against numpy, counts, rates, tokens and cost by hand, judging, the budget
check, and the config that enables them."""

from __future__ import annotations

import collections
import math
import textwrap

import numpy as np
import pandas as pd
import pytest

from monitoring_jobs.config import Bound, ConfigError, MonitorConfig, Severity, load_monitor
from monitoring_jobs.metrics import Status, failure_status, judged_metric
from monitoring_jobs.operations import compute_operations, cost_budget_check
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


def test_mean_confidence_binary_by_hand_and_omitted_without_a_score_column():
    metrics = by_key(compute_operations(_frame(), make_monitor()))
    # max(s, 1 - s) over the non-null scores 0.9, 0.2, 0.5 -> 0.9, 0.8, 0.5
    assert metrics[("mean_confidence", "")].value == pytest.approx((0.9 + 0.8 + 0.5) / 3)
    regression = by_key(compute_operations(_frame(), make_monitor("regression")))
    assert not any(name == "mean_confidence" or name.startswith("confidence_") for name, _ in regression)


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


# --- volume, throughput, errors by type, confidence distribution ----------------------------------------------

@pytest.mark.parametrize("trailing, expected", [([4, 8], 1.0), ([10, 20], 0.4), ([3], 2.0)])
def test_volume_against_the_trailing_mean_by_hand(trailing, expected):
    monitor = make_monitor(operations={"thresholds": {"volume_vs_trailing_mean": {"min": 0.5, "max": 1.5}}})
    volume = by_key(compute_operations(_frame(), monitor, trailing))[("volume_vs_trailing_mean", "")]
    assert volume.value == pytest.approx(expected)  # 6 rows over the mean of the earlier days
    assert volume.status is (Status.OK if 0.5 <= expected <= 1.5 else Status.WARN)
    assert f"over {len(trailing)} earlier day(s)" in volume.detail


def test_volume_without_earlier_days_is_missing_and_unbounded_volume_is_info():
    assert by_key(compute_operations(_frame(), make_monitor()))[("volume_vs_trailing_mean", "")].status \
        is Status.MISSING
    assert by_key(compute_operations(_frame(), make_monitor(), [6]))[("volume_vs_trailing_mean", "")].status \
        is Status.INFO


def test_requests_per_hour_equal_a_count_of_utc_hours_with_every_hour_present():
    rng = np.random.default_rng(3)
    start = pd.Timestamp("2026-10-01", tz="UTC")
    offsets = rng.integers(0, 86_400, 3000) * 1_000_000_000
    offsets = offsets[(offsets < 5 * 3_600 * 10**9) | (offsets >= 7 * 3_600 * 10**9)]  # nothing at 05:00-06:59
    stamps = pd.Series(start + pd.to_timedelta(offsets)).astype(object)
    stamps.iloc[::50] = None
    metrics = by_key(compute_operations(pd.DataFrame({"timestamp": stamps, "score": 0.5}), make_monitor()))
    expected = collections.Counter(t.hour for t in stamps if t is not None)
    hourly = {segment: m.value for (name, segment), m in metrics.items() if name == "requests_per_hour"}
    assert hourly == {f"hour={h:02d}": float(expected.get(h, 0)) for h in range(24)}
    assert hourly["hour=05"] == hourly["hour=06"] == 0
    peak_hour, peak = expected.most_common(1)[0]
    assert metrics[("peak_requests_per_hour", "")].value == peak
    assert metrics[("peak_requests_per_hour", "")].detail == f"{peak_hour:02d}:00 to {peak_hour:02d}:59 UTC"
    left_out = stamps.isna().sum()
    assert metrics[("requests_per_hour", "hour=00")].detail == f"{left_out} rows without a timestamp left out"


def test_text_timestamps_count_in_their_utc_hour():
    frame = pd.DataFrame({"timestamp": ["2026-10-01T23:30:00-02:00", "2026-10-02T01:10:00Z", "2026-10-02T03:00:00"],
                          "score": 0.5})
    metrics = by_key(compute_operations(frame, make_monitor()))
    assert metrics[("requests_per_hour", "hour=01")].value == 2  # 23:30 at -02:00 is 01:30 UTC
    assert metrics[("requests_per_hour", "hour=03")].value == 1  # no offset: read as UTC
    absent = by_key(compute_operations(frame.drop(columns="timestamp"), make_monitor()))
    assert absent[("peak_requests_per_hour", "")].status is Status.MISSING
    assert not any(name == "requests_per_hour" for name, _ in absent)


def test_error_rate_by_status_by_hand():
    metrics = by_key(compute_operations(_frame(), make_monitor()))
    by_status = {segment: m.value for (name, segment), m in metrics.items() if name == "error_rate" and segment}
    assert by_status == pytest.approx({"status=error": 1 / 6, "status=timeout": 1 / 6, "status=(missing)": 1 / 6})
    assert sum(by_status.values()) == pytest.approx(metrics[("error_rate", "")].value)
    bounded = make_monitor(operations={"thresholds": {"error_rate": {"max": 0.01}}})
    judged = [m for m in compute_operations(_frame(), bounded) if m.metric == "error_rate"]
    assert [m.status for m in judged if not m.segment] == [Status.WARN]
    assert {m.status for m in judged if m.segment} == {Status.INFO}  # the overall rate is the one judged


def test_confidence_percentiles_equal_numpy_for_binary_and_raw_score_for_regression():
    rng = np.random.default_rng(5)
    scores = rng.uniform(0, 1, 2000)
    scores[::7] = np.nan
    frame = pd.DataFrame({"score": scores, "prediction": 1.0})
    metrics = by_key(compute_operations(frame, make_monitor()))
    present = scores[~np.isnan(scores)]
    confidence = np.where(present >= 0.5, present, 1 - present)
    for q in (5, 25, 50, 75, 95):
        assert metrics[(f"confidence_p{q:02d}", "")].value == pytest.approx(np.percentile(confidence, q), rel=1e-12)
    regression = by_key(compute_operations(pd.DataFrame({"confidence": [0.2, 0.4, 0.9, np.nan], "prediction": 3.0}),
                                           make_monitor("regression", score="confidence")))
    assert regression[("mean_confidence", "")].value == pytest.approx(0.5)
    assert regression[("confidence_p50", "")].value == pytest.approx(0.4)
    assert regression[("confidence_p95", "")].value == pytest.approx(0.4 + 0.9 * (0.9 - 0.4))  # rank 1.9 of 0..2


# --- tokens, cost and the budget ------------------------------------------------------------------------------

def llm_monitor(**operations) -> MonitorConfig:
    return make_monitor("regression", operations=operations or None, prompt_tokens="prompt_tokens",
                        completion_tokens="completion_tokens",
                        **({} if "pricing" in operations else {"cost_usd": "cost_usd"}))


def _llm_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "prediction": [0.8, 0.7, np.nan, 0.9],
        "prompt_tokens": [1000, 2000, 400, np.nan],
        "completion_tokens": [500, 0, 0, 300],
        "cost_usd": [1.25, 1.0, np.nan, 0.25],
        "status": ["ok", "timeout", "rate_limited", "ok"],
    })


def test_token_totals_and_means_by_hand():
    metrics = by_key(compute_operations(_llm_frame(), llm_monitor()))
    assert metrics[("prompt_tokens", "")].value == 3400  # the row without a count is left out
    assert metrics[("prompt_tokens_per_request", "")].value == pytest.approx(3400 / 3)
    assert "1 rows without a token count left out" in metrics[("prompt_tokens", "")].detail
    assert metrics[("completion_tokens", "")].value == 800
    assert metrics[("completion_tokens_per_request", "")].value == pytest.approx(200)
    assert metrics[("completion_tokens", "")].detail == ""


def test_logged_cost_by_hand():
    metrics = by_key(compute_operations(_llm_frame(), llm_monitor()))
    assert metrics[("daily_cost_usd", "")].value == pytest.approx(2.5)
    assert metrics[("cost_per_request_usd", "")].value == pytest.approx(2.5 / 3)
    assert "logged in column cost_usd" in metrics[("daily_cost_usd", "")].detail
    assert "1 rows without a cost left out" in metrics[("daily_cost_usd", "")].detail
    assert metrics[("daily_cost_usd", "")].status is Status.INFO  # no budget


def test_priced_cost_by_hand():
    monitor = llm_monitor(pricing={"usd_per_1k_prompt_tokens": 0.5, "usd_per_1k_completion_tokens": 1.5})
    metrics = by_key(compute_operations(_llm_frame(), monitor))
    # 1000 * 0.5/1k + 500 * 1.5/1k = 1.25; 2000 * 0.5/1k = 1.0; 400 * 0.5/1k = 0.2; the last row has no prompt count
    assert metrics[("daily_cost_usd", "")].value == pytest.approx(2.45)
    assert metrics[("cost_per_request_usd", "")].value == pytest.approx(2.45 / 3)
    assert "priced at 0.5 USD per 1k prompt and 1.5 USD per 1k completion tokens" in \
        metrics[("daily_cost_usd", "")].detail


def test_monitors_without_token_or_cost_columns_get_no_llm_figures():
    names = {m.metric for m in compute_operations(_llm_frame(), make_monitor("regression"))}
    assert not names & {"prompt_tokens", "completion_tokens", "daily_cost_usd", "cost_per_request_usd"}
    absent = by_key(compute_operations(_llm_frame().drop(columns=["cost_usd", "prompt_tokens"]), llm_monitor()))
    for name in ("daily_cost_usd", "cost_per_request_usd", "prompt_tokens", "prompt_tokens_per_request"):
        assert absent[(name, "")].status is Status.MISSING and "is not in the data" in absent[(name, "")].detail


@pytest.mark.parametrize("severity, status", [("ERROR", Status.FAIL), ("WARN", Status.WARN)])
def test_cost_over_budget_fails_the_budget_check_saying_by_how_much(severity, status):
    monitor = llm_monitor(budget={"daily_usd": 2.0, "per_request_usd": 1.0, "severity": severity})
    metrics = compute_operations(_llm_frame(), monitor)
    daily = by_key(metrics)[("daily_cost_usd", "")]
    assert daily.status is status and daily.threshold == 2.0
    assert by_key(metrics)[("cost_per_request_usd", "")].status is Status.OK  # 0.833 <= 1.0
    check = cost_budget_check(metrics, monitor.operations.budget)
    assert not check.passed and check.severity == severity
    # 2.50 spent against 2.00: 0.50 (25%) over
    assert "daily cost 2.50 USD is 0.5 USD (25%) over the budget of 2.00 USD" in check.description
    assert "per request" not in check.description
    assert check.metadata["over_by_usd"] == {"daily_cost_usd": pytest.approx(0.5)}
    assert check.examples == ("daily_cost_usd",)


def test_cost_within_budget_passes_and_missing_cost_is_not_judged():
    monitor = llm_monitor(budget={"per_request_usd": 1.0})
    metrics = compute_operations(_llm_frame(), monitor)
    check = cost_budget_check(metrics, monitor.operations.budget)
    assert check.passed and check.severity == "WARN"
    assert check.description == "Within budget: cost per request 0.833 USD, 83% of the budget of 1.00 USD."
    assert by_key(metrics)[("daily_cost_usd", "")].status is Status.INFO  # no daily ceiling configured
    without_cost = compute_operations(_llm_frame().drop(columns="cost_usd"), monitor)
    unjudged = cost_budget_check(without_cost, monitor.operations.budget)
    assert unjudged.passed and unjudged.description == "Not judged: cost column 'cost_usd' is not in the data."


def test_a_day_without_rows_costs_nothing_and_has_no_cost_per_request():
    monitor = llm_monitor(budget={"daily_usd": 1.0, "per_request_usd": 0.1})
    metrics = by_key(compute_operations(_llm_frame().iloc[0:0], monitor))
    assert metrics[("daily_cost_usd", "")].value == 0 and metrics[("daily_cost_usd", "")].status is Status.OK
    assert metrics[("cost_per_request_usd", "")].status is Status.MISSING


LLM_YAML = textwrap.dedent("""\
    name: assistant
    task: regression
    start_date: 2026-10-01
    inference: {{uri: "file://data/{{date}}/"}}
    columns:
      prediction: quality
      numeric_features: [prompt_tokens]
    {columns}
    operations:
    {operations}
""")
TOKENS = "  prompt_tokens: prompt_tokens\n  completion_tokens: completion_tokens"
COST = "  cost_usd: cost_usd"
PRICING = "  pricing: {usd_per_1k_prompt_tokens: 1, usd_per_1k_completion_tokens: 2}"
BUDGET = "  budget: {daily_usd: 10}"


def llm_yaml(tmp_path, columns: list[str], operations: list[str]):
    path = tmp_path / "assistant.yaml"
    text = LLM_YAML.format(columns="\n".join(columns), operations="\n".join(operations))
    path.write_text(text)
    return path


@pytest.mark.parametrize(("columns", "operations", "field", "words"), [
    ([TOKENS, COST], [PRICING], "operations.pricing", "columns.cost_usd already gives the cost"),
    ([TOKENS], [BUDGET], "operations.budget", "no cost to judge"),
    (["  prompt_tokens: prompt_tokens"], [PRICING], "operations.pricing",
     "declare columns.completion_tokens so the tokens can be priced"),
    ([COST], ["  budget: {severity: ERROR}"], "operations.budget", "give 'daily_usd'"),
    ([COST], ["  budget: {daily_usd: 0}"], "operations.budget.daily_usd", "greater than 0"),
    ([COST], ["  thresholds: {daily_cost_usd: {max: 3}}"], "operations.thresholds",
     "cost is judged by operations.budget"),
    ([TOKENS], ["  pricing: {usd_per_1k_prompt_tokens: 1}"], "operations.pricing.usd_per_1k_completion_tokens",
     "required field is missing"),
])
def test_llm_config_mistakes_name_file_and_field(tmp_path, columns, operations, field, words):
    path = llm_yaml(tmp_path, columns, operations)
    with pytest.raises(ConfigError) as caught:
        load_monitor(path)
    message = str(caught.value)
    assert str(path) in message and field in message and words in message


@pytest.mark.parametrize(("columns", "operations"), [([TOKENS, COST], [BUDGET]), ([TOKENS], [PRICING, BUDGET]),
                                                     ([COST], [BUDGET])])
def test_llm_config_loads_with_logged_cost_or_with_pricing(tmp_path, columns, operations):
    monitor = load_monitor(llm_yaml(tmp_path, columns, operations))
    assert monitor.tracks_cost and monitor.operations.budget.daily_usd == 10
    assert monitor.operations.budget.severity is Severity.WARN
    assert not build_monitor().tracks_cost
