"""Data validation of one model-day with Great Expectations: six named checks built from the monitor config.

Each check becomes one CheckOutcome (a Dagster asset check, a report row, an alert) and, through
``outcomes_to_metrics``, rows of the metric store.

Decisions worth knowing:
- A declared column missing from the frame (or a column that should be numeric but is not) is
  reported once, by ``schema``. The other checks skip that column and say so in their description,
  so one missing column does not fail four checks. A check whose columns are all skipped passes.
- ``ranges`` counts +inf and -inf as out of range. GX never sees them: they are masked to null
  (GX ignores nulls in range expectations) and counted with pandas, so the count does not depend on
  how GX treats infinities.
- Nulls (in pandas, a missing float is NaN) are the ``nulls`` check's business, judged against the
  configured ceiling: ``ranges``, ``categories`` and ``unique_request_ids`` ignore them, so a score
  that is null on failed requests is not also "out of range".
- Per-column figures are fractions of all rows of the day (GX's ``unexpected_percent`` is a share
  of the non-null rows only); ``unexpected_percent`` in the metadata is likewise a share of all rows.
- In the metric store, ``check_passed`` carries the check name in ``segment`` (one row per check);
  per-column figures carry the column in ``feature`` and an empty segment.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitoring_jobs.config import MonitorConfig, Task
from monitoring_jobs.metrics import CheckOutcome, Metric, Status
from monitoring_jobs.validation.gx_runner import Rule, RuleResult, run_rules

CHECK_NAMES = ("schema", "nulls", "ranges", "categories", "unique_request_ids", "volume")
EXAMPLE_LIMIT = 5
NO_RULES = "no rules configured"
NO_ROWS = "no rows to check"
# GX decides `mostly` as (rows - nulls) / rows >= mostly in floating point, so a column with exactly
# the allowed null fraction can fail (10 rows, 7 nulls, allowed 0.7: 0.3 < 1 - 0.7). Lowering mostly
# by far less than one row in a trillion makes GX's verdict equal to "null fraction <= allowed".
MOSTLY_TOLERANCE = 1e-12


@dataclass(frozen=True)
class _Day:
    """The frame as GX will see it, plus what the schema found wrong with it."""

    frame: pd.DataFrame
    missing: frozenset[str]
    not_numeric: dict[str, str]  # column -> dtype, for columns the pipeline needs as numbers
    duplicated: tuple[str, ...]

    @property
    def rows(self) -> int:
        return len(self.frame)

    def usable(self, columns: Iterable[str], *, numeric: bool = False) -> tuple[list[str], dict[str, str]]:
        """Split columns into those a check can judge and those it skips because schema reports them."""
        usable: list[str] = []
        skipped: dict[str, str] = {}
        for column in dict.fromkeys(columns):
            if column in self.missing:
                skipped[column] = "missing (reported by schema)"
            elif numeric and column in self.not_numeric:
                skipped[column] = f"not numeric, dtype {self.not_numeric[column]} (reported by schema)"
            else:
                usable.append(column)
        return usable, skipped


@dataclass(frozen=True)
class _ColumnVerdict:
    """One column's result within a per-column check."""

    column: str
    unexpected_count: int
    passed: bool
    threshold: float
    examples: tuple[str, ...] = ()
    error: str | None = None


