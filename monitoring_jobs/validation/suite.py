"""Data validation of one model-day with Great Expectations: the checks of ``CHECK_NAMES``.

Each check becomes one CheckOutcome (a Dagster asset check, a report row, an alert) and, through
``outcomes_to_metrics``, rows of the metric store. Table-level checks live in ``table_checks``;
this module runs the column rules (nulls, ranges, categories, unique ids, prediction range, model
versions) with GX and merges the monitor config's rules with a profiled suite's.

Decisions worth knowing:
- Rules come from the config and from the profiled suite (``profile.ProfiledSuite``). Per check and
  column the config wins: a suite rule is dropped when the config has a rule of the same check on the
  same column (for nulls, ``max_null_fraction`` is the config's rule for request id, timestamp and
  features). Config rules have the check's configured severity; suite rules carry their own. A failed
  check is ERROR when any of its failed rules is ERROR, else WARN; a passed check reports the highest
  severity it could have failed with (``check_severities``).
- A declared column missing from the frame (or a column that should be numeric but is not) is
  reported once, by ``schema``. The other checks skip that column and say so in their description,
  so one missing column does not fail four checks. A check whose columns are all skipped passes.
- GX counts the unexpected values; the verdict "at most (1 - mostly) of the values are unexpected"
  is taken from those counts here, so ``mostly`` means the same for every rule and the floating-point
  edge is decided in one place (GX fails 7 nulls in 10 rows against mostly=0.3). The share is of all
  rows for nulls, of the non-null values otherwise (as in GX).
- Ranges count +inf and -inf as out of range. GX never sees them: they are masked to null (GX ignores
  nulls in range expectations) and counted with pandas. Nulls (NaN) are the ``nulls`` check's
  business: ranges, categories, ids and outputs ignore them, so a score that is null on failed
  requests is not also "out of range".
- Per-column figures are fractions of all rows of the day; ``unexpected_percent`` in the metadata is
  likewise a share of all rows. ``failing_share`` is the largest such fraction among the failed rules.
- Model versions are compared as strings (the config lists strings; the profile stores strings).
- Offending values, column names from the data and versions are passed through
  ``display.display_safe``: at most 5 examples of at most 80 characters, control characters escaped.
- In the metric store, ``check_passed`` carries the check name in ``segment`` (one row per check);
  per-column figures carry the column in ``feature`` and an empty segment.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from monitoring_jobs.config import VALIDATION_CHECKS, MonitorConfig, Severity, Task
from monitoring_jobs.metrics import CheckOutcome, Metric, Status
from monitoring_jobs.validation.day import InspectedDay, inspect_day
from monitoring_jobs.validation.direct_runner import run_rules_directly
from monitoring_jobs.validation.display import display_safe, names, percent, safe_examples, share
from monitoring_jobs.validation.display import figure as make_figure
from monitoring_jobs.validation.gx_runner import Rule, RuleResult, run_rules
from monitoring_jobs.validation.profile import (
    BETWEEN,
    COLUMNS_MATCH,
    IN_SET,
    KINDS,
    NOT_NULL,
    UNIQUE,
    Expectation,
    ProfiledSuite,
)
from monitoring_jobs.validation.table_checks import (
    freshness_outcome,
    schema_drift_outcome,
    schema_outcome,
    volume_outcome,
    volume_trend_outcome,
)

CHECK_NAMES = VALIDATION_CHECKS
COLUMN_CHECKS = ("nulls", "ranges", "categories", "unique_request_ids", "prediction_range", "model_versions")
CONFIG_SOURCE = "config"
NO_RULES = "no rules configured"
NO_ROWS = "no rows to check"
FIGURE_METRICS = {
    "nulls": "null_fraction",
    "ranges": "out_of_range_fraction",
    "categories": "unexpected_category_fraction",
    "unique_request_ids": "duplicate_id_fraction",
    "prediction_range": "invalid_output_fraction",
    "model_versions": "unknown_model_version_fraction",
}
# "At most this share unexpected" is compared with this much slack, far below one row in a trillion.
SHARE_TOLERANCE = 1e-12
VERSIONS_SHOWN = 20
DESCRIBED_EXAMPLES = 3  # offending values quoted in a failing rule's description (all 5 are in the examples)


@dataclass(frozen=True)
class ValidationContext:
    """What validation knows about the day beyond its rows; every field is optional.

    ``day``: the partition's UTC day (freshness); ``suite``: rules profiled from the reference;
    ``reference_schema``: column -> kind of today's reference (schema_drift; else the suite's kinds);
    ``trailing_row_counts``: row counts of the previous days that had data, oldest first (volume_trend);
    ``naive_timestamp_rows``: rows whose timestamp had no timezone and were read as UTC by the ingest;
    ``report_url``: link to the day's report data-quality section, put in every outcome's metadata.
    """

    day: dt.date | None = None
    suite: ProfiledSuite | None = None
    reference_schema: Mapping[str, str] | None = None
    trailing_row_counts: Sequence[int] = ()
    naive_timestamp_rows: int = 0
    report_url: str | None = None

    def __post_init__(self) -> None:
        if self.day is not None and (not isinstance(self.day, dt.date) or isinstance(self.day, dt.datetime)):
            raise TypeError(f"day must be a datetime.date (the partition's UTC day), got {self.day!r}")
        if self.suite is not None and not isinstance(self.suite, ProfiledSuite):
            raise TypeError(f"suite must be a ProfiledSuite, got {type(self.suite).__name__}")
        if self.reference_schema is not None:
            bad = {c: k for c, k in self.reference_schema.items() if k not in KINDS}
            if bad:
                raise ValueError(f"reference_schema has unknown kind(s) {bad}; kinds are {', '.join(KINDS)}")
            object.__setattr__(self, "reference_schema", {str(c): k for c, k in self.reference_schema.items()})
        counts = tuple(self.trailing_row_counts)
        if not all(map(_is_count, counts)):
            raise ValueError(f"trailing_row_counts must be row counts (integers >= 0), got {list(counts)}")
        object.__setattr__(self, "trailing_row_counts", tuple(int(c) for c in counts))
        if not _is_count(self.naive_timestamp_rows):
            raise ValueError(f"naive_timestamp_rows must be an integer >= 0, got {self.naive_timestamp_rows!r}")
        object.__setattr__(self, "naive_timestamp_rows", int(self.naive_timestamp_rows))


def _is_count(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True)
class _Verdict:
    """One rule's result on the day."""

    rule: Expectation
    unexpected_count: int
    passed: bool
    examples: tuple = ()  # raw offending values; made safe for display once, in the outcome
    error: str | None = None

    @property
    def column(self) -> str:
        return str(self.rule.column)

    @property
    def allowed(self) -> float:
        return _allowed_share(self.rule)


