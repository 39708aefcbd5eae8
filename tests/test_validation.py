"""Validation checks against independent pandas counts on clean and deliberately broken days."""

from __future__ import annotations

import gc
import json
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from monitoring_jobs.config import MonitorConfig
from monitoring_jobs.metrics import Status
from monitoring_jobs.validation import CHECK_NAMES, outcomes_to_metrics, validate_day

REGIONS = ["north", "south", "east", "west"]
EMPLOYMENT = ["salaried", "self_employed", "unemployed", "retired"]
HOSTILE = ["<script>alert(1)</script>", "O'Brien; DROP TABLE x"]


def make_monitor(**validation) -> MonitorConfig:
    return MonitorConfig.model_validate({
        "name": "credit_default",
        "task": "binary_classification",
        "start_date": "2026-10-01",
        "inference": {"uri": "file://data/credit_default/inference/dt={date}/part-0000.parquet"},
        "columns": {
            "model_version": "model_version", "score": "score", "prediction": "prediction",
            "latency_ms": "latency_ms", "status": "status",
            "numeric_features": ["age", "income", "debt_ratio"],
            "categorical_features": ["region", "employment_type"],
            "segments": ["region"],
        },
        "validation": {
            "ranges": {"age": {"min": 18, "max": 100}, "score": {"min": 0, "max": 1}},
            "categories": {"region": REGIONS, "employment_type": EMPLOYMENT},
            **validation,
        },
    })


def make_day(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "request_id": [f"req-{seed}-{i}" for i in range(rows)],
        "timestamp": pd.date_range("2026-10-01", periods=rows, freq="min", tz="UTC"),
        "model_version": "v1",
        "age": rng.uniform(18, 90, rows),
        "income": rng.lognormal(10, 1, rows),
        "debt_ratio": rng.uniform(0, 1, rows),
        "region": rng.choice(REGIONS, rows),
        "employment_type": rng.choice(EMPLOYMENT, rows),
        "score": rng.uniform(0, 1, rows),
        "prediction": rng.integers(0, 2, rows),
        "latency_ms": rng.uniform(5, 50, rows),
        "status": "ok",
    })


def by_name(outcomes) -> dict:
    assert [o.name for o in outcomes] == list(CHECK_NAMES)
    return {o.name: o for o in outcomes}


def figure(outcome, column: str) -> dict:
    (found,) = [f for f in outcome.metadata["figures"] if f["feature"] == column]
    return found


def test_clean_day_passes_every_check_with_default_severities():
    outcomes = by_name(validate_day(make_day(), make_monitor()))
    assert all(o.passed for o in outcomes.values()), [o.description for o in outcomes.values() if not o.passed]
    assert {n: o.severity for n, o in outcomes.items()} == {
        "schema": "ERROR", "nulls": "ERROR", "ranges": "WARN", "categories": "WARN",
        "unique_request_ids": "WARN", "volume": "ERROR"}
    assert all(o.examples == () for o in outcomes.values())


def test_null_fraction_above_allowed_fails_with_pandas_counts():
    day = make_day()
    day.loc[:29, "age"] = np.nan  # 15% > 5%
    day.loc[:5, "income"] = np.nan  # 3.5% <= 5%
    nulls = by_name(validate_day(day, make_monitor()))["nulls"]
    assert not nulls.passed
    assert nulls.metadata["failing_columns"] == ["age"]
    assert nulls.metadata["unexpected_count"] == {"age": int(day["age"].isna().sum())}
    assert nulls.metadata["null_fraction"]["age"] == pytest.approx(day["age"].isna().mean())
    assert figure(nulls, "income")["value"] == pytest.approx(day["income"].isna().mean())
    assert figure(nulls, "income")["passed"]
    assert "'age'" in nulls.description and "'income'" not in nulls.description


def test_null_fraction_override_relaxes_one_column():
    day = make_day()
    day.loc[:29, "age"] = np.nan
    nulls = by_name(validate_day(day, make_monitor(null_fraction_overrides={"age": 0.2})))["nulls"]
    assert nulls.passed
    assert figure(nulls, "age")["threshold"] == 0.2