def validate_day(frame: pd.DataFrame, monitor: MonitorConfig) -> list[CheckOutcome]:
    """Run every validation check on one day's inference log; one outcome per CHECK_NAMES, in order."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"validate_day needs a pandas DataFrame, got {type(frame).__name__}")
    day = _inspect(frame, monitor)
    rules = monitor.validation
    cols = monitor.columns

    null_limits = {column: rules.null_fraction_overrides.get(column, rules.max_null_fraction)
                   for column in [cols.request_id, cols.timestamp, *cols.features, *rules.null_fraction_overrides]}
    null_columns, null_skipped = day.usable(null_limits)
    category_columns, category_skipped = day.usable(rules.categories)
    range_columns, range_skipped = day.usable(rules.ranges, numeric=True)
    bounded_columns = [c for c in range_columns if rules.ranges[c].min is not None or rules.ranges[c].max is not None]
    id_columns, id_skipped = day.usable([cols.request_id] if rules.unique_request_ids else [])

    main_rules = {
        "schema": [Rule("ExpectTableColumnsToMatchSet",
                        {"column_set": sorted(cols.declared()), "exact_match": False})],
        "nulls": [Rule("ExpectColumnValuesToNotBeNull",
                       {"column": c, "mostly": max(0.0, 1.0 - null_limits[c] - MOSTLY_TOLERANCE)})
                  for c in null_columns],
        "categories": [Rule("ExpectColumnValuesToBeInSet", {"column": c, "value_set": rules.categories[c]})
                       for c in category_columns],
        "unique_request_ids": [Rule("ExpectColumnValuesToBeUnique", {"column": c}) for c in id_columns],
        "volume": [Rule("ExpectTableRowCountToBeBetween", {"min_value": rules.min_rows})],
    }
    range_rules = [Rule("ExpectColumnValuesToBeBetween",
                        {"column": c, "min_value": rules.ranges[c].min, "max_value": rules.ranges[c].max})
                   for c in bounded_columns]
    infinite = {c: _infinite_mask(day.frame[c]) for c in range_columns}
    finite_view = pd.DataFrame({c: day.frame[c].mask(infinite[c]) for c in bounded_columns})

    main_results, range_results = run_rules([
        (day.frame, [rule for check_rules in main_rules.values() for rule in check_rules]),
        (finite_view, range_rules),
    ])
    remaining = iter(main_results)
    results = {check: [next(remaining) for _ in check_rules] for check, check_rules in main_rules.items()}

    null_verdicts = [
        _ColumnVerdict(c, int(r.result.get("unexpected_count") or 0), r.success, null_limits[c], error=r.error)
        for c, r in zip(null_columns, results["nulls"])
    ]
    range_verdicts = _range_verdicts(day, range_columns, infinite, dict(zip(bounded_columns, range_results)))
    category_verdicts = [_map_verdict(c, r) for c, r in zip(category_columns, results["categories"])]
    id_verdicts = [_map_verdict(c, r) for c, r in zip(id_columns, results["unique_request_ids"])]

    return [
        _schema_outcome(monitor, day, results["schema"][0]),
        _column_outcome("nulls", monitor, day, null_verdicts, null_skipped, configured=True,
                        figure="null_fraction", describe=lambda v: f"null, allowed {_percent(v.threshold)}"),
        _column_outcome("ranges", monitor, day, range_verdicts, range_skipped, configured=bool(rules.ranges),
                        figure="out_of_range_fraction",
                        describe=lambda v: f"outside {_interval(monitor, v.column)} or infinite"),
        _column_outcome("categories", monitor, day, category_verdicts, category_skipped,
                        configured=bool(rules.categories), figure="unexpected_category_fraction",
                        describe=lambda v: f"not in the {len(rules.categories[v.column])} allowed values"),
        _column_outcome("unique_request_ids", monitor, day, id_verdicts, id_skipped,
                        configured=rules.unique_request_ids, figure="duplicate_id_fraction",
                        describe=lambda v: "share their id with another row"),
        _volume_outcome(monitor, day, results["volume"][0]),
    ]


def outcomes_to_metrics(outcomes: Sequence[CheckOutcome]) -> list[Metric]:
    """Area "validation": per check ``check_passed`` (1/0, segment = check name), then its per-column figures.

    A check that fails has status WARN or FAIL by its severity; a figure that could not be computed
    (no rows) is MISSING.
    """
    metrics: list[Metric] = []
    for outcome in outcomes:
        failed = Status.FAIL if outcome.severity == "ERROR" else Status.WARN
        metrics.append(Metric(area="validation", metric="check_passed", value=1.0 if outcome.passed else 0.0,
                              segment=outcome.name, status=Status.OK if outcome.passed else failed,
                              detail=outcome.description))
        for figure in outcome.metadata.get("figures", []):
            value = figure["value"]
            if not figure["passed"]:
                status = failed
            else:
                status = Status.MISSING if value is None else Status.OK
            metrics.append(Metric(area="validation", metric=figure["metric"],
                                  value=math.nan if value is None else float(value), feature=figure["feature"],
                                  threshold=figure["threshold"], status=status, detail=figure.get("detail", "")))
    return metrics


def _inspect(frame: pd.DataFrame, monitor: MonitorConfig) -> _Day:
    """Find missing, duplicated and wrongly typed columns; give GX unique column names and a plain index."""
    duplicated = tuple(dict.fromkeys(str(c) for c in frame.columns[frame.columns.duplicated()]))
    gx_frame = frame.loc[:, ~frame.columns.duplicated()].reset_index(drop=True)
    present = {c for c in gx_frame.columns if isinstance(c, str)}
    not_numeric = {c: str(gx_frame[c].dtype) for c in _numeric_columns(monitor)
                   if c in present and not _is_numeric(gx_frame[c].dtype)}
    return _Day(gx_frame, frozenset(monitor.columns.declared() - present), not_numeric, duplicated)


def _numeric_columns(monitor: MonitorConfig) -> list[str]:
    """Columns the pipeline does arithmetic on, so they must hold numbers."""
    cols = monitor.columns
    singles = [cols.score, cols.latency_ms, cols.prediction if monitor.task is Task.REGRESSION else None]
    return list(dict.fromkeys([*cols.numeric_features, *(c for c in singles if c), *monitor.validation.ranges]))


def _is_numeric(dtype: object) -> bool:
    """Numbers, not booleans. Decided with pandas: GX's type-list expectation rejects nullable Int64."""
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _infinite_mask(series: pd.Series) -> pd.Series:
    return series.isin([np.inf, -np.inf]).astype(bool)