def validate_day(frame: pd.DataFrame, monitor: MonitorConfig,
                 context: ValidationContext | None = None) -> list[CheckOutcome]:
    """Run every validation check on one day's inference log; one outcome per CHECK_NAMES, in order."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"validate_day needs a pandas DataFrame, got {type(frame).__name__}")
    context = context or ValidationContext()
    rules = _merged_rules(monitor, context.suite)
    severities = _max_severities(monitor, context.suite, rules)
    day = inspect_day(frame, monitor.columns.declared(), _numeric_columns(monitor, rules))

    usable: dict[str, list[Expectation]] = {}
    skipped: dict[str, dict[str, str]] = {}
    for check in COLUMN_CHECKS:
        usable[check], skipped[check] = [], {}
        for rule in rules[check]:
            ok, why = day.usable([str(rule.column)], numeric=rule.type == BETWEEN)
            usable[check] += [rule] if ok else []
            skipped[check].update(why)
    table_rules = [Rule("ExpectTableColumnsToMatchSet", {"column_set": sorted(monitor.columns.declared()),
                                                          "exact_match": False}),
                   Rule("ExpectTableRowCountToBeBetween", {"min_value": monitor.validation.min_rows})]
    column_rules = [rule for check in COLUMN_CHECKS for rule in usable[check]]
    runner = run_rules_directly if monitor.validation.engine == "direct" else run_rules
    column_verdicts, (schema_result, volume_result) = _evaluate(day, column_rules, table_rules, runner)
    remaining = iter(column_verdicts)
    verdicts = {check: [next(remaining) for _ in usable[check]] for check in COLUMN_CHECKS}
    suite_schema = next((e for e in context.suite.expectations if e.type == COLUMNS_MATCH), None) \
        if context.suite else None

    def column_outcome(check: str, **wording: str | None) -> CheckOutcome:
        return _column_outcome(check, day, verdicts[check], skipped[check], configured=bool(rules[check]),
                               severity_if_passed=severities[check], **wording)

    outcomes = {
        "schema": schema_outcome(monitor, day, schema_result),
        "schema_drift": schema_drift_outcome(monitor, day, context.reference_schema, suite_schema),
        "nulls": column_outcome("nulls"),
        "ranges": column_outcome("ranges"),
        "categories": column_outcome("categories"),
        "unique_request_ids": column_outcome("unique_request_ids"),
        "volume": volume_outcome(monitor, day, volume_result),
        "volume_trend": volume_trend_outcome(monitor, day.rows, context.trailing_row_counts),
        "freshness": freshness_outcome(monitor, day, context.day, context.naive_timestamp_rows),
        "prediction_range": column_outcome("prediction_range", no_rules=_no_output_rules(monitor)),
        "model_versions": _model_versions_outcome(monitor, day, column_outcome),
    }
    return [_with_report(outcomes[name], context.report_url) for name in CHECK_NAMES]


def check_severities(monitor: MonitorConfig, suite: ProfiledSuite | None) -> dict[str, Severity]:
    """Per check, the highest severity it can report: a Dagster check blocks when this is ERROR."""
    return _max_severities(monitor, suite, _merged_rules(monitor, suite))


def outcomes_to_metrics(outcomes: Sequence[CheckOutcome]) -> list[Metric]:
    """Area "validation": per check ``check_passed`` (1/0, segment = check name), then its per-column figures.

    A check that fails has status WARN or FAIL by its severity; a failed figure by its own rule's
    severity when it has one; a figure that could not be computed (no rows) is MISSING.
    """
    metrics: list[Metric] = []
    for outcome in outcomes:
        failed = Status.FAIL if outcome.severity == Severity.ERROR.value else Status.WARN
        metrics.append(Metric(area="validation", metric="check_passed", value=1.0 if outcome.passed else 0.0,
                              segment=outcome.name, status=Status.OK if outcome.passed else failed,
                              detail=outcome.description))
        for figure in outcome.metadata.get("figures", []):
            value = figure["value"]
            if not figure["passed"]:
                status = Status.FAIL if figure.get("severity", outcome.severity) == Severity.ERROR.value \
                    else Status.WARN
            else:
                status = Status.MISSING if value is None else Status.OK
            metrics.append(Metric(area="validation", metric=figure["metric"],
                                  value=math.nan if value is None else float(value), feature=figure["feature"],
                                  threshold=figure["threshold"], status=status, detail=figure.get("detail", "")))
    return metrics


# --- rules ---------------------------------------------------------------------------------------

def _config_rules(monitor: MonitorConfig) -> dict[str, list[Expectation]]:
    """The monitor config's column rules per check, in the shape of suite expectations."""
    rules = monitor.validation
    cols = monitor.columns

    def rule(type_: str, kwargs: dict, check: str) -> Expectation:
        return Expectation(type_, kwargs, check, rules.severity_of(check), {"source": CONFIG_SOURCE})

    null_columns = dict.fromkeys([cols.request_id, cols.timestamp, *cols.features, *rules.null_fraction_overrides])
    return {
        "nulls": [rule(NOT_NULL, {"column": c, "mostly": 1.0 - rules.null_fraction_overrides.get(
            c, rules.max_null_fraction)}, "nulls") for c in null_columns],
        "ranges": [rule(BETWEEN, {"column": c, "min_value": r.min, "max_value": r.max}, "ranges")
                   for c, r in rules.ranges.items()],
        "categories": [rule(IN_SET, {"column": c, "value_set": list(v)}, "categories")
                       for c, v in rules.categories.items()],
        "unique_request_ids": [rule(UNIQUE, {"column": cols.request_id}, "unique_request_ids")]
        if rules.unique_request_ids else [],
        "prediction_range": [rule(type_, kwargs, "prediction_range") for type_, kwargs in _output_rules(monitor)],
        "model_versions": [rule(IN_SET, {"column": cols.model_version, "value_set": list(rules.model_versions)},
                                "model_versions")] if cols.model_version and rules.model_versions else [],
    }


