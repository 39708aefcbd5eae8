"""Validation checks against independent pandas counts on clean and deliberately broken days."""

from __future__ import annotations

import datetime
import gc
import json
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from monitoring_jobs.config import VALIDATION_CHECKS, MonitorConfig, Severity
from monitoring_jobs.metrics import Status
from monitoring_jobs.validation import (
    CHECK_NAMES,
    ProfiledSuite,
    ValidationContext,
    check_severities,
    dtype_kind,
    outcomes_to_metrics,
    validate_day,
)
from monitoring_jobs.validation.display import display_safe
from monitoring_jobs.validation.profile import BETWEEN, COLUMNS_MATCH, IN_SET, NOT_NULL, Expectation

REGIONS = ["north", "south", "east", "west"]
EMPLOYMENT = ["salaried", "self_employed", "unemployed", "retired"]
HOSTILE = ["<script>alert(1)</script>", "O'Brien; DROP TABLE x"]


def make_monitor(task: str = "binary_classification", **validation) -> MonitorConfig:
    return MonitorConfig.model_validate({
        "name": "credit_default",
        "task": task,
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
    # Schema, nulls and volume block by default (config.ValidationConfig.severity_of); the rest warn.
    assert {n: o.severity for n, o in outcomes.items()} == {
        "schema": "ERROR", "schema_drift": "WARN", "nulls": "ERROR", "ranges": "WARN", "categories": "WARN",
        "unique_request_ids": "WARN", "volume": "ERROR", "volume_trend": "WARN", "freshness": "WARN",
        "prediction_range": "WARN", "model_versions": "WARN"}
    assert all(o.examples == () for o in outcomes.values())
    assert all(o.metadata.get("failing_share", 0.0) == 0.0 for o in outcomes.values())
    assert all("report" not in o.metadata for o in outcomes.values())


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
    assert f"e.g. '{HOSTILE[0]}', '{HOSTILE[1]}'" in categories.description
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


# --- context, new checks and severities -----------------------------------------------------------

DAY = datetime.date(2026, 10, 1)  # make_day stamps its rows from 00:00 UTC on this day, one a minute


def suite_of(*expectations: Expectation) -> ProfiledSuite:
    return ProfiledSuite(name="credit_default", expectations=expectations, source="test")


def rule(type_: str, kwargs: dict, check: str, severity: str = "WARN", **meta) -> Expectation:
    return Expectation(type_, kwargs, check, Severity(severity), {"source": "profile", **meta})


def kinds_of(frame: pd.DataFrame) -> dict[str, str]:
    return {c: dtype_kind(frame[c].dtype) for c in frame.columns}


def test_check_names_are_the_config_checks_in_order():
    assert CHECK_NAMES == VALIDATION_CHECKS
    assert [o.name for o in validate_day(make_day(rows=3), make_monitor(), ValidationContext())] == list(CHECK_NAMES)


@pytest.mark.parametrize(("dtype", "kind"), [
    ("int64", "numeric"), ("Int64", "numeric"), ("float64", "numeric"), ("double[pyarrow]", "numeric"),
    ("bool", "boolean"), ("boolean", "boolean"), ("object", "string"), ("string", "string"), ("str", "string"),
    ("datetime64[ns]", "datetime"), ("datetime64[us, UTC]", "datetime"), ("timedelta64[ns]", "other"),
])
def test_dtype_kind(dtype, kind):
    assert dtype_kind(pd.Series([], dtype=dtype).dtype) == kind
    assert dtype_kind(pd.CategoricalDtype(["a", "b"])) == "string"


def test_schema_drift_without_a_reference_passes():
    drift = by_name(validate_day(make_day(), make_monitor()))["schema_drift"]
    assert drift.passed and drift.description == "no reference schema yet"


def test_schema_drift_reports_new_missing_and_retyped_columns():
    reference = make_day().assign(channel="web")
    day = make_day().assign(debug_blob="x", region=lambda d: np.arange(len(d)))
    day["income"] = day["income"].astype(object)  # ints/floats in an object column: string kind
    day.loc[0, "income"] = "n/a"
    day["debt_ratio"] = np.nan  # all null: says nothing about its type
    drift = by_name(validate_day(day, make_monitor(), ValidationContext(reference_schema=kinds_of(reference))))[
        "schema_drift"]
    assert not drift.passed and drift.severity == "WARN"
    assert drift.metadata["new_columns"] == sorted(set(day.columns) - set(reference.columns)) == ["debug_blob"]
    assert drift.metadata["missing_columns"] == ["channel"]
    # income is a declared numeric column, so "not numeric" is schema's to report, not a retype here.
    assert drift.metadata["retyped_columns"] == {"region": {"reference": "string", "day": "numeric"}}
    assert drift.metadata["left_to_schema"] == ["income"]
    assert "'debug_blob'" in drift.description and "'channel'" in drift.description
    assert "'region' string -> numeric" in drift.description


def test_schema_drift_ignores_int_to_float_and_uses_the_suite_kinds_when_no_reference_is_given():
    reference = make_day()
    day = make_day().assign(prediction=lambda d: d["prediction"].astype(float))
    day.loc[0, "prediction"] = np.nan
    suite = suite_of(rule(COLUMNS_MATCH, {"column_set": sorted(reference.columns), "exact_match": True},
                          "schema_drift", "ERROR", column_kinds=kinds_of(reference)))
    assert by_name(validate_day(day, make_monitor(), ValidationContext(suite=suite)))["schema_drift"].passed
    drift = by_name(validate_day(day.drop(columns=["latency_ms"]).assign(extra=1), make_monitor(),
                                 ValidationContext(suite=suite)))["schema_drift"]
    # latency_ms is declared, so its absence is schema's; "extra" is new; the suite's severity applies.
    assert not drift.passed and drift.severity == "ERROR" and drift.metadata["new_columns"] == ["extra"]
    # An explicit reference schema wins over the suite's kinds (and takes the config's severity).
    drift = by_name(validate_day(day.assign(extra=1), make_monitor(),
                                 ValidationContext(suite=suite, reference_schema=kinds_of(day.assign(extra=1)))))
    assert drift["schema_drift"].passed and drift["schema_drift"].severity == "WARN"


@pytest.mark.parametrize(("trailing", "rows", "passes"), [
    ((1000, 1000), 10, True),  # only two earlier days: not enough history
    ((900, 1100, 1000), 700, True),
    ((900, 1100, 1000), 400, False),
    ((900, 1100, 1000), 2500, False),
    ((10_000, 10_000, 10_000, 200, 210, 190), 200, True),  # only the last window_days=3 count
])
def test_volume_trend(trailing, rows, passes):
    trend = by_name(validate_day(make_day(rows=rows), make_monitor(volume_trend={"window_days": 3}),
                                 ValidationContext(trailing_row_counts=trailing)))["volume_trend"]
    assert trend.passed is passes
    if len(trailing) < 3:
        assert trend.description.startswith("not enough history")
        return
    mean = float(np.mean(trailing[-3:]))
    assert trend.metadata["ratio"] == pytest.approx(rows / mean)
    assert figure(trend, "")["value"] == pytest.approx(rows / mean)
    if not passes:
        assert ("fewer" if rows < mean else "more") in trend.description


def test_volume_trend_without_upper_bound():
    trend = by_name(validate_day(make_day(rows=500), make_monitor(volume_trend={"max_ratio": None}),
                                 ValidationContext(trailing_row_counts=(10, 10, 10))))["volume_trend"]
    assert trend.passed


def stamped(day: pd.DataFrame, timestamps: list[str]) -> pd.DataFrame:
    """The day with its first rows re-stamped (ISO strings with offsets, converted to UTC as the ingest does)."""
    day = day.copy()
    day.loc[: len(timestamps) - 1, "timestamp"] = pd.to_datetime(timestamps, utc=True, format="ISO8601")
    return day


def test_freshness_counts_late_and_future_rows_separately():
    day = stamped(make_day(rows=100), ["2026-09-30T23:59:59Z", "2026-09-29T10:00:00Z", "2026-10-02T00:00:00Z"])
    day.loc[3, "timestamp"] = pd.NaT  # nulls are the nulls check's business
    start = pd.Timestamp("2026-10-01", tz="UTC")
    late = int((day["timestamp"] < start).sum())
    future = int((day["timestamp"] >= start + pd.Timedelta(days=1)).sum())
    fresh = by_name(validate_day(day, make_monitor(), ValidationContext(day=DAY)))["freshness"]
    assert (late, future) == (2, 1)
    assert not fresh.passed and fresh.severity == "WARN"
    assert (fresh.metadata["late_rows"], fresh.metadata["future_rows"]) == (late, future)
    assert fresh.metadata["failing_share"] == pytest.approx((late + future) / len(day))
    assert "2 before it, 1 after it" in fresh.description
    assert set(fresh.examples) == {"2026-09-30T23:59:59+00:00", "2026-09-29T10:00:00+00:00",
                                   "2026-10-02T00:00:00+00:00"}
    relaxed = make_monitor(max_out_of_day_fraction=0.03, severities={"freshness": "ERROR"})
    fresh = by_name(validate_day(day, relaxed, ValidationContext(day=DAY)))["freshness"]
    assert fresh.passed and fresh.severity == "ERROR" and fresh.metadata["failing_share"] == 0.0


def test_freshness_judges_other_timezones_in_utc():
    # 01:30 at +02:00 on Oct 2 is 23:30 UTC on Oct 1: inside Oct 1. 01:00 at +02:00 on Oct 1 is Sep 30 UTC: late.
    timestamps = ["2026-10-02T01:30:00+02:00", "2026-10-01T01:00:00+02:00"]
    day = make_day(rows=50)
    local = pd.to_datetime(timestamps, format="ISO8601")
    day["timestamp"] = pd.Series(day["timestamp"].dt.tz_convert("Etc/GMT-2"))  # all rows at +02:00
    day.loc[:1, "timestamp"] = local
    assert str(day["timestamp"].dt.tz) == "Etc/GMT-2"
    fresh = by_name(validate_day(day, make_monitor(), ValidationContext(day=DAY)))["freshness"]
    assert (fresh.metadata["late_rows"], fresh.metadata["future_rows"]) == (1, 0)
    assert fresh.examples == ("2026-09-30T23:00:00+00:00",)


def test_freshness_fails_on_timestamps_without_timezone():
    fresh = by_name(validate_day(make_day(), make_monitor(),
                                 ValidationContext(day=DAY, naive_timestamp_rows=7)))["freshness"]
    assert not fresh.passed
    assert "7 timestamp(s) had no timezone and were read as UTC" in fresh.description
    assert "offset or Z" in fresh.description
    assert fresh.metadata["failing_share"] == pytest.approx(7 / 200)
    # A frame nobody converted is counted the same way (read as UTC).
    day = make_day().assign(timestamp=lambda d: d["timestamp"].dt.tz_localize(None))
    fresh = by_name(validate_day(day, make_monitor(), ValidationContext(day=DAY)))["freshness"]
    assert not fresh.passed and fresh.metadata["naive_timestamp_rows"] == len(day)
    assert fresh.metadata["late_rows"] == 0 and fresh.metadata["future_rows"] == 0


def test_freshness_without_a_day_or_with_text_timestamps():
    assert by_name(validate_day(make_day(), make_monitor()))["freshness"].passed
    day = make_day().assign(timestamp=lambda d: d["timestamp"].astype(str))
    fresh = by_name(validate_day(day, make_monitor(), ValidationContext(day=DAY)))["freshness"]
    assert not fresh.passed and "not datetimes" in fresh.description


def test_binary_outputs_must_be_probabilities_and_classes():
    day = make_day()
    day.loc[0, "score"] = 1.2
    day.loc[1, "score"] = -0.1
    day.loc[2, "score"] = np.inf
    day.loc[3:9, "score"] = np.nan  # failed requests have no output: not a range failure
    day["prediction"] = day["prediction"].astype(float)
    day.loc[3:9, "prediction"] = np.nan
    day.loc[10, "prediction"] = 2.0
    outputs = by_name(validate_day(day, make_monitor(ranges={})))["prediction_range"]
    scores = day["score"].dropna()
    bad_scores = int((~(np.isfinite(scores) & scores.between(0, 1))).sum())
    bad_predictions = int((~day["prediction"].dropna().isin([0, 1])).sum())
    assert not outputs.passed
    assert outputs.metadata["unexpected_count"] == {"score": bad_scores, "prediction": bad_predictions}
    assert outputs.metadata["failing_share"] == pytest.approx(max(bad_scores, bad_predictions) / len(day))
    assert set(outputs.examples) == {"1.2", "-0.1", "inf", "2.0"}


def test_regression_outputs_must_be_finite_or_in_the_configured_range():
    day = make_day().assign(prediction=lambda d: d["income"])
    day.loc[0, "prediction"] = -np.inf
    day.loc[1, "prediction"] = np.nan
    outputs = by_name(validate_day(day, make_monitor("regression")))["prediction_range"]
    assert not outputs.passed and outputs.metadata["unexpected_count"] == {"prediction": 1}
    assert "infinite" in outputs.description
    day.loc[0, "prediction"] = 5.0
    assert by_name(validate_day(day, make_monitor("regression")))["prediction_range"].passed
    ranged = make_monitor("regression", prediction_range={"min": 10})
    outputs = by_name(validate_day(day, ranged))["prediction_range"]
    assert outputs.metadata["unexpected_count"] == {"prediction": int((day["prediction"].dropna() < 10).sum())}


def test_multiclass_outputs_are_skipped_unless_a_range_is_configured():
    day = make_day()
    day.loc[0, "score"] = 7.0
    outputs = by_name(validate_day(day, make_monitor("multiclass_classification", ranges={})))["prediction_range"]
    assert outputs.passed and "multiclass" in outputs.description
    ranged = make_monitor("multiclass_classification", ranges={}, prediction_range={"min": 0, "max": 1})
    outputs = by_name(validate_day(day, ranged))["prediction_range"]
    assert not outputs.passed and outputs.metadata["unexpected_count"] == {"score": 1}


def test_model_versions_against_the_config_list():
    day = make_day()
    day.loc[:29, "model_version"] = "v2"
    day.loc[30:31, "model_version"] = "v3\n<b>"
    versions = by_name(validate_day(day, make_monitor(model_versions=["v1", "v2"])))["model_versions"]
    unknown = int((~day["model_version"].isin(["v1", "v2"])).sum())
    assert not versions.passed and versions.metadata["unexpected_count"] == {"model_version": unknown}
    expected_counts = {display_safe(v): int(n) for v, n in day["model_version"].value_counts().items()}
    assert versions.metadata["versions"] == expected_counts
    assert versions.examples == ("v3\\n<b>",)
    assert "\n" not in versions.description and "v3\\n<b>" in versions.description


def test_model_versions_fall_back_to_the_profiled_versions_and_pass_listing_them():
    day = make_day()
    day.loc[:9, "model_version"] = "v2"
    suite = suite_of(rule(IN_SET, {"column": "model_version", "value_set": ["v1"]}, "model_versions"))
    versions = by_name(validate_day(day, make_monitor(), ValidationContext(suite=suite)))["model_versions"]
    assert not versions.passed and versions.metadata["unexpected_count"] == {"model_version": 10}
    assert versions.metadata["failing_rules"] == [{"column": "model_version", "source": "profile", "severity": "WARN"}]
    # The config's list wins over the suite's.
    versions = by_name(validate_day(day, make_monitor(model_versions=["v1", "v2"]),
                                    ValidationContext(suite=suite)))["model_versions"]
    assert versions.passed and "v1 (190 rows)" in versions.description and "v2 (10 rows)" in versions.description
    # No list anywhere: passes, listing what it saw.
    versions = by_name(validate_day(day, make_monitor()))["model_versions"]
    assert versions.passed and "versions seen: v1 (190 rows), v2 (10 rows)" in versions.description


def test_model_versions_are_compared_as_strings():
    day = make_day().assign(model_version=3)
    assert by_name(validate_day(day, make_monitor(model_versions=["3"])))["model_versions"].passed


def test_report_link_goes_into_every_outcome():
    url = "reports/credit_default/2026-10-01.html#data-quality"
    outcomes = validate_day(make_day(), make_monitor(), ValidationContext(report_url=url))
    assert all(o.metadata["report"] == url for o in outcomes)


def test_examples_are_escaped_cut_and_few():
    hostile = ["line\nbreak", "bell\x07\x1b[31mred", "rtl\u202eevil", "<script>alert(1)</script>", "x" * 500,
               "back\\slash", "tab\there"]
    day = make_day()
    day.loc[: len(hostile) - 1, "region"] = hostile
    categories = by_name(validate_day(day, make_monitor()))["categories"]
    assert len(categories.examples) == 5
    for example in categories.examples:
        assert len(example) <= 80
        assert all(ch.isprintable() for ch in example), example
    assert categories.examples[:4] == ("line\\nbreak", "bell\\x07\\x1b[31mred", "rtl\\u202eevil",
                                       "<script>alert(1)</script>")
    assert categories.examples[4] == "x" * 79 + "…"
    assert display_safe("back\\slash") == "back\\\\slash" and display_safe("tab\there") == "tab\\there"
    assert "\n" not in categories.description and "line\\nbreak" in categories.description
    json.dumps(categories.metadata, allow_nan=False)


def test_suite_rules_add_to_the_config_and_the_config_wins():
    day = make_day()
    day.loc[:3, "income"] = -1.0
    suite = suite_of(
        rule(BETWEEN, {"column": "income", "min_value": 0.0, "max_value": 1e9}, "ranges", "ERROR"),
        rule(BETWEEN, {"column": "age", "min_value": 50.0, "max_value": 60.0}, "ranges", "ERROR"),  # config wins
        rule(NOT_NULL, {"column": "score", "mostly": 0.99}, "nulls"),
    )
    ranges = by_name(validate_day(day, make_monitor(), ValidationContext(suite=suite)))["ranges"]
    assert not ranges.passed and ranges.severity == "ERROR"
    assert ranges.metadata["failing_columns"] == ["income"]
    assert ranges.metadata["unexpected_count"] == {"income": int((day["income"] < 0).sum())}
    assert "(ERROR, suite rule)" in ranges.description
    # Only the config's WARN rule failing: the check is WARN even though the suite has ERROR rules.
    day = make_day()
    day.loc[0, "age"] = 500.0
    ranges = by_name(validate_day(day, make_monitor(), ValidationContext(suite=suite)))["ranges"]
    assert not ranges.passed and ranges.severity == "WARN" and ranges.metadata["failing_columns"] == ["age"]
    # Both failing: ERROR, and each figure keeps its own rule's severity in the metric store.
    day.loc[1, "income"] = -5.0
    outcomes = validate_day(day, make_monitor(), ValidationContext(suite=suite))
    assert by_name(outcomes)["ranges"].severity == "ERROR"
    figures = {(m.metric, m.feature): m.status for m in outcomes_to_metrics(outcomes)}
    assert figures[("out_of_range_fraction", "age")] is Status.WARN
    assert figures[("out_of_range_fraction", "income")] is Status.FAIL


def test_profiled_null_ceiling_applies_to_columns_the_config_does_not_cover():
    day = make_day()
    day.loc[:9, "score"] = np.nan  # score is not a feature: no config null rule
    day.loc[:9, "age"] = np.nan  # a feature: the config's 5% wins over the suite's 1%
    suite = suite_of(rule(NOT_NULL, {"column": "score", "mostly": 0.99}, "nulls"),
                     rule(NOT_NULL, {"column": "age", "mostly": 0.99}, "nulls", "ERROR"))
    nulls = by_name(validate_day(day, make_monitor(), ValidationContext(suite=suite)))["nulls"]
    assert nulls.metadata["failing_columns"] == ["score"] and nulls.severity == "WARN"
    assert figure(nulls, "score")["value"] == pytest.approx(day["score"].isna().mean())
    assert figure(nulls, "score")["threshold"] == pytest.approx(0.01)
    assert figure(nulls, "age")["threshold"] == 0.05 and figure(nulls, "age")["passed"]


def test_check_severities():
    monitor = make_monitor(severities={"ranges": "ERROR", "freshness": "ERROR"})
    assert check_severities(monitor, None) == {name: monitor.validation.severity_of(name) for name in CHECK_NAMES}
    suite = suite_of(
        rule(BETWEEN, {"column": "income", "min_value": 0.0}, "ranges"),
        rule(IN_SET, {"column": "region", "value_set": REGIONS}, "categories", "ERROR"),  # config covers region
        rule(IN_SET, {"column": "status", "value_set": ["ok"]}, "categories", "ERROR"),
        rule(COLUMNS_MATCH, {"column_set": ["a"], "exact_match": True}, "schema_drift", "ERROR",
             column_kinds={"a": "numeric"}),
    )
    severities = check_severities(make_monitor(), suite)
    assert severities["categories"] is Severity.ERROR  # status is not covered by the config
    assert severities["schema_drift"] is Severity.ERROR
    assert severities["ranges"] is Severity.WARN
    without_status = suite_of(*(e for e in suite.expectations if e.column != "status"))
    assert check_severities(make_monitor(), without_status)["categories"] is Severity.WARN


def test_passed_checks_report_their_highest_possible_severity():
    suite = suite_of(rule(IN_SET, {"column": "status", "value_set": ["ok"]}, "categories", "ERROR"))
    outcomes = by_name(validate_day(make_day(), make_monitor(), ValidationContext(suite=suite)))
    assert outcomes["categories"].passed and outcomes["categories"].severity == "ERROR"


@pytest.mark.parametrize(("field", "value", "error"), [
    ("day", datetime.datetime(2026, 10, 1), TypeError),
    ("trailing_row_counts", (10, -1), ValueError),
    ("trailing_row_counts", (10.5,), ValueError),
    ("naive_timestamp_rows", -3, ValueError),
    ("reference_schema", {"a": "float64"}, ValueError),
    ("suite", {"name": "x"}, TypeError),
])
def test_context_rejects_bad_values(field, value, error):
    with pytest.raises(error, match=field):
        ValidationContext(**{field: value})