def _schema_outcome(monitor: MonitorConfig, day: _Day, result: RuleResult) -> CheckOutcome:
    mismatched = (result.result.get("details") or {}).get("mismatched") or {}
    # GX's list and ours agree; the union guarantees every column another check skipped is reported here.
    missing = sorted(set(mismatched.get("missing") or []) | day.missing)
    problems = []
    if result.error:
        problems.append(f"GX could not compare the columns: {result.error}")
    if missing:
        problems.append(f"missing column(s): {_names(missing)}")
    if day.not_numeric:
        problems.append("not numeric: " + ", ".join(f"'{c}' has dtype {t}" for c, t in day.not_numeric.items()))
    if day.duplicated:
        problems.append(f"column name(s) appearing more than once: {_names(day.duplicated)} (the first is used)")
    figures = ([_figure("column_missing", c, 1.0, None, False) for c in missing]
               + [_figure("column_not_numeric", c, 1.0, None, False, detail=f"dtype {t}")
                  for c, t in day.not_numeric.items()]
               + [_figure("column_duplicated", c, 1.0, None, False) for c in day.duplicated])
    passed = result.success and not problems
    declared = monitor.columns.declared()
    description = ("; ".join(problems) if problems
                   else f"all {len(declared)} declared columns present; numeric columns hold numbers")
    return CheckOutcome(
        name="schema", passed=passed, severity=monitor.validation.severity_of("schema").value,
        description=description,
        metadata={"missing_columns": missing, "not_numeric_columns": dict(day.not_numeric),
                  "duplicated_columns": list(day.duplicated), "observed_columns": [str(c) for c in day.frame.columns],
                  "figures": figures},
        examples=tuple([*missing, *day.not_numeric, *day.duplicated][:EXAMPLE_LIMIT]),
    )


def _volume_outcome(monitor: MonitorConfig, day: _Day, result: RuleResult) -> CheckOutcome:
    min_rows = monitor.validation.min_rows
    passed = result.success and result.error is None
    description = f"{day.rows} row(s), at least {min_rows} required"
    if result.error:
        description += f"; GX could not count the rows: {result.error}"
    return CheckOutcome(
        name="volume", passed=passed, severity=monitor.validation.severity_of("volume").value,
        description=description,
        metadata={"rows": day.rows, "min_rows": min_rows,
                  "figures": [_figure("row_count", "", float(day.rows), float(min_rows), passed)]},
    )


def _map_verdict(column: str, result: RuleResult) -> _ColumnVerdict:
    """A column-map expectation (in set, unique): every unexpected non-null value fails the column."""
    return _ColumnVerdict(column, int(result.result.get("unexpected_count") or 0), result.success, 0.0,
                          _distinct_strings(result.result.get("partial_unexpected_list") or []), result.error)