def _output_rules(monitor: MonitorConfig) -> list[tuple[str, dict]]:
    """What a valid model output is, by task; ``validation.prediction_range`` replaces the default range.

    Binary: score in [0, 1], prediction in {0, 1, positive label}. Regression: prediction in the range,
    else only finite. Multiclass: the range, when configured, on the score (else the prediction).
    """
    cols = monitor.columns
    configured = monitor.validation.prediction_range
    bounds = {"min_value": configured.min, "max_value": configured.max} if configured else None
    if monitor.task is Task.BINARY_CLASSIFICATION:
        found = [(BETWEEN, {"column": cols.score, **(bounds or {"min_value": 0.0, "max_value": 1.0})})]
        if cols.prediction:
            labels = list(dict.fromkeys([0, 1, monitor.performance.positive_label]))
            found.append((IN_SET, {"column": cols.prediction, "value_set": labels}))
        return found
    if monitor.task is Task.REGRESSION:
        return [(BETWEEN, {"column": cols.prediction, **(bounds or {"min_value": None, "max_value": None})})]
    return [(BETWEEN, {"column": cols.score or cols.prediction, **bounds})] if bounds else []


def _no_output_rules(monitor: MonitorConfig) -> str:
    if monitor.task is Task.MULTICLASS_CLASSIFICATION:
        return "skipped: a multiclass output has no range unless validation.prediction_range is set"
    return NO_RULES


