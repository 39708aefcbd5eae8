"""Checks on the day as a whole: schema, schema drift, volume, volume trend and freshness.

Decisions worth knowing:
- ``schema_drift`` compares every column of the day (declared or not) with the reference by kind
  (``profile.dtype_kind``), so int64 turning into float64 because of one null is not drift. Declared
  columns that are missing or not numeric are left to ``schema``. A column with no non-null value says
  nothing about its type (an all-null JSON column arrives as float or object) and is not called retyped.
- ``volume_trend`` needs ``MIN_TREND_DAYS`` earlier days with data before it judges anything.
- ``freshness`` compares timestamps in UTC with the partition's UTC day [00:00, next 00:00). Timestamps
  that had no timezone are a failure of their own: reading them as UTC may be silently wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import pandas as pd

from monitoring_jobs.config import MonitorConfig
from monitoring_jobs.metrics import CheckOutcome
from monitoring_jobs.validation.day import InspectedDay
from monitoring_jobs.validation.display import (
    EXAMPLE_LIMIT,
    display_safe,
    figure,
    names,
    percent,
    safe_examples,
    share,
)
from monitoring_jobs.validation.gx_runner import RuleResult
from monitoring_jobs.validation.profile import Expectation, dtype_kind

MIN_TREND_DAYS = 3


def schema_outcome(monitor: MonitorConfig, day: InspectedDay, result: RuleResult) -> CheckOutcome:
    mismatched = (result.result.get("details") or {}).get("mismatched") or {}
    # GX's list and ours agree; the union guarantees every column another check skipped is reported here.
    missing = sorted(set(mismatched.get("missing") or []) | day.missing)
    problems = []
    if result.error:
        problems.append(f"GX could not compare the columns: {result.error}")
    if missing:
        problems.append(f"missing column(s): {names(missing)}")
    if day.not_numeric:
        problems.append("not numeric: " + ", ".join(f"'{c}' has dtype {t}" for c, t in day.not_numeric.items()))
    if day.duplicated:
        problems.append(f"column name(s) appearing more than once: {names(day.duplicated)} (the first is used)")
    figures = ([figure("column_missing", c, 1.0, None, False) for c in missing]
               + [figure("column_not_numeric", c, 1.0, None, False, detail=f"dtype {t}")
                  for c, t in day.not_numeric.items()]
               + [figure("column_duplicated", c, 1.0, None, False) for c in day.duplicated])
    passed = result.success and not problems
    description = ("; ".join(problems) if problems
                   else f"all {len(monitor.columns.declared())} declared columns present; numeric columns hold numbers")
    return CheckOutcome(
        name="schema", passed=passed, severity=monitor.validation.severity_of("schema").value,
        description=description,
        metadata={"missing_columns": missing, "not_numeric_columns": dict(day.not_numeric),
                  "duplicated_columns": [display_safe(c) for c in day.duplicated],
                  "observed_columns": [display_safe(c) for c in day.frame.columns], "figures": figures},
        examples=safe_examples([*missing, *day.not_numeric, *day.duplicated]),
    )


def schema_drift_outcome(monitor: MonitorConfig, day: InspectedDay, reference_schema: Mapping[str, str] | None,
                         suite_rule: Expectation | None) -> CheckOutcome:
    """New, missing and retyped columns against the reference's schema (context first, else the suite's)."""
    if reference_schema is not None:
        kinds, severity, basis = dict(reference_schema), monitor.validation.severity_of("schema_drift"), "reference"
    elif suite_rule is not None:
        kinds, severity, basis = dict(suite_rule.meta["column_kinds"]), suite_rule.severity, "profiled suite"
    else:
        return CheckOutcome("schema_drift", True, monitor.validation.severity_of("schema_drift").value,
                            "no reference schema yet", metadata={"basis": None, "figures": []})
    observed = {str(c): day.frame[c] for c in day.frame.columns}
    new = [c for c in observed if c not in kinds]
    gone = [c for c in kinds if c not in observed and c not in day.missing]
    retyped = {c: {"reference": kinds[c], "day": dtype_kind(values.dtype)} for c, values in observed.items()
               if c in kinds and c not in day.not_numeric and values.notna().any()
               and dtype_kind(values.dtype) != kinds[c]}
    left_to_schema = sorted((day.missing | set(day.not_numeric)) & set(kinds))
    problems = []
    if new:
        problems.append(f"new column(s) not in the {basis}: {names(new)}")
    if gone:
        problems.append(f"column(s) of the {basis} missing: {names(gone)}")
    if retyped:
        problems.append("retyped: " + ", ".join(f"'{display_safe(c)}' {k['reference']} -> {k['day']}"
                                                 for c, k in retyped.items()))
    description = "; ".join(problems) or f"{len(observed)} column(s) match the {basis} in names and kinds"
    if left_to_schema:
        description += f"; left to schema: {names(left_to_schema)}"
    figures = ([figure("column_added", display_safe(c), 1.0, None, False) for c in new]
               + [figure("column_removed", c, 1.0, None, False) for c in gone]
               + [figure("column_retyped", c, 1.0, None, False, detail=f"{k['reference']} -> {k['day']}")
                  for c, k in retyped.items()])
    return CheckOutcome(
        name="schema_drift", passed=not problems, severity=severity.value, description=description,
        metadata={"basis": basis, "new_columns": [display_safe(c) for c in new], "missing_columns": gone,
                  "retyped_columns": retyped, "left_to_schema": left_to_schema, "figures": figures},
        examples=safe_examples([*new, *gone, *retyped]),
    )


def volume_outcome(monitor: MonitorConfig, day: InspectedDay, result: RuleResult) -> CheckOutcome:
    min_rows = monitor.validation.min_rows
    passed = result.success and result.error is None
    description = f"{day.rows} row(s), at least {min_rows} required"
    if result.error:
        description += f"; GX could not count the rows: {result.error}"
    return CheckOutcome(
        name="volume", passed=passed, severity=monitor.validation.severity_of("volume").value,
        description=description,
        metadata={"rows": day.rows, "min_rows": min_rows,
                  "figures": [figure("row_count", "", float(day.rows), float(min_rows), passed)]},
    )


def volume_trend_outcome(monitor: MonitorConfig, rows: int, trailing_row_counts: Sequence[int]) -> CheckOutcome:
    """The day's rows against the mean of the last ``window_days`` earlier days that had data."""
    trend = monitor.validation.volume_trend
    severity = monitor.validation.severity_of("volume_trend").value
    window = list(trailing_row_counts[-trend.window_days:])
    metadata = {"rows": rows, "window_days": trend.window_days, "trailing_row_counts": window,
                "min_ratio": trend.min_ratio, "max_ratio": trend.max_ratio, "figures": []}
    if len(trailing_row_counts) < MIN_TREND_DAYS:
        return CheckOutcome("volume_trend", True, severity,
                            f"not enough history: {len(trailing_row_counts)} earlier day(s) with data, "
                            f"{MIN_TREND_DAYS} needed", metadata)
    mean = sum(window) / len(window)
    if mean == 0:
        return CheckOutcome("volume_trend", True, severity,
                            f"the last {len(window)} earlier day(s) had no rows; nothing to compare with", metadata)
    ratio = rows / mean
    too_low = ratio < trend.min_ratio
    too_high = trend.max_ratio is not None and ratio > trend.max_ratio
    if too_high or trend.max_ratio is not None and not too_low and trend.max_ratio - ratio < ratio - trend.min_ratio:
        threshold = trend.max_ratio
    else:
        threshold = trend.min_ratio
    allowed = (f"at least {trend.min_ratio:g}x" if trend.max_ratio is None
               else f"{trend.min_ratio:g}x to {trend.max_ratio:g}x")
    description = (f"{rows:,} rows, {ratio:.3g}x the mean of the last {len(window)} day(s) with data "
                   f"({mean:,.1f}); allowed {allowed}")
    if too_low or too_high:
        description = f"{'fewer' if too_low else 'more'} rows than usual: {description}"
    metadata.update(trailing_mean=mean, ratio=ratio,
                    figures=[figure("row_count_ratio", "", ratio, threshold, not (too_low or too_high))])
    return CheckOutcome("volume_trend", not (too_low or too_high), severity, description, metadata)


