"""Validation rules profiled from a model's reference data, kept as a reviewable GX suite JSON file.

``profile_reference`` turns the reference into expectations; ``ProfiledSuite.to_json`` writes them as a
Great Expectations Core 1.x ExpectationSuite document (loadable with ``gx.ExpectationSuite(**json)``),
which a reviewer reads, edits and commits (the settings say where: ``Settings.suite_path``).

Format decisions:
- Each expectation's ``meta`` says which check it belongs to (``check``), how bad a failure is
  (``severity``, WARN or ERROR; profiled rules are WARN) and where it came from (``source``). GX's own
  expectation-level ``severity`` field is not used.
- Column kinds (for ``schema_drift``) are one ``expect_table_columns_to_match_set`` expectation whose
  ``meta.column_kinds`` maps every reference column to its kind; the model versions seen are an
  ``expect_column_values_to_be_in_set`` expectation of check ``model_versions``. Each fact lives in
  one place, and ``ProfiledSuite.column_kinds`` / ``model_versions`` read them from there.
- Profiled ranges carry ``mostly`` (share of non-null values that must be inside): the 0.1% and 99.9%
  quantiles leave a tail of the reference itself outside, and a check that failed every day on one
  heavy-tailed value would be ignored. Nulls carry ``mostly`` = 1 - allowed null share.
- The document has no timestamps and a fixed key order, so profiling the same data gives the same bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monitoring_jobs.config import VALIDATION_CHECKS, MonitorConfig, Severity, Task
from monitoring_jobs.validation.day import is_numeric

KINDS = ("numeric", "string", "datetime", "boolean", "other")
NOT_NULL = "expect_column_values_to_not_be_null"
BETWEEN = "expect_column_values_to_be_between"
IN_SET = "expect_column_values_to_be_in_set"
UNIQUE = "expect_column_values_to_be_unique"
COLUMNS_MATCH = "expect_table_columns_to_match_set"
PROFILE_SOURCE = "profile"
# A column with more distinct values than this is an identifier or free text, not a category.
MAX_PROFILED_CATEGORIES = 1000
LOW_QUANTILE, HIGH_QUANTILE = 0.001, 0.999
# Profiled bounds are rounded outward to this many significant digits of the range's width.
BOUND_DIGITS = 4
_WIDE = Context(prec=1000)  # enough digits to round any float at any position


@dataclass(frozen=True)
class _TypeRules:
    """What a suite file may say with one expectation type."""

    checks: tuple[str, ...]
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


EXPECTATION_TYPES: dict[str, _TypeRules] = {
    NOT_NULL: _TypeRules(("nulls",), ("column",), ("mostly",)),
    BETWEEN: _TypeRules(("ranges", "prediction_range"), ("column",), ("min_value", "max_value", "mostly")),
    IN_SET: _TypeRules(("categories", "prediction_range", "model_versions"), ("column", "value_set"), ("mostly",)),
    UNIQUE: _TypeRules(("unique_request_ids",), ("column",), ("mostly",)),
    COLUMNS_MATCH: _TypeRules(("schema_drift",), ("column_set",), ("exact_match",)),
}
# GX bookkeeping keys that may appear when a suite was saved by GX itself; they carry nothing we use.
_GX_SUITE_KEYS = {"id", "notes"}
_GX_EXPECTATION_KEYS = {"id", "notes", "description", "rendered_content", "severity"}


def dtype_kind(dtype: object) -> str:
    """The kind of a column's dtype: numeric, string, datetime, boolean or other.

    Kinds are coarser than dtypes on purpose: an int64 column that holds a null one day arrives as
    float64, a string column as object or str, and none of that is drift. Object columns count as
    strings (pandas' legacy string storage); categoricals take the kind of their categories.
    """
    if isinstance(dtype, pd.CategoricalDtype):
        return dtype_kind(dtype.categories.dtype)
    types = pd.api.types
    if types.is_bool_dtype(dtype):
        return "boolean"
    if is_numeric(dtype):
        return "numeric"
    if types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if types.is_string_dtype(dtype):
        return "string"
    return "other"


def schema_of(frame: pd.DataFrame) -> dict[str, str]:
    """Column -> kind for every column of ``frame`` (the first of duplicated names), e.g. a reference's."""
    unique = frame.loc[:, ~frame.columns.duplicated()]
    return {str(column): dtype_kind(unique[column].dtype) for column in unique.columns}


@dataclass(frozen=True)
class Expectation:
    """One GX expectation (snake_case ``type`` and ``kwargs``), the check it feeds and its severity.

    ``meta`` holds the rest of the GX meta block: ``source`` ("profile", "config", ...), ``column_kinds``
    of the schema expectation, and anything a reviewer added.
    """

    type: str
    kwargs: Mapping[str, Any]
    check: str
    severity: Severity = Severity.WARN
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def column(self) -> str | None:
        return self.kwargs.get("column")

    @property
    def source(self) -> str:
        return str(self.meta.get("source", ""))

    def to_gx_dict(self) -> dict:
        kwargs = {key: self.kwargs[key] for key in sorted(self.kwargs, key=lambda k: (k != "column", k))}
        extra = {key: _sorted_mapping(self.meta[key]) for key in sorted(self.meta) if key != "source"}
        meta = {"check": self.check, "severity": self.severity.value,
                **({"source": self.meta["source"]} if "source" in self.meta else {}), **extra}
        return {"type": self.type, "kwargs": kwargs, "meta": meta}


@dataclass(frozen=True)
class ProfiledSuite:
    """Rules profiled from a reference (or edited by a reviewer), as they are stored in the suite file."""

    name: str
    expectations: tuple[Expectation, ...]
    source: str
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def column_kinds(self) -> Mapping[str, str]:
        """Column -> kind of the reference, from the schema_drift expectation ({} when there is none)."""
        schema = next((e for e in self.expectations if e.type == COLUMNS_MATCH), None)
        return dict(schema.meta.get("column_kinds", {})) if schema else {}

    @property
    def model_versions(self) -> tuple[str, ...]:
        """The model versions of the reference, from the model_versions expectation (() when there is none)."""
        versions = next((e for e in self.expectations if e.check == "model_versions"), None)
        return tuple(str(v) for v in versions.kwargs["value_set"]) if versions else ()

    def to_json(self) -> str:
        """The suite as a GX 1.x ExpectationSuite document, keys in a fixed order, ending in a newline."""
        meta = {"source": self.source, **{key: _sorted_mapping(self.meta[key]) for key in sorted(self.meta)}}
        document = {"name": self.name, "expectations": [e.to_gx_dict() for e in self.expectations], "meta": meta}
        return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, text: str, *, origin: str) -> ProfiledSuite:
        """Parse a suite file; any problem is a ValueError naming ``origin`` and the part that is wrong."""
        try:
            document = json.loads(text, parse_constant=_reject_constant)
        except (json.JSONDecodeError, ValueError) as exc:
            raise ValueError(f"{origin}: not a valid suite JSON document: {exc}") from None
        return _parse_suite(document, origin)