def _merged_rules(monitor: MonitorConfig, suite: ProfiledSuite | None) -> dict[str, list[Expectation]]:
    """Config rules plus the suite's rules on (check, column) pairs the config does not cover."""
    merged = _config_rules(monitor)
    covered = {(check, rule.column) for check, rules in merged.items() for rule in rules}
    for expectation in suite.expectations if suite else ():
        if expectation.check in merged and (expectation.check, expectation.column) not in covered:
            merged[expectation.check].append(expectation)
    return merged


def _max_severities(monitor: MonitorConfig, suite: ProfiledSuite | None,
                    rules: Mapping[str, list[Expectation]]) -> dict[str, Severity]:
    configured = {check: monitor.validation.severity_of(check) for check in CHECK_NAMES}
    schema_rules = [e for e in suite.expectations if e.type == COLUMNS_MATCH] if suite else []
    possible = {check: [r.severity for r in rules.get(check, [])] or [configured[check]] for check in CHECK_NAMES}
    possible["schema_drift"] = [configured["schema_drift"], *(e.severity for e in schema_rules)]
    return {check: _worst(severities) for check, severities in possible.items()}


def _worst(severities: Iterable[Severity]) -> Severity:
    return Severity.ERROR if Severity.ERROR in set(severities) else Severity.WARN


def _numeric_columns(monitor: MonitorConfig, rules: Mapping[str, list[Expectation]]) -> list[str]:
    """Columns the pipeline does arithmetic on or ranges from the config, so they must hold numbers."""
    cols = monitor.columns
    singles = [cols.score, cols.latency_ms, cols.prediction if monitor.task is Task.REGRESSION else None]
    config_ranged = [str(r.column) for check in ("ranges", "prediction_range") for r in rules[check]
                     if r.type == BETWEEN and r.source == CONFIG_SOURCE]
    return list(dict.fromkeys([*cols.numeric_features, *(c for c in singles if c), *config_ranged]))


def _allowed_share(rule: Expectation) -> float:
    """The share of values a rule lets fail: 1 - mostly, rounded so 1 - (1 - 0.05) reads 0.05."""
    return round(1.0 - float(rule.kwargs.get("mostly", 1.0)), 12)


# --- evaluation ----------------------------------------------------------------------------------