def freshness_outcome(monitor: MonitorConfig, day: InspectedDay, partition_day: dt.date | None,
                      naive_timestamp_rows: int) -> CheckOutcome:
    """Rows stamped outside the partition's UTC day (late or future), and timestamps without a timezone."""
    rules = monitor.validation
    severity = rules.severity_of("freshness").value
    column = monitor.columns.timestamp
    metadata: dict = {"day": partition_day.isoformat() if partition_day else None, "rows": day.rows,
                      "naive_timestamp_rows": naive_timestamp_rows, "failing_share": 0.0, "figures": []}
    if column not in day.frame.columns:
        reason = "missing (reported by schema)" if column in day.missing else "missing"
        problems = [f"timestamp column '{column}' is {reason}"] + _naive_problem(naive_timestamp_rows)
        return CheckOutcome("freshness", not naive_timestamp_rows, severity, "; ".join(problems), metadata)
    values = day.frame[column]
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        metadata["failing_share"] = 1.0 if day.rows else 0.0
        return CheckOutcome("freshness", False, severity,
                            f"'{column}' holds {values.dtype}, not datetimes, so its day cannot be judged; "
                            "the ingest converts timestamps to UTC datetimes", metadata)
    if getattr(values.dt, "tz", None) is None:
        # Nobody converted this frame: count its timestamps as the ingest would have.
        naive_timestamp_rows = max(naive_timestamp_rows, int(values.notna().sum()))
        metadata["naive_timestamp_rows"] = naive_timestamp_rows
    problems: list[str] = []
    examples: list[str] = []
    failing_rows = 0
    if partition_day is None:
        summary = "no partition day given, so only the timezone is judged"
    elif not day.rows:
        summary = "no rows to check"
    else:
        utc = pd.to_datetime(values, utc=True)
        start = pd.Timestamp(partition_day).tz_localize("UTC")
        late_mask, future_mask = utc < start, utc >= start + pd.Timedelta(days=1)
        late, future = int(late_mask.sum()), int(future_mask.sum())
        fraction = (late + future) / day.rows
        too_many = fraction > rules.max_out_of_day_fraction
        summary = (f"{share(late + future, day.rows)} stamped outside {partition_day.isoformat()} UTC "
                   f"({late:,} before it, {future:,} after it), allowed {percent(rules.max_out_of_day_fraction)}")
        if too_many:
            problems.append(summary)
            failing_rows = late + future
            examples = [t.isoformat() for t in pd.concat([utc[late_mask], utc[future_mask]]).head(EXAMPLE_LIMIT)]
        metadata.update(late_rows=late, future_rows=future, out_of_day_fraction=fraction)
        metadata["figures"].append(figure("out_of_day_fraction", column, fraction, rules.max_out_of_day_fraction,
                                          not too_many))
    problems += _naive_problem(naive_timestamp_rows)
    if day.rows:
        metadata["failing_share"] = min(1.0, max(failing_rows, naive_timestamp_rows) / day.rows)
    return CheckOutcome("freshness", not problems, severity, "; ".join(problems) or summary, metadata,
                        examples=safe_examples(examples))


def _naive_problem(rows: int) -> list[str]:
    if not rows:
        return []
    return [f"{rows:,} timestamp(s) had no timezone and were read as UTC; export them with an offset or Z "
            "(e.g. 2026-10-02T13:45:00Z) so the day they belong to is certain"]