def profile_reference(reference: pd.DataFrame, monitor: MonitorConfig, *, source: str,
                      range_tolerance: float = 0.1, range_mostly: float = 0.99, category_mostly: float = 0.99,
                      null_headroom: float = 0.02) -> ProfiledSuite:
    """Profile the reference into WARN rules for schema_drift, nulls, ranges, categories and model_versions.

    - ranges: the 0.1% and 99.9% quantiles of each numeric feature, the latency (and a regression's
      prediction), widened on both sides by ``range_tolerance`` x their distance (x max(|value|, 1)
      for a constant column) and rounded outward; ``range_mostly`` of the non-null values must be inside.
    - categories: every value the reference shows for categorical features, segments and status, with
      ``mostly=category_mostly``; columns with over MAX_PROFILED_CATEGORIES values are left out.
    - nulls: each declared column's reference null share plus ``null_headroom``, capped at 1.
    - schema_drift: every reference column and its kind; model_versions: the versions seen.
    """
    if not isinstance(reference, pd.DataFrame):
        raise TypeError(f"profile_reference needs a pandas DataFrame, got {type(reference).__name__}")
    if reference.empty:
        raise ValueError(f"the reference of {monitor.name} has no rows or no columns; there is nothing to profile")
    for name, value, low, high in (("range_tolerance", range_tolerance, 0.0, math.inf),
                                   ("range_mostly", range_mostly, 0.0, 1.0),
                                   ("category_mostly", category_mostly, 0.0, 1.0),
                                   ("null_headroom", null_headroom, 0.0, 1.0)):
        if not low <= value <= high:
            raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    cols = monitor.columns
    frame = reference.set_axis([str(c) for c in reference.columns], axis=1)
    # A reference may carry its labels (for CBPE and label drift); inference logs never do.
    frame = frame.loc[:, ~frame.columns.duplicated() & (frame.columns != cols.label)]
    kinds = schema_of(frame)

    def present(columns: list[str | None]) -> list[str]:
        return [c for c in dict.fromkeys(columns) if c and c in kinds]

    expectations = [_profiled(COLUMNS_MATCH, {"column_set": sorted(kinds), "exact_match": True}, "schema_drift",
                              column_kinds=dict(sorted(kinds.items())))]
    declared = present([cols.request_id, cols.timestamp, cols.model_version, cols.prediction, cols.score,
                        cols.latency_ms, cols.status, *cols.features, *cols.segments])
    for column in declared:
        # Rounded to 9 decimals first so float noise (0.008 + 0.02 = 0.028000000000000004) is not rounded up.
        ceiling = min(1.0, _round(round(float(frame[column].isna().mean()) + null_headroom, 9), 6, ROUND_CEILING))
        expectations.append(_profiled(NOT_NULL, {"column": column, "mostly": round(1.0 - ceiling, 6)}, "nulls"))
    # A classifier's score is judged by prediction_range ([0, 1]); a widened quantile range adds nothing.
    ranged = present([*cols.numeric_features, cols.latency_ms,
                      cols.prediction if monitor.task is Task.REGRESSION else None])
    for column in ranged:
        bounds = _profiled_range(frame[column], range_tolerance) if kinds[column] == "numeric" else None
        if bounds:
            expectations.append(_profiled(BETWEEN, {"column": column, "min_value": bounds[0], "max_value": bounds[1],
                                                    "mostly": range_mostly}, "ranges"))
    for column in present([*cols.categorical_features, *cols.segments, cols.status]):
        values = _distinct_values(frame[column])
        if values and len(values) <= MAX_PROFILED_CATEGORIES:
            expectations.append(_profiled(IN_SET, {"column": column, "value_set": values, "mostly": category_mostly},
                                          "categories"))
    for column in present([cols.model_version]):
        versions = sorted({str(v) for v in frame[column].dropna()})
        if versions:
            expectations.append(_profiled(IN_SET, {"column": column, "value_set": versions}, "model_versions"))
    meta = {"monitor": monitor.name, "reference_rows": len(frame),
            "profile": {"category_mostly": category_mostly, "null_headroom": null_headroom,
                        "range_mostly": range_mostly, "range_tolerance": range_tolerance},
            "notes": "Profiled from the reference. Review, then edit any meta.severity to ERROR to block the "
                     "day on that rule. A rule of the monitor config for the same check and column wins."}
    return ProfiledSuite(name=monitor.name, expectations=tuple(expectations), source=source, meta=meta)