def _evaluate(day: InspectedDay, rules: list[Expectation], table_rules: list[Rule],
              runner: Callable[[list], list[list[RuleResult]]]) -> tuple[list[_Verdict], list[RuleResult]]:
    """Run the column rules (verdicts in their order) and the table rules (on the day) in one go, with GX or
    the direct runner.

    Three frames: the day itself; the ranged columns with infinities masked to null; the model
    version columns as strings. Identical GX rules (a range in both ``ranges`` and
    ``prediction_range``) run once, as GX drops duplicates within a suite.
    """
    def frame_of(rule: Expectation) -> int:
        return 1 if rule.type == BETWEEN else 2 if rule.check == "model_versions" else 0

    ranged = list(dict.fromkeys(str(r.column) for r in rules if frame_of(r) == 1))
    infinite = {c: _infinite_mask(day.frame[c]) for c in ranged}
    frames = [day.frame,
              pd.DataFrame({c: day.frame[c].mask(infinite[c]) for c in ranged}),
              pd.DataFrame({str(r.column): day.frame[r.column].astype("string") for r in rules if frame_of(r) == 2})]
    gx_rules: list[dict[str, Rule]] = [{}, {}, {}]
    for rule in rules:
        gx_rule = _gx_rule(rule)
        if gx_rule is not None:
            gx_rules[frame_of(rule)].setdefault(_rule_key(gx_rule), gx_rule)
    batches = [list(found.values()) for found in gx_rules]
    results = runner([(frame, batch + (table_rules if position == 0 else []))
                         for position, (frame, batch) in enumerate(zip(frames, batches))])
    by_key = [dict(zip(found, batch_results)) for found, batch_results in zip(gx_rules, results)]

    verdicts = []
    for rule in rules:
        gx_rule = _gx_rule(rule)
        # A range with neither bound only asks for finite values, so GX has nothing to judge.
        gx_result = by_key[frame_of(rule)][_rule_key(gx_rule)] if gx_rule else RuleResult(success=True, result={})
        unexpected = int(gx_result.result.get("unexpected_count") or 0)
        # A null has nothing to show; other rules show a few of their unexpected values.
        examples = [] if rule.type == NOT_NULL else list(gx_result.result.get("partial_unexpected_list") or [])
        if rule.type == BETWEEN:
            mask = infinite[str(rule.column)]
            unexpected += int(mask.sum())
            examples += day.frame[rule.column][mask].drop_duplicates().tolist()
        considered = day.rows if rule.type == NOT_NULL else int(day.frame[rule.column].notna().sum())
        passed = gx_result.error is None and (
            considered == 0 or unexpected / considered <= _allowed_share(rule) + SHARE_TOLERANCE)
        verdicts.append(_Verdict(rule, unexpected, passed, tuple(examples), gx_result.error))
    return verdicts, results[0][len(batches[0]):]


def _gx_rule(rule: Expectation) -> Rule | None:
    """The GX rule that counts a rule's unexpected values (``mostly`` is judged from the counts), if any."""
    kwargs = {key: value for key, value in rule.kwargs.items() if key != "mostly"}
    if rule.type == BETWEEN and kwargs.get("min_value") is None and kwargs.get("max_value") is None:
        return None
    if "value_set" in kwargs:
        kwargs["value_set"] = list(dict.fromkeys(kwargs["value_set"]))
    return Rule("".join(part.capitalize() for part in rule.type.split("_")), kwargs)


def _rule_key(rule: Rule) -> str:
    return json.dumps([rule.expectation, rule.kwargs], sort_keys=True, default=str)


def _infinite_mask(series: pd.Series) -> pd.Series:
    return series.isin([np.inf, -np.inf]).astype(bool)


# --- outcomes ------------------------------------------------------------------------------------