@pytest.mark.parametrize(("nulls_in_10", "passes"), [(7, True), (8, False)])
def test_null_fraction_exactly_at_allowed_passes(nulls_in_10, passes):
    """GX's own mostly comparison fails 7/10 against 0.7 in floating point; the check must not."""
    day = make_day(rows=10)
    day.loc[: nulls_in_10 - 1, "debt_ratio"] = np.nan
    assert day["debt_ratio"].isna().mean() == nulls_in_10 / 10
    nulls = by_name(validate_day(day, make_monitor(null_fraction_overrides={"debt_ratio": 0.7})))["nulls"]
    assert nulls.passed is passes


def test_null_timestamp_and_request_id_are_checked():
    day = make_day()
    day["timestamp"] = day["timestamp"].astype(object)
    day.loc[:19, "timestamp"] = None
    day.loc[:19, "request_id"] = None
    nulls = by_name(validate_day(day, make_monitor()))["nulls"]
    assert nulls.metadata["failing_columns"] == ["request_id", "timestamp"]
    assert nulls.metadata["unexpected_count"]["timestamp"] == int(day["timestamp"].isna().sum())


def test_inf_counts_as_out_of_range_and_nan_is_left_to_the_nulls_check():
    day = make_day()
    day.loc[0, "age"] = np.nan
    day.loc[1, "age"] = np.inf
    day.loc[2, "age"] = -np.inf
    day.loc[3, "age"] = 150.0
    day.loc[4, "age"] = 17.0
    day.loc[5, "score"] = np.inf
    ranges = by_name(validate_day(day, make_monitor()))["ranges"]
    present = day["age"].dropna()
    expected_age = int((~(np.isfinite(present) & present.between(18, 100))).sum())
    assert expected_age == 4
    assert not ranges.passed
    assert ranges.metadata["unexpected_count"] == {"age": expected_age, "score": 1}
    assert figure(ranges, "age")["value"] == pytest.approx(expected_age / len(day))
    assert set(ranges.examples) == {"inf", "-inf", "150.0", "17.0"}
    nulls = by_name(validate_day(day, make_monitor()))["nulls"]
    assert figure(nulls, "age")["value"] == pytest.approx(1 / len(day))


def test_inf_on_the_open_side_of_a_range_is_still_out_of_range():
    day = make_day()
    day.loc[0, "income"] = np.inf
    day.loc[1, "income"] = -5.0
    day.loc[2, "debt_ratio"] = -np.inf
    monitor = make_monitor(ranges={"income": {"min": 0}, "debt_ratio": {"max": 1}})
    ranges = by_name(validate_day(day, monitor))["ranges"]
    assert ranges.metadata["unexpected_count"] == {"income": 2, "debt_ratio": 1}
    assert set(ranges.examples) == {"inf", "-5.0", "-inf"}


def test_nullable_integer_and_arrow_columns_are_ranged():
    day = make_day(rows=6)
    day["age"] = pd.array([20, None, 30, 200, 40, 50], dtype="Int64")
    day["score"] = pd.array([0.5, None, 0.2, 0.1, 1.5, 0.3], dtype="double[pyarrow]")
    outcomes = by_name(validate_day(day, make_monitor(null_fraction_overrides={"age": 0.5, "score": 0.5})))
    assert outcomes["schema"].passed
    # 200 and 1.5 are out of range; the nulls are the nulls check's business.
    assert outcomes["ranges"].metadata["unexpected_count"] == {"age": 1, "score": 1}


def test_unseen_categories_report_hostile_strings_verbatim():
    day = make_day()
    day.loc[3, "region"] = HOSTILE[0]
    day.loc[4, "region"] = HOSTILE[1]
    day.loc[5, "region"] = HOSTILE[0]
    day.loc[6, "region"] = None  # nulls are the nulls check's business, not an unseen category
    categories = by_name(validate_day(day, make_monitor()))["categories"]
    expected = int((~day["region"].isin(REGIONS) & day["region"].notna()).sum())
    assert not categories.passed
    assert categories.metadata["unexpected_count"] == {"region": expected}
    assert categories.examples == tuple(HOSTILE)
    assert categories.metadata["unexpected_percent"]["region"] == pytest.approx(100 * expected / len(day))