def load_suite(path: Path) -> ProfiledSuite | None:
    """The suite stored at ``path``, or None when there is no such file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the suite file ({exc})") from None
    return ProfiledSuite.from_json(text, origin=str(path))


# --- profiling helpers --------------------------------------------------------------------------

def _profiled(type_: str, kwargs: dict, check: str, **meta: Any) -> Expectation:
    return Expectation(type_, kwargs, check, Severity.WARN, {"source": PROFILE_SOURCE, **meta})


def _profiled_range(series: pd.Series, tolerance: float) -> tuple[float, float] | None:
    values = series.to_numpy(dtype=float, na_value=np.nan)
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    low, high = (float(q) for q in np.quantile(values, [LOW_QUANTILE, HIGH_QUANTILE]))
    width = high - low if high > low else max(abs(low), 1.0)
    digits = BOUND_DIGITS - 1 - math.floor(math.log10(width))
    return (_round(low - tolerance * width, digits, ROUND_FLOOR), _round(high + tolerance * width, digits,
                                                                          ROUND_CEILING))


def _round(value: float, digits: int, rounding: str) -> float:
    """``value`` rounded to ``digits`` decimals (negative: tens, hundreds...) in the given direction."""
    exact = Decimal(repr(value))
    rounded = float(exact.quantize(Decimal(1).scaleb(-digits), rounding=rounding, context=_WIDE))
    return rounded + 0.0  # no "-0.0" in the file


def _distinct_values(series: pd.Series) -> list:
    """Distinct non-null values as JSON scalars, in a stable order (by type, then value)."""
    values = {_json_scalar(v) for v in series.dropna().unique()}
    return sorted(values, key=lambda v: (type(v).__name__, v))


def _json_scalar(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def _sorted_mapping(value: Any) -> Any:
    return {key: value[key] for key in sorted(value)} if isinstance(value, Mapping) else value


# --- parsing ------------------------------------------------------------------------------------

def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in a suite file")


def _parse_suite(document: object, origin: str) -> ProfiledSuite:
    if not isinstance(document, dict):
        raise ValueError(f"{origin}: a suite is a JSON object, got {type(document).__name__}")
    unknown = set(document) - {"name", "expectations", "meta"} - _GX_SUITE_KEYS
    if unknown:
        raise ValueError(f"{origin}: unknown top-level key(s) {sorted(unknown)}")
    name = document.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{origin}: 'name' must be a non-empty string")
    if not isinstance(document.get("meta", {}), dict):
        raise ValueError(f"{origin}: 'meta' must be an object")
    meta = dict(document.get("meta", {}))
    meta.pop("great_expectations_version", None)  # added by GX when it saves a suite
    source = meta.pop("source", "")
    if not isinstance(source, str):
        raise ValueError(f"{origin}: meta.source must be a string")
    raw = document.get("expectations")
    if not isinstance(raw, list):
        raise ValueError(f"{origin}: 'expectations' must be a list")
    expectations = tuple(_parse_expectation(item, f"{origin}: expectations[{i}]") for i, item in enumerate(raw))
    seen: dict[tuple[str, str | None], int] = {}
    for position, expectation in enumerate(expectations):
        key = (expectation.check, expectation.column)
        if key in seen:
            about = f"column '{expectation.column}'" if expectation.column else "the table"
            raise ValueError(f"{origin}: expectations[{position}] is a second {expectation.check} rule on {about} "
                             f"(the first is expectations[{seen[key]}]); keep one")
        seen[key] = position
    return ProfiledSuite(name=name, expectations=expectations, source=source, meta=meta)


def _parse_expectation(item: object, where: str) -> Expectation:
    if not isinstance(item, dict):
        raise ValueError(f"{where}: an expectation is a JSON object")
    unknown = set(item) - {"type", "kwargs", "meta"} - _GX_EXPECTATION_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}")
    type_ = item.get("type")
    if type_ not in EXPECTATION_TYPES:
        raise ValueError(f"{where}: unknown expectation type {type_!r}; supported: {', '.join(EXPECTATION_TYPES)}")
    rules = EXPECTATION_TYPES[type_]
    kwargs, meta = item.get("kwargs"), item.get("meta")
    if not isinstance(kwargs, dict) or not isinstance(meta, dict):
        raise ValueError(f"{where} ({type_}): 'kwargs' and 'meta' must be objects")
    where = f"{where} ({type_} on '{kwargs['column']}')" if isinstance(kwargs.get("column"), str) else \
        f"{where} ({type_})"
    meta = dict(meta)
    check = meta.pop("check", None)
    if check not in rules.checks:
        allowed = ", ".join(rules.checks)
        known = "" if check in VALIDATION_CHECKS else " (not a validation check)"
        raise ValueError(f"{where}: meta.check {check!r}{known} cannot use this type; use one of: {allowed}")
    severity = meta.pop("severity", Severity.WARN.value)
    if severity not in {s.value for s in Severity}:
        raise ValueError(f"{where}: meta.severity {severity!r} is not WARN or ERROR")
    _check_kwargs(kwargs, rules, where, bounded=type_ == BETWEEN)
    if type_ == COLUMNS_MATCH:
        _check_column_kinds(meta.get("column_kinds"), kwargs["column_set"], where)
    return Expectation(type_, dict(kwargs), check, Severity(severity), meta)


def _check_kwargs(kwargs: dict, rules: _TypeRules, where: str, *, bounded: bool) -> None:
    missing = [key for key in rules.required if key not in kwargs]
    unknown = set(kwargs) - set(rules.required) - set(rules.optional)
    if missing or unknown:
        problems = ([f"missing kwargs {missing}"] if missing else []) + \
                   ([f"unknown kwargs {sorted(unknown)}"] if unknown else [])
        raise ValueError(f"{where}: {'; '.join(problems)}")

    def fail(key: str, wanted: str) -> ValueError:
        return ValueError(f"{where}: kwargs.{key} must be {wanted}, got {kwargs[key]!r}")

    if "column" in kwargs and not (isinstance(kwargs["column"], str) and kwargs["column"]):
        raise fail("column", "a column name")
    if "mostly" in kwargs and not (_is_number(kwargs["mostly"]) and 0 <= kwargs["mostly"] <= 1):
        raise fail("mostly", "a number from 0 to 1")
    for key in ("min_value", "max_value"):
        if key in kwargs and kwargs[key] is not None and not _is_number(kwargs[key]):
            raise fail(key, "a finite number or null")
    if bounded:
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        if low is None and high is None:
            raise ValueError(f"{where}: give kwargs.min_value, kwargs.max_value or both")
        if low is not None and high is not None and low > high:
            raise ValueError(f"{where}: kwargs.min_value {low} is above kwargs.max_value {high}")
    if "value_set" in kwargs:
        values = kwargs["value_set"]
        if not isinstance(values, list) or not values or not all(
                isinstance(v, (str, bool)) or _is_number(v) for v in values):
            raise fail("value_set", "a non-empty list of strings and numbers")
    if "column_set" in kwargs:
        columns = kwargs["column_set"]
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns) or \
                len(set(columns)) != len(columns):
            raise fail("column_set", "a list of distinct column names")
    if "exact_match" in kwargs and not isinstance(kwargs["exact_match"], bool):
        raise fail("exact_match", "true or false")


def _check_column_kinds(kinds: object, columns: list[str], where: str) -> None:
    if not isinstance(kinds, dict):
        raise ValueError(f"{where}: meta.column_kinds must map each column of kwargs.column_set to its kind")
    bad = {column: kind for column, kind in kinds.items() if kind not in KINDS}
    if bad:
        raise ValueError(f"{where}: meta.column_kinds has unknown kind(s) {bad}; kinds are {', '.join(KINDS)}")
    if set(kinds) != set(columns):
        raise ValueError(f"{where}: meta.column_kinds and kwargs.column_set name different columns: "
                         f"{sorted(set(kinds) ^ set(columns))}")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