def _column_outcome(check: str, day: InspectedDay, verdicts: list[_Verdict], skipped: dict[str, str], *,
                    configured: bool, severity_if_passed: Severity, no_rules: str = NO_RULES,
                    passed_summary: str | None = None) -> CheckOutcome:
    """Shared shape of the per-column checks: verdicts become the description, metadata and figures."""
    rows = day.rows
    failing = [v for v in verdicts if not v.passed]
    if not configured:
        description = no_rules
    elif failing:
        description = "; ".join(
            f"'{v.column}': GX could not evaluate it: {v.error}" if v.error
            else f"'{v.column}': {share(v.unexpected_count, rows)} {_describe(v)}" for v in failing)
    elif not verdicts:
        description = "no column could be checked"
    elif rows == 0:
        description = NO_ROWS
    else:
        description = passed_summary or f"{len(verdicts)} column(s) checked, all within limits"
    for reason in dict.fromkeys(skipped.values()):
        description += f"; skipped as {reason}: {names(c for c, why in skipped.items() if why == reason)}"

    def fraction(verdict: _Verdict) -> float | None:
        return verdict.unexpected_count / rows if rows else None

    figure_metric = FIGURE_METRICS[check]
    metadata = {
        "rows": rows,
        "failing_share": max((fraction(v) or 0.0 for v in failing), default=0.0),
        "failing_columns": list(dict.fromkeys(v.column for v in failing)),
        "unexpected_count": {v.column: v.unexpected_count for v in failing},
        "unexpected_percent": {v.column: 100.0 * v.unexpected_count / rows for v in failing if rows},
        figure_metric: {v.column: fraction(v) for v in failing},
        "failing_rules": [{"column": v.column, "source": v.rule.source, "severity": v.rule.severity.value}
                          for v in failing],
        "skipped_columns": dict(skipped),
        "figures": [make_figure(figure_metric, v.column, fraction(v), v.allowed, v.passed,
                                detail="" if v.rule.source == CONFIG_SOURCE else "suite rule",
                                severity=None if v.passed else v.rule.severity.value) for v in verdicts],
    }
    errors = {v.column: v.error for v in verdicts if v.error}
    if errors:
        metadata["errors"] = errors
    severity = _worst(v.rule.severity for v in failing) if failing else severity_if_passed
    return CheckOutcome(name=check, passed=not failing, severity=severity.value, description=description,
                        metadata=metadata, examples=safe_examples(e for v in failing for e in v.examples))


def _describe(verdict: _Verdict) -> str:
    """What a failing rule's unexpected rows are, after "N of M rows (x%)"."""
    rule = verdict.rule
    if rule.type == NOT_NULL:
        text = f"null, allowed {percent(verdict.allowed)}"
    else:
        if rule.type == BETWEEN:
            low, high = rule.kwargs.get("min_value"), rule.kwargs.get("max_value")
            text = "infinite" if low is None and high is None else \
                f"outside [{'-inf' if low is None else f'{low:g}'}, {'+inf' if high is None else f'{high:g}'}] " \
                "or infinite"
        elif rule.type == IN_SET:
            values = list(dict.fromkeys(rule.kwargs["value_set"]))
            text = (f"not in {{{', '.join(display_safe(v) for v in values)}}}" if len(values) <= 5
                    else f"not in the {len(values)} allowed values")
        else:
            text = "share their value with another row"
        if verdict.allowed:
            text += f", allowed {percent(verdict.allowed)} of non-null values"
        if verdict.examples:
            text += f", e.g. {names(list(dict.fromkeys(map(str, verdict.examples)))[:DESCRIBED_EXAMPLES])}"
    if rule.source != CONFIG_SOURCE:
        text += f" ({rule.severity.value}, suite rule)"
    return text


def _model_versions_outcome(monitor: MonitorConfig, day: InspectedDay,
                            column_outcome: Callable[..., CheckOutcome]) -> CheckOutcome:
    """The generic column outcome, plus the versions seen (value counts) in the metadata and description."""
    column = monitor.columns.model_version
    if not column:
        return column_outcome("model_versions", no_rules="no model_version column configured")
    seen = ""
    counts: dict[str, int] = {}
    if column in day.frame.columns and day.rows:
        values = day.frame[column].astype("string").value_counts(dropna=True)
        counts = {display_safe(v): int(n) for v, n in values.head(VERSIONS_SHOWN).items()}
        seen = "versions seen: " + ", ".join(f"{v} ({n:,} rows)" for v, n in counts.items())
        if len(values) > VERSIONS_SHOWN:
            seen += f" and {len(values) - VERSIONS_SHOWN} more"
    outcome = column_outcome(
        "model_versions", passed_summary=seen or None,
        no_rules="no list of known versions (set validation.model_versions or profile the reference)"
                 + (f"; {seen}" if seen else ""))
    description = outcome.description if outcome.passed or not seen else f"{outcome.description}; {seen}"
    return replace(outcome, description=description, metadata={**outcome.metadata, "versions": counts})


def _with_report(outcome: CheckOutcome, report_url: str | None) -> CheckOutcome:
    return outcome if report_url is None else replace(outcome, metadata={**outcome.metadata, "report": report_url})