def test_duplicate_request_ids():
    day = make_day()
    day.loc[10, "request_id"] = day.loc[11, "request_id"]
    day.loc[20:22, "request_id"] = day.loc[23, "request_id"]
    unique = by_name(validate_day(day, make_monitor()))["unique_request_ids"]
    assert not unique.passed
    assert unique.metadata["unexpected_count"] == {"request_id": int(day["request_id"].duplicated(keep=False).sum())}
    assert set(unique.examples) == set(day.loc[day["request_id"].duplicated(), "request_id"])


def test_unique_request_ids_can_be_switched_off():
    day = make_day()
    day.loc[10, "request_id"] = day.loc[11, "request_id"]
    unique = by_name(validate_day(day, make_monitor(unique_request_ids=False)))["unique_request_ids"]
    assert unique.passed and unique.description == "no rules configured"


def test_checks_without_rules_pass():
    outcomes = by_name(validate_day(make_day(), make_monitor(ranges={}, categories={})))
    assert outcomes["ranges"].passed and outcomes["ranges"].description == "no rules configured"
    assert outcomes["categories"].passed and outcomes["categories"].description == "no rules configured"


def test_missing_column_fails_schema_only():
    day = make_day().drop(columns=["age", "region"])
    outcomes = by_name(validate_day(day, make_monitor()))
    assert not outcomes["schema"].passed
    assert outcomes["schema"].metadata["missing_columns"] == ["age", "region"]
    assert "'age'" in outcomes["schema"].description and "'region'" in outcomes["schema"].description
    for name in ("nulls", "ranges", "categories"):
        assert outcomes[name].passed, outcomes[name].description
        assert "missing" in outcomes[name].description
    assert "age" in outcomes["ranges"].metadata["skipped_columns"]


def test_numeric_feature_holding_strings_fails_schema_and_is_not_ranged():
    day = make_day()
    day["age"] = day["age"].round(1).astype(str)
    outcomes = by_name(validate_day(day, make_monitor()))
    schema = outcomes["schema"]
    assert not schema.passed
    assert schema.metadata["not_numeric_columns"] == {"age": str(day["age"].dtype)}
    assert f"'age' has dtype {day['age'].dtype}" in schema.description
    assert outcomes["ranges"].passed and "age" in outcomes["ranges"].metadata["skipped_columns"]


def test_boolean_feature_is_not_numeric():
    day = make_day()
    day["debt_ratio"] = day["debt_ratio"] > 0.5
    schema = by_name(validate_day(day, make_monitor()))["schema"]
    assert schema.metadata["not_numeric_columns"] == {"debt_ratio": "bool"}


def test_duplicated_column_name_is_reported_not_crashed_on():
    day = make_day()
    day = pd.concat([day, day[["age"]]], axis=1)
    outcomes = by_name(validate_day(day, make_monitor()))
    assert not outcomes["schema"].passed
    assert outcomes["schema"].metadata["duplicated_columns"] == ["age"]
    assert outcomes["ranges"].passed


def test_empty_day_fails_volume_only():
    outcomes = by_name(validate_day(make_day().iloc[:0], make_monitor()))
    assert [n for n, o in outcomes.items() if not o.passed] == ["volume"]
    assert outcomes["volume"].metadata["rows"] == 0
    for name in ("nulls", "ranges", "categories", "unique_request_ids"):
        assert outcomes[name].description == "no rows to check"
    metrics = outcomes_to_metrics(list(outcomes.values()))
    null_fractions = [m for m in metrics if m.metric == "null_fraction"]
    assert null_fractions and all(m.status is Status.MISSING and math.isnan(m.value) for m in null_fractions)


def test_frame_without_columns_does_not_crash():
    outcomes = by_name(validate_day(pd.DataFrame(), make_monitor()))
    assert [n for n, o in outcomes.items() if not o.passed] == ["schema", "volume"]
    assert outcomes["nulls"].description.startswith("no column could be checked")


