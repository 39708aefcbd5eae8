"""Suites profiled from a reference: the rules, the GX suite JSON file, and validation against them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from monitoring_jobs.config import Severity
from monitoring_jobs.validation import (
    CHECK_NAMES,
    ProfiledSuite,
    ValidationContext,
    check_severities,
    load_suite,
    profile_reference,
    validate_day,
)
from monitoring_jobs.validation.profile import BETWEEN, COLUMNS_MATCH, IN_SET, NOT_NULL
from tests.test_validation import EMPLOYMENT, REGIONS, make_day, make_monitor

NUMERIC = ["age", "income", "debt_ratio", "latency_ms"]


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    frame = make_day(rows=5000, seed=42)
    frame.loc[frame.sample(frac=0.01, random_state=1).index, "score"] = np.nan  # failed requests
    frame.loc[:9, "employment_type"] = "student"  # rare, but seen in the reference
    return frame


@pytest.fixture(scope="module")
def suite(reference) -> ProfiledSuite:
    return profile_reference(reference, make_monitor(), source="file://reference.parquet")


def rules_of(suite: ProfiledSuite, check: str) -> dict:
    return {e.column: e for e in suite.expectations if e.check == check}


def by_name(outcomes) -> dict:
    return {o.name: o for o in outcomes}


def test_ranges_are_widened_reference_quantiles_that_hold_the_reference(reference, suite):
    ranges = rules_of(suite, "ranges")
    assert set(ranges) == set(NUMERIC)
    for column in NUMERIC:
        values = reference[column].dropna().to_numpy()
        low, high = np.quantile(values, [0.001, 0.999])
        margin = 0.1 * (high - low)
        kwargs = ranges[column].kwargs
        # Rounded outward to 4 significant digits of the width: never tighter, at most 0.1% of it looser.
        assert low - margin - 1e-3 * (high - low) <= kwargs["min_value"] <= low - margin
        assert high + margin <= kwargs["max_value"] <= high + margin + 1e-3 * (high - low)
        outside = ((values < kwargs["min_value"]) | (values > kwargs["max_value"])).mean()
        assert outside <= 0.002  # at most the mass beyond the two quantiles
        assert kwargs["mostly"] == 0.99 and ranges[column].severity is Severity.WARN
    for column in ("age", "debt_ratio", "latency_ms"):  # uniform: every reference value is inside
        values = reference[column].dropna()
        assert values.between(ranges[column].kwargs["min_value"], ranges[column].kwargs["max_value"]).all()


def test_categories_nulls_kinds_and_versions(reference, suite):
    categories = rules_of(suite, "categories")
    assert categories["region"].kwargs == {"column": "region", "value_set": sorted(REGIONS), "mostly": 0.99}
    assert categories["employment_type"].kwargs["value_set"] == sorted([*EMPLOYMENT, "student"])
    assert set(categories) == {"region", "employment_type", "status"}
    nulls = rules_of(suite, "nulls")
    assert nulls["score"].kwargs["mostly"] == pytest.approx(1 - (reference["score"].isna().mean() + 0.02))
    assert nulls["age"].kwargs["mostly"] == pytest.approx(0.98)
    assert suite.column_kinds == {"request_id": "string", "timestamp": "datetime", "model_version": "string",
                                  "age": "numeric", "income": "numeric", "debt_ratio": "numeric",
                                  "region": "string", "employment_type": "string", "score": "numeric",
                                  "prediction": "numeric", "latency_ms": "numeric", "status": "string"}
    assert suite.model_versions == ("v1",)
    assert {e.check for e in suite.expectations} <= set(CHECK_NAMES)
    assert all(e.severity is Severity.WARN and e.source == "profile" for e in suite.expectations)


def test_null_ceiling_is_capped_at_one():
    reference = make_day(rows=100)
    reference.loc[:98, "debt_ratio"] = np.nan
    nulls = rules_of(profile_reference(reference, make_monitor(), source="x"), "nulls")
    assert nulls["debt_ratio"].kwargs["mostly"] == 0.0
    # An all-null numeric column has no range to profile.
    reference["debt_ratio"] = np.nan
    assert "debt_ratio" not in rules_of(profile_reference(reference, make_monitor(), source="x"), "ranges")


def test_constant_column_gets_a_range_around_its_value():
    reference = make_day(rows=100).assign(debt_ratio=0.0, age=50.0)
    ranges = rules_of(profile_reference(reference, make_monitor(), source="x"), "ranges")
    assert (ranges["debt_ratio"].kwargs["min_value"], ranges["debt_ratio"].kwargs["max_value"]) == (-0.1, 0.1)
    assert (ranges["age"].kwargs["min_value"], ranges["age"].kwargs["max_value"]) == (45.0, 55.0)


def test_a_frame_drawn_from_the_reference_passes_the_profiled_suite(reference, suite):
    day = reference.sample(n=2000, replace=True, random_state=7).reset_index(drop=True)
    day["request_id"] = [f"draw-{i}" for i in range(len(day))]
    outcomes = validate_day(day, make_monitor(ranges={}, categories={}), ValidationContext(suite=suite))
    assert all(o.passed for o in outcomes), [(o.name, o.description) for o in outcomes if not o.passed]


def test_a_shifted_frame_fails_the_profiled_ranges(reference, suite):
    day = make_day(rows=2000, seed=3)
    day["income"] = day["income"] * 1000  # a unit change upstream
    day.loc[:99, "debt_ratio"] = day.loc[:99, "debt_ratio"] + 5  # 5% of rows, above the 1% allowed
    ranges = by_name(validate_day(day, make_monitor(ranges={}), ValidationContext(suite=suite)))["ranges"]
    profiled = rules_of(suite, "ranges")
    assert not ranges.passed and ranges.severity == "WARN"
    assert ranges.metadata["failing_columns"] == ["income", "debt_ratio"]
    for column in ("income", "debt_ratio"):
        low, high = profiled[column].kwargs["min_value"], profiled[column].kwargs["max_value"]
        assert ranges.metadata["unexpected_count"][column] == int((~day[column].between(low, high)).sum())
    assert ranges.metadata["failing_share"] == pytest.approx(
        (~day["income"].between(profiled["income"].kwargs["min_value"],
                                profiled["income"].kwargs["max_value"])).mean())


@pytest.mark.parametrize(("unseen_rows", "passes"), [(10, True), (50, False)])
def test_profiled_categories_allow_a_few_unseen_values(suite, unseen_rows, passes):
    day = make_day(rows=2000, seed=5)
    day.loc[: unseen_rows - 1, "region"] = "atlantis"
    categories = by_name(validate_day(day, make_monitor(categories={}), ValidationContext(suite=suite)))[
        "categories"]
    share = (~day["region"].isin(REGIONS)).mean()
    assert categories.passed is passes
    assert passes is bool(share <= 0.01)


def test_a_reviewer_can_make_a_profiled_rule_blocking(tmp_path, suite):
    document = json.loads(suite.to_json())
    for expectation in document["expectations"]:
        if expectation["kwargs"].get("column") == "income" and expectation["meta"]["check"] == "ranges":
            expectation["meta"]["severity"] = "ERROR"
    path = tmp_path / "credit_default.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    edited = load_suite(path)
    monitor = make_monitor(ranges={})
    assert check_severities(monitor, edited)["ranges"] is Severity.ERROR
    assert check_severities(monitor, suite)["ranges"] is Severity.WARN
    day = make_day(rows=500).assign(income=lambda d: d["income"] * 1000)
    ranges = by_name(validate_day(day, monitor, ValidationContext(suite=edited)))["ranges"]
    assert not ranges.passed and ranges.severity == "ERROR"


def test_json_is_deterministic_and_round_trips(reference, suite):
    shuffled = reference.sample(frac=1.0, random_state=3)
    again = profile_reference(shuffled, make_monitor(), source="file://reference.parquet")
    assert again.to_json() == suite.to_json()
    assert ProfiledSuite.from_json(suite.to_json(), origin="test") == suite
    assert ProfiledSuite.from_json(suite.to_json(), origin="test").to_json() == suite.to_json()
    document = json.loads(suite.to_json())
    assert list(document) == ["name", "expectations", "meta"]
    assert document["meta"]["source"] == "file://reference.parquet"
    first = document["expectations"][0]
    assert first["type"] == COLUMNS_MATCH and list(first) == ["type", "kwargs", "meta"]
    assert list(first["meta"])[:3] == ["check", "severity", "source"]


def test_json_is_a_great_expectations_suite(suite):
    import great_expectations as gx

    from monitoring_jobs.validation.gx_runner import _get_context

    _get_context()  # GX builds expectations only inside a data context
    loaded = gx.ExpectationSuite(**json.loads(suite.to_json()))
    assert len(loaded.expectations) == len(suite.expectations)
    for gx_expectation, ours in zip(loaded.expectations, suite.expectations):
        assert gx_expectation.expectation_type == ours.type
        assert gx_expectation.meta["check"] == ours.check
        assert getattr(gx_expectation, "column", None) == ours.column
    between = next(e for e in loaded.expectations if e.expectation_type == BETWEEN)
    assert between.mostly == 0.99


def test_load_suite(tmp_path, suite):
    path = tmp_path / "suites" / "credit_default.json"
    assert load_suite(path) is None
    path.parent.mkdir()
    path.write_text(suite.to_json(), encoding="utf-8")
    assert load_suite(path) == suite
    path.write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(ValueError, match="credit_default.json"):
        load_suite(path)


def edited(suite: ProfiledSuite, change) -> str:
    document = json.loads(suite.to_json())
    change(document)
    return json.dumps(document)


def set_in(path: list, value):
    def change(document):
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def first_of(suite: ProfiledSuite, type_: str, check: str) -> int:
    return next(i for i, e in enumerate(suite.expectations) if e.type == type_ and e.check == check)


@pytest.mark.parametrize(("make_text", "bad_part"), [
    (lambda s: "{not json", "not a valid suite JSON"),
    (lambda s: "[]", "JSON object"),
    (lambda s: edited(s, set_in(["expectations", 1, "type"], "expect_column_to_exist")),
     r"expectations\[1\].*unknown expectation type 'expect_column_to_exist'"),
    (lambda s: edited(s, set_in(["expectations", 1, "meta", "severity"], "FATAL")),
     r"expectations\[1\].*'request_id'.*severity 'FATAL'"),
    (lambda s: edited(s, set_in(["expectations", 1, "meta", "check"], "volume")), r"meta.check 'volume'"),
    (lambda s: edited(s, set_in(["expectations", 1, "meta", "check"], "bogus")), "not a validation check"),
    (lambda s: edited(s, set_in(["expectations", first_of(s, BETWEEN, "ranges"), "kwargs", "min_value"], 1e12)),
     "above kwargs.max_value"),
    (lambda s: edited(s, set_in(["expectations", first_of(s, BETWEEN, "ranges"), "kwargs", "max_value"], "x")),
     "kwargs.max_value must be a finite number"),
    (lambda s: edited(s, set_in(["expectations", first_of(s, NOT_NULL, "nulls"), "kwargs", "mostly"], 1.5)),
     "kwargs.mostly"),
    (lambda s: edited(s, set_in(["expectations", first_of(s, IN_SET, "categories"), "kwargs", "value_set"], [])),
     "kwargs.value_set"),
    (lambda s: edited(s, set_in(["expectations", 1, "kwargs", "colum"], "x")), r"unknown kwargs \['colum'\]"),
    (lambda s: edited(s, set_in(["expectations", 0, "meta", "column_kinds", "age"], "float64")),
     "unknown kind"),
    (lambda s: edited(s, lambda d: d["expectations"].append(d["expectations"][1])), "second nulls rule"),
    (lambda s: edited(s, set_in(["extra"], 1)), "unknown top-level key"),
    (lambda s: s.to_json().replace('"mostly": 0.99', '"mostly": NaN', 1), "NaN is not allowed"),
])
def test_malformed_suite_json_names_the_origin_and_the_bad_part(suite, make_text, bad_part):
    with pytest.raises(ValueError, match=r"^reviewed/credit_default\.json: ") as error:
        ProfiledSuite.from_json(make_text(suite), origin="reviewed/credit_default.json")
    assert error.match(bad_part)


def test_gx_bookkeeping_keys_are_accepted(suite):
    document = json.loads(suite.to_json())
    document.update(id=None, notes=None)
    document["meta"]["great_expectations_version"] = "1.24.1"
    for expectation in document["expectations"]:
        expectation.update(id=None, severity="critical")
    assert ProfiledSuite.from_json(json.dumps(document), origin="gx") == suite


def test_profile_rejects_what_it_cannot_profile():
    with pytest.raises(ValueError, match="no rows"):
        profile_reference(make_day().iloc[:0], make_monitor(), source="x")
    with pytest.raises(TypeError, match="DataFrame"):
        profile_reference([1, 2], make_monitor(), source="x")
    with pytest.raises(ValueError, match="category_mostly"):
        profile_reference(make_day(), make_monitor(), source="x", category_mostly=1.5)


def test_profile_copes_with_odd_references():
    reference = make_day(rows=1200).drop(columns=["region"])
    reference["employment_type"] = [f"id-{i}" for i in range(1200)]  # identifier-like: no category set
    reference.loc[0, "income"] = np.inf
    reference["num"] = pd.array([1, None, 3] * 400, dtype="Int64")
    suite = profile_reference(reference, make_monitor(), source="x")
    categories = rules_of(suite, "categories")
    assert "region" not in categories and "employment_type" not in categories and "status" in categories
    assert np.isfinite(rules_of(suite, "ranges")["income"].kwargs["max_value"])
    assert suite.column_kinds["num"] == "numeric"
    assert ProfiledSuite.from_json(suite.to_json(), origin="x") == suite
