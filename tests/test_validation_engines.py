"""The direct validation engine against Great Expectations itself: on clean and deliberately broken days,
every check's outcome (pass/fail, description, examples, metadata, figures) is the same from both."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from monitoring_jobs.validation import ValidationContext, validate_day
from monitoring_jobs.validation.direct_runner import run_rules_directly
from monitoring_jobs.validation.gx_runner import Rule, run_rules
from monitoring_jobs.validation.profile import BETWEEN, IN_SET, NOT_NULL, UNIQUE
from tests.test_validation import HOSTILE, make_day, make_monitor, rule, suite_of


def broken_days() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(5)
    nulls_and_infinities = make_day(rows=500)
    nulls_and_infinities.loc[rng.choice(500, 40, replace=False), "income"] = np.nan
    nulls_and_infinities.loc[[1, 2], "age"] = [np.inf, -np.inf]
    nulls_and_infinities.loc[[3, 4, 5], "age"] = [150.0, 17.0, 18.0]  # 18 is the bound itself: inside
    nulls_and_infinities.loc[6, "score"] = 1.5
    nulls_and_infinities.loc[7, "request_id"] = None
    categories = make_day(rows=300)
    categories.loc[[3, 4, 5, 9], "region"] = [HOSTILE[0], HOSTILE[1], HOSTILE[0], None]
    categories.loc[np.arange(20, 260), "employment_type"] = "freelance"  # many rows: more than 100 examples
    duplicates = make_day(rows=300)
    duplicates.loc[10, "request_id"] = duplicates.loc[11, "request_id"]
    duplicates.loc[20:150, "request_id"] = duplicates.loc[200, "request_id"]
    typed = make_day(rows=6)
    typed["age"] = pd.array([20, None, 30, 200, 40, 50], dtype="Int64")
    typed["score"] = pd.array([0.5, None, 0.2, 0.1, 1.5, 0.3], dtype="double[pyarrow]")
    strings_in_numbers = make_day()
    strings_in_numbers["age"] = strings_in_numbers["age"].round(1).astype(str)
    return {
        "clean": make_day(rows=1000),
        "nulls and infinities": nulls_and_infinities,
        "unseen categories": categories,
        "duplicate request ids": duplicates,
        "nullable and Arrow columns": typed,
        "strings in a numeric column": strings_in_numbers,
        "missing columns": make_day().drop(columns=["age", "region"]),
        "duplicated column name": pd.concat([make_day(), make_day()[["age"]]], axis=1),
        "empty": make_day().iloc[:0],
        "no columns": pd.DataFrame(),
        "one row": make_day(rows=1),
        "too few rows": make_day(rows=40),
    }


def outcomes_of(frame: pd.DataFrame, engine: str, **validation) -> list[dict]:
    monitor = make_monitor(engine=engine, min_rows=50, model_versions=["v1"], **validation)
    return [vars(outcome) for outcome in validate_day(frame, monitor, ValidationContext())]


@pytest.mark.parametrize("name", list(broken_days()))
def test_direct_engine_gives_the_outcomes_great_expectations_gives(name):
    frame = broken_days()[name]
    assert outcomes_of(frame, "direct") == outcomes_of(frame, "great_expectations")


def test_profiled_suite_rules_give_the_same_outcomes():
    day = make_day(rows=400)
    day.loc[:30, "debt_ratio"] = 2.0
    day.loc[40:45, "employment_type"] = None
    suite = suite_of(
        rule(BETWEEN, {"column": "debt_ratio", "min_value": 0.0, "max_value": 1.0, "mostly": 0.95}, "ranges"),
        rule(NOT_NULL, {"column": "employment_type", "mostly": 0.99}, "nulls"),
        rule(IN_SET, {"column": "status", "value_set": ["ok", "error"]}, "categories"),
        rule(UNIQUE, {"column": "request_id"}, "unique_request_ids"))
    found = {engine: [vars(o) for o in validate_day(day, make_monitor(engine=engine), ValidationContext(suite=suite))]
             for engine in ("direct", "great_expectations")}
    assert found["direct"] == found["great_expectations"]
    assert not {o["name"]: o for o in found["direct"]}["ranges"]["passed"]


@pytest.mark.parametrize("rule", [
    Rule("ExpectColumnValuesToBeBetween", {"column": "x", "min_value": 0, "max_value": 1, "strict_min": True}),
    Rule("ExpectColumnValuesToBeBetween", {"column": "x", "min_value": 0, "max_value": 1, "strict_max": True}),
    Rule("ExpectColumnValuesToBeBetween", {"column": "x", "max_value": 0.5}),
    Rule("ExpectColumnValuesToBeInSet", {"column": "c", "value_set": ["a", 1]}),
    Rule("ExpectColumnValuesToBeUnique", {"column": "c"}),
    Rule("ExpectColumnValuesToNotBeNull", {"column": "x"}),
    Rule("ExpectTableColumnsToMatchSet", {"column_set": ["x", "y"], "exact_match": True}),
    Rule("ExpectTableRowCountToBeBetween", {"min_value": 3, "max_value": 5}),
], ids=lambda rule: f"{rule.expectation}{sorted(rule.kwargs.items())}")
def test_each_rule_counts_what_great_expectations_counts(rule):
    frame = pd.DataFrame({"x": [0.0, 1.0, 0.5, np.nan, 2.0, -1.0, 1.0],
                          "c": pd.array(["a", "b", None, "a", "1", "c", "b"], dtype="string")})
    ((direct,),), ((gx,),) = run_rules_directly([(frame, [rule])]), run_rules([(frame, [rule])])
    assert direct.success == gx.success and direct.error is None and gx.error is None
    for key in ("unexpected_count", "partial_unexpected_list", "observed_value"):  # JSON: NaN equals NaN
        assert json.dumps(direct.result.get(key)) == json.dumps(gx.result.get(key)), key
    assert (direct.result.get("details") or {}).get("mismatched") == (gx.result.get("details") or {}).get("mismatched")


@pytest.mark.parametrize("values", [
    pd.array(["a", "b", None, "a", "1", "c", "b", None], dtype="string"),
    pd.Series(["a", "b", None, "a", "1", "c", "b", np.nan], dtype=object),
    pd.Series(["a", 1, None, "a", "1", 1, 1.0, b"a"], dtype=object),  # not all text: counted by pandas
    pd.Series([1.0, np.nan, 2.0, 1.0, np.nan, 3.0, -0.0, 0.0]),
    pd.Series(["é", "e\u0301", "", "", " ", "x", "X", "<b>é</b>"]),
], ids=["string", "text objects", "mixed objects", "floats", "unicode"])
def test_duplicates_are_the_rows_great_expectations_counts(values):
    frame = pd.DataFrame({"c": values})
    unique = Rule("ExpectColumnValuesToBeUnique", {"column": "c"})
    ((direct,),), ((gx,),) = run_rules_directly([(frame, [unique])]), run_rules([(frame, [unique])])
    assert direct.success == gx.success
    for key in ("unexpected_count", "partial_unexpected_list"):
        assert json.dumps(direct.result.get(key), default=str) == json.dumps(gx.result.get(key), default=str), key


def test_a_rule_without_a_direct_implementation_is_an_error_not_a_pass():
    unknown = Rule("ExpectColumnMeanToBeBetween", {"column": "x", "min_value": 0})
    ((result,),) = run_rules_directly([(pd.DataFrame({"x": [1]}), [unknown])])
    assert not result.success and "validation.engine: great_expectations" in result.error