def test_one_row_day():
    outcomes = by_name(validate_day(make_day(rows=1), make_monitor()))
    assert all(o.passed for o in outcomes.values())
    assert figure(outcomes["nulls"], "age")["value"] == 0.0


def test_volume_below_min_rows():
    day = make_day(rows=40)
    volume = by_name(validate_day(day, make_monitor(min_rows=50)))["volume"]
    assert not volume.passed
    assert volume.metadata["figures"] == [
        {"metric": "row_count", "feature": "", "value": 40.0, "threshold": 50.0, "passed": False, "detail": ""}]


def test_severities_come_from_config_and_set_metric_status():
    day = make_day()
    day.loc[0, "age"] = 500.0
    day.loc[:49, "income"] = np.nan
    monitor = make_monitor(severities={"ranges": "ERROR", "nulls": "WARN"})
    outcomes = by_name(validate_day(day, monitor))
    assert outcomes["ranges"].severity == "ERROR" and outcomes["nulls"].severity == "WARN"
    metrics = outcomes_to_metrics(list(outcomes.values()))
    passed = {m.segment: m for m in metrics if m.metric == "check_passed"}
    assert list(passed) == list(CHECK_NAMES)
    assert passed["ranges"].status is Status.FAIL and passed["ranges"].value == 0.0
    assert passed["nulls"].status is Status.WARN
    assert passed["volume"].status is Status.OK and passed["volume"].value == 1.0
    (income,) = [m for m in metrics if m.metric == "null_fraction" and m.feature == "income"]
    assert income.value == pytest.approx(day["income"].isna().mean())
    assert income.threshold == 0.05 and income.status is Status.WARN
    assert all(m.area == "validation" for m in metrics)


def test_metadata_is_plain_json():
    day = make_day()
    day.loc[0, "age"] = np.inf
    day.loc[1, "region"] = HOSTILE[0]
    day.loc[2, "request_id"] = day.loc[3, "request_id"]
    day.loc[:50, "income"] = np.nan
    for outcome in validate_day(day.drop(columns=["latency_ms"]), make_monitor()):
        json.dumps(outcome.metadata, allow_nan=False)
        assert all(isinstance(example, str) for example in outcome.examples)


def test_concurrent_calls_match_serial_results():
    days = [make_day(seed=seed) for seed in range(3)]
    for seed, day in enumerate(days):
        day.loc[: seed * 10, "age"] = np.nan
    monitor = make_monitor()
    serial = [validate_day(day, monitor) for day in days]
    with ThreadPoolExecutor(max_workers=3) as pool:
        parallel = list(pool.map(lambda day: validate_day(day, monitor), days))
    assert parallel == serial


def test_no_copy_of_the_day_outlives_validation():
    """GX's execution engine caches the last batch; no frame built from the day may stay in memory."""
    rows = 991  # a length no other test uses
    validate_day(make_day(rows=rows), make_monitor())
    gc.collect()
    assert not [obj for obj in gc.get_objects() if isinstance(obj, pd.DataFrame) and len(obj) == rows]


def test_rejects_non_frames():
    with pytest.raises(TypeError, match="DataFrame"):
        validate_day([{"request_id": "a"}], make_monitor())


def test_runner_reports_gx_errors_instead_of_raising():
    from monitoring_jobs.validation.gx_runner import Rule, run_rules

    (results,) = run_rules([(make_day(rows=3), [Rule("ExpectColumnValuesToNotBeNull", {"column": "absent"}),
                                                Rule("ExpectTableRowCountToBeBetween", {"min_value": 1})])])
    assert not results[0].success and "absent" in results[0].error
    assert results[1].success and results[1].error is None and results[1].result["observed_value"] == 3


def test_runner_refuses_duplicate_rules_gx_would_drop():
    from monitoring_jobs.validation.gx_runner import Rule, run_rules

    rule = Rule("ExpectTableRowCountToBeBetween", {"min_value": 1})
    with pytest.raises(ValueError, match="duplicate"):
        run_rules([(make_day(rows=3), [rule, rule])])