def _range_verdicts(day: _Day, columns: list[str], infinite: dict[str, pd.Series],
                    gx_results: dict[str, RuleResult]) -> list[_ColumnVerdict]:
    """Out of range = outside the bounds (judged by GX on finite values) or infinite (counted here)."""
    verdicts = []
    for column in columns:
        series = day.frame[column]
        infinite_values = series[infinite[column]].drop_duplicates().tolist()
        # A range with neither bound only asks for finite values, so GX has nothing to judge.
        gx_result = gx_results.get(column, RuleResult(success=True, result={}))
        out_of_range = int(gx_result.result.get("unexpected_count") or 0) + int(infinite[column].sum())
        examples = _distinct_strings([*(gx_result.result.get("partial_unexpected_list") or []), *infinite_values])
        passed = gx_result.success and out_of_range == 0
        verdicts.append(_ColumnVerdict(column, out_of_range, passed, 0.0, examples, gx_result.error))
    return verdicts


def _column_outcome(check: str, monitor: MonitorConfig, day: _Day, verdicts: list[_ColumnVerdict],
                    skipped: dict[str, str], *, configured: bool, figure: str,
                    describe: Callable[[_ColumnVerdict], str]) -> CheckOutcome:
    """Shared shape of the per-column checks: verdicts become the description, metadata and figures.

    ``describe`` words what a failing column's unexpected rows are, after "N of M rows (x%)".
    """
    rows = day.rows
    failing = [v for v in verdicts if not v.passed]
    if not configured:
        description = NO_RULES
    elif failing:
        description = "; ".join(
            f"'{v.column}': GX could not evaluate it: {v.error}" if v.error
            else f"'{v.column}': {_share(v.unexpected_count, rows)} {describe(v)}"
            for v in failing)
    elif not verdicts:
        description = "no column could be checked"
    elif rows == 0:
        description = NO_ROWS
    else:
        description = f"{len(verdicts)} column(s) checked, all within limits"
    for reason in dict.fromkeys(skipped.values()):
        description += f"; skipped as {reason}: {_names(c for c, why in skipped.items() if why == reason)}"

    def fraction(verdict: _ColumnVerdict) -> float | None:
        return verdict.unexpected_count / rows if rows else None

    metadata = {
        "rows": rows,
        "failing_columns": [v.column for v in failing],
        "unexpected_count": {v.column: v.unexpected_count for v in failing},
        "unexpected_percent": {v.column: 100.0 * v.unexpected_count / rows for v in failing if rows},
        figure: {v.column: fraction(v) for v in failing},
        "skipped_columns": dict(skipped),
        "figures": [_figure(figure, v.column, fraction(v), v.threshold, v.passed) for v in verdicts],
    }
    errors = {v.column: v.error for v in verdicts if v.error}
    if errors:
        metadata["errors"] = errors
    examples = [example for v in failing for example in v.examples]
    return CheckOutcome(name=check, passed=not failing, severity=monitor.validation.severity_of(check).value,
                        description=description, metadata=metadata,
                        examples=tuple(dict.fromkeys(examples))[:EXAMPLE_LIMIT])


def _figure(metric: str, feature: str, value: float | None, threshold: float | None, passed: bool,
            detail: str = "") -> dict:
    return {"metric": metric, "feature": feature, "value": value, "threshold": threshold, "passed": passed,
            "detail": detail}


def _distinct_strings(values: Iterable[object]) -> tuple[str, ...]:
    """The first few distinct offending values, raw (escaping is the renderer's job)."""
    return tuple(dict.fromkeys(str(v) for v in values))[:EXAMPLE_LIMIT]


def _names(columns: Iterable[str]) -> str:
    return ", ".join(f"'{c}'" for c in columns)


def _share(count: int, rows: int) -> str:
    return f"{count} of {rows} rows ({_percent(count / rows)})" if rows else f"{count} of 0 rows"


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.3g}%"


def _interval(monitor: MonitorConfig, column: str) -> str:
    bounds = monitor.validation.ranges[column]
    low = "-inf" if bounds.min is None else f"{bounds.min:g}"
    high = "+inf" if bounds.max is None else f"{bounds.max:g}"
    return f"[{low}, {high}]"
