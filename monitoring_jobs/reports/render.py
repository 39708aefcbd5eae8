"""Static HTML reports: one self-contained page per model-day, and an index of all of them.

A stakeholder opens one file and reads, without help, whether the day is fine and, if not, why.
Pages embed their charts as base64 PNG and carry inline CSS; they load nothing from anywhere, so
they work from a file share, a mail attachment or an air-gapped network. The same PNGs are written
next to the page for slides and chat. Every value from data is escaped by Jinja's autoescape;
nothing in this module marks text as safe.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import hashlib
import math
import os
import re
import tempfile
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from monitoring_jobs.config import (
    CLASSIFICATION_METRICS,
    ESTIMATED_METRICS,
    MULTICLASS_METRICS,
    REGRESSION_METRICS,
    Bound,
    MonitorConfig,
    Task,
)
from monitoring_jobs.metrics import CheckOutcome, Metric, Status
from monitoring_jobs.operations import operations_bound
from monitoring_jobs.reports import charts, trends

HISTORY_COLUMNS = ("partition_date", "area", "metric", "feature", "segment", "value", "threshold", "status")
REQUIRED_HISTORY_COLUMNS = ("partition_date", "area", "metric", "value")
TREND_DAYS = 30
TOP_STABLE_DISTRIBUTIONS = 6  # besides every drifted feature, the next most shifted ones
MAX_DISTRIBUTIONS = 24  # keeps a 100-feature report under 2 MB even when most features drift
MAX_DRIFT_BARS = 40
MAX_EXAMPLES = 5
EXAMPLE_CHARS = 80
MAX_LISTED = 3  # failures named in one summary sentence
SMALLEST_P_VALUE = 1e-300

METHOD_LABELS = {  # the first key found in a metric name wins; "ks" is last, being the likeliest accidental match
    "jensenshannon": "Jensen-Shannon distance",
    "wasserstein": "normed Wasserstein",
    "cramervonmises": "Cramér-von Mises",
    "anderson": "Anderson-Darling",
    "hellinger": "Hellinger distance",
    "totalvariation": "total variation distance",
    "linf": "L-infinity distance",
    "gtest": "G-test",
    "ztest": "Z-test",
    "chi2": "chi-squared",
    "psi": "PSI",
    "ks": "KS",
}
ADJUSTED_P_VALUES = {"bh": "BH-adjusted", "bonferroni": "Bonferroni-adjusted"}  # suffix of the metric name
SAMPLE_SIZE_METRICS = ("reference_rows", "current_rows")
METRIC_LABELS = {
    "roc_auc": "ROC AUC", "accuracy": "accuracy", "precision": "precision", "recall": "recall", "f1": "F1",
    "log_loss": "log loss", "mae": "MAE", "rmse": "RMSE", "r2": "R²", "row_count": "rows",
    "pr_auc": "PR AUC", "brier_score": "Brier score", "ece": "expected calibration error", "mape": "MAPE",
    "f1_weighted": "weighted F1", "mean_error": "mean error",
    "latency_p50_ms": "p50 latency", "latency_p95_ms": "p95 latency", "latency_p99_ms": "p99 latency",
    "error_rate": "error rate", "mean_confidence": "mean confidence", "label_coverage": "label coverage",
    "daily_cost_usd": "daily cost", "cost_per_request_usd": "cost per request",
}
DEFAULT_MAIN_METRIC = {Task.BINARY_CLASSIFICATION: "roc_auc", Task.MULTICLASS_CLASSIFICATION: "accuracy",
                       Task.REGRESSION: "mae"}
LATENCY_METRICS = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")
HEADLINE_OPERATIONS = ("latency_p95_ms", "error_rate", "daily_cost_usd")
HOURLY_METRIC = "requests_per_hour"  # 24 rows a day: shown as one row of hours, not 24 table rows
VERDICT_METRICS = ("drift_detected", "prediction_drift", "dataset_drift", "check_passed")  # 1/0, shown as yes/no
CHECK_VERDICT_METRIC = "check_passed"  # repeats a row of the checks table, so not listed again beneath it
STATUS_ORDER = {Status.FAIL: 0, Status.WARN: 1, Status.MISSING: 2, Status.OK: 3, Status.INFO: 4}
PERFORMANCE_GRID_METRICS = tuple(dict.fromkeys((
    *CLASSIFICATION_METRICS, *MULTICLASS_METRICS, *(m for m in REGRESSION_METRICS if not m.startswith("residual_")),
    "label_coverage", "labeled_rows")))
FAIRNESS_PREFIXES = ("worst_segment_", "segment_gap_")  # the segment fairness view (performance/segments.py)
# A check whose name contains the word belongs to that section ("feature_drift", "operational_thresholds");
# every other check is a data-quality (validation) check.
CHECK_NAME_AREAS = {"drift": "drift", "performance": "performance", "operation": "operations", "budget": "operations"}
JUDGED = (Status.OK, Status.WARN, Status.FAIL)


# --- presentation of statuses and numbers -------------------------------------------------------------------

@dataclass(frozen=True)
class Badge:
    """A status shown three ways (colour via ``css``, symbol, word), so it survives greyscale and screen readers."""

    css: str
    symbol: str
    text: str


BADGES = {
    "ok": Badge("ok", "✔", "OK"),
    "warn": Badge("warn", "▲", "Warning"),
    "fail": Badge("fail", "✖", "Failed"),
    "missing": Badge("missing", "◌", "No data"),
    "info": Badge("info", "", "—"),
}
DAY_STATUSES = ("fail", "warn", "ok", "missing")


def _badge(status: Status | str) -> Badge:
    return BADGES[Status(status).value]


def format_number(value: float | None) -> str:
    """Three significant digits, thousands separators for large values, a dash for no value."""
    if value is None or math.isnan(value := float(value)):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value == 0:
        return "0"  # also for -0.0
    rounded = float(f"{value:.3g}")
    return f"{rounded:,.0f}" if abs(rounded) >= 1000 else f"{rounded:.3g}"


def is_share(metric: str) -> bool:
    return metric.endswith(("_rate", "share", "_fraction", "coverage"))


def _is_count(metric: str) -> bool:
    return metric.endswith(("_count", "_rows", "_ids", "_labels", "_tokens")) or metric.startswith("n_")


def format_value(metric: str, value: float | None) -> str:
    """Shares and rates as percentages, counts as integers, latencies in ms, the rest with 3 significant digits."""
    if value is None or not math.isfinite(float(value)):
        return format_number(value)
    if metric in VERDICT_METRICS:
        return "yes" if value else "no"
    if is_share(metric):
        return format_number(float(value) * 100) + "%"
    if _is_count(metric) and float(value).is_integer():
        return f"{int(value):,}"
    if metric.endswith("_ms"):
        return format_number(value) + " ms"
    if metric.endswith("_usd"):
        return format_number(value) + " USD"
    return format_number(value)


def metric_label(metric: str) -> str:
    if metric.startswith("estimated_"):
        return "estimated " + metric_label(metric.removeprefix("estimated_"))
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


def interval_text(metric: Metric) -> str:
    """"[0.79, 0.83]": the figure's confidence interval, or "" when it has none."""
    ends = (metric.lower, metric.upper)
    if any(end is None or not math.isfinite(end) for end in ends):
        return ""
    return f"[{format_value(metric.metric, metric.lower)}, {format_value(metric.metric, metric.upper)}]"


def value_with_interval(metric: Metric) -> str:
    return " ".join(part for part in (format_value(metric.metric, metric.value), interval_text(metric)) if part)


def capitalised(text: str) -> str:
    """Sentence case, leaving names like "p95 latency" alone."""
    return text if text[1:2].isdigit() else text[:1].upper() + text[1:]


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def format_limit(metric: str, value: float | None) -> str:
    """A threshold as an amount: "0.10" rather than "0.1", as in "against a threshold of 0.10"."""
    text = format_value(metric, value)
    return text + "0" if re.fullmatch(r"-?0\.\d", text) else text


def against_text(metric: str, bound: Bound | None, threshold: float | None = None) -> str:
    """"against a minimum of 0.75", "against a threshold of 0.10"; "" when the figure has no limit."""
    if metric in VERDICT_METRICS:
        return ""
    if bound is not None:
        low, high = format_limit(metric, bound.min), format_limit(metric, bound.max)
        if bound.min is not None and bound.max is not None:
            return f"against an allowed range of {low} to {high}"
        return f"against a minimum of {low}" if bound.min is not None else f"against a maximum of {high}"
    return f"against a threshold of {format_limit(metric, threshold)}" if threshold is not None else ""


def bound_text(metric: str, bound: Bound | None, threshold: float | None = None) -> str:
    """"≥ 0.75", "≤ 5%", "0.6 – 0.9" from a config bound; the bare threshold when no bound is configured."""
    if metric in VERDICT_METRICS:
        return "—"  # its threshold belongs to the statistic it judges, shown on that row
    if bound is not None:
        low, high = format_value(metric, bound.min), format_value(metric, bound.max)
        if bound.min is not None and bound.max is not None:
            return f"{low} – {high}"
        return f"≥ {low}" if bound.min is not None else f"≤ {high}"
    return format_value(metric, threshold) if threshold is not None else "—"


# --- the day's status ------------------------------------------------------------------------------------------

def day_status(checks: list[CheckOutcome], metrics: list[Metric]) -> str:
    """Worst of the day: a failed ERROR check or a FAIL metric fails it, any other failure warns.

    "ok" needs something judged (a check, or a metric with status ok); with nothing judged the day is "missing".
    """
    failed = [c for c in checks if not c.passed]
    if any(c.severity.upper() == "ERROR" for c in failed) or any(m.status == Status.FAIL for m in metrics):
        return "fail"
    if failed or any(m.status == Status.WARN for m in metrics):
        return "warn"
    if checks or any(m.status == Status.OK for m in metrics):
        return "ok"
    return "missing"


# --- inputs ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportInput:
    monitor: MonitorConfig
    partition_date: dt.date
    row_count: int
    checks: list[CheckOutcome]  # validation checks + metric checks of the day
    metrics: list[Metric]  # all metrics of the day (areas: validation, drift, performance, operations)
    reference: pd.DataFrame | None  # for distribution plots; None: no reference yet
    current: pd.DataFrame | None  # None when the day was blocked by failed validation
    history: pd.DataFrame  # long rows of earlier days, columns HISTORY_COLUMNS
    notes: tuple[str, ...] = ()  # plain sentences, e.g. why drift was not computed


@dataclass(frozen=True)
class DayCell:
    model: str
    partition_date: dt.date
    status: str  # one of DAY_STATUSES
    summary: str  # short plain text such as "2 checks failed"


def clean_history(history: pd.DataFrame | None) -> pd.DataFrame:
    """History with real dates, numeric values and "" for whole-day rows; unreadable rows are an error, not dropped."""
    if history is None or history.empty:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in HISTORY_COLUMNS})
    missing = [c for c in REQUIRED_HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history is missing column(s) {missing}; expected columns {list(HISTORY_COLUMNS)}")
    frame = history.copy()
    dates = pd.to_datetime(frame["partition_date"], errors="coerce", format="ISO8601")
    if dates.isna().any():
        bad = frame.loc[dates.isna(), "partition_date"].head(3).tolist()
        raise ValueError(f"history has unreadable partition_date value(s), e.g. {bad}")
    frame["partition_date"] = dates.dt.date
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    for column in ("feature", "segment"):
        frame[column] = frame[column].fillna("").astype(str) if column in frame.columns else ""
    return frame


def _normalised(metric: Metric) -> Metric:
    """Metrics read back from a store may carry None for "" and plain strings for statuses."""
    return dataclasses.replace(metric, feature=metric.feature or "", segment=metric.segment or "",
                               value=math.nan if metric.value is None else float(metric.value),
                               status=Status(metric.status), detail=metric.detail or "")


# --- view models -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckRow:
    name: str
    severity: str
    description: str
    examples: list[str]
    badge: Badge


def _check_row(check: CheckOutcome) -> CheckRow:
    status = "ok" if check.passed else "fail" if check.severity.upper() == "ERROR" else "warn"
    examples = [e if len(e) <= EXAMPLE_CHARS else e[: EXAMPLE_CHARS - 1] + "…"
                for e in map(str, check.examples[:MAX_EXAMPLES])]
    if len(check.examples) > MAX_EXAMPLES:
        examples.append(f"… and {len(check.examples) - MAX_EXAMPLES:,} more")
    return CheckRow(check.name, check.severity, check.description, examples, BADGES[status])


def _check_area(check: CheckOutcome) -> str:
    name = check.name.lower()
    return next((area for word, area in CHECK_NAME_AREAS.items() if word in name), "validation")


@dataclass(frozen=True)
class MetricRow:
    name: str
    feature: str
    segment: str
    value: str
    bound: str
    badge: Badge
    detail: str


def _bound_of(monitor: MonitorConfig, metric: Metric) -> Bound | None:
    if metric.area == "performance":
        return monitor.performance.thresholds.get(metric.metric)
    if metric.area == "operations" and not metric.segment:  # per-status rates are shown, not judged
        return operations_bound(monitor, metric.metric)
    return None


def _metric_row(monitor: MonitorConfig, metric: Metric) -> MetricRow:
    return MetricRow(capitalised(metric_label(metric.metric)), metric.feature, metric.segment,
                     value_with_interval(metric),
                     bound_text(metric.metric, _bound_of(monitor, metric), metric.threshold),
                     _badge(metric.status), metric.detail)


def _metric_phrase(monitor: MonitorConfig, metric: Metric) -> str:
    """"recall for region=north 0.41 against a minimum of 0.50": one figure named in a sentence."""
    where = f" for {metric.segment}" if metric.segment else f" of {metric.feature}" if metric.feature else ""
    limit = against_text(metric.metric, _bound_of(monitor, metric), metric.threshold)
    return f"{metric_label(metric.metric)}{where} {value_with_interval(metric)}" + (
        f" {limit}" if limit else "")


def _bounds_phrase(monitor: MonitorConfig, metrics: list[Metric], already_named: tuple[Metric, ...] = ()) -> str:
    """"2 of 9 figures out of bounds: ..." naming the first few, except those the sentence has just named."""
    judged = [m for m in metrics if m.status in JUDGED]
    flagged = [m for m in judged if m.failed]
    if not judged:
        too_little = any(m.status == Status.MISSING for m in metrics)
        return "nothing judged yet (too little data)" if too_little else "no thresholds are configured"
    if not flagged:
        return "all figures within bounds"
    to_name = [m for m in flagged if not any(m is named for named in already_named)]
    named = "; ".join(_metric_phrase(monitor, m) for m in to_name[:MAX_LISTED])
    more = f" and {len(to_name) - MAX_LISTED} more" if len(to_name) > MAX_LISTED else ""
    return f"{len(flagged)} of {plural(len(judged), 'figure')} out of bounds" + (f": {named}{more}" if named else "")


@dataclass(frozen=True)
class DriftRow:
    """One column's drift verdict, read from its drift metrics (see ``_drift_rows``)."""

    feature: str
    role: str  # "feature", "model output" or "label"
    method_key: str
    method: str
    lower_is_drift: bool
    decision: float  # the figure compared with the threshold: a p-value for tests, a distance otherwise
    statistic: float | None
    p_value: float | None
    threshold: float | None
    status: Status
    detail: str
    reference_rows: float | None = None  # values compared on each side
    current_rows: float | None = None

    @property
    def is_output(self) -> bool:
        """The model's output or the label rather than an input feature."""
        return self.role != "feature"

    @property
    def sample_sizes(self) -> tuple[str, str]:
        """Values compared on each side, exact (a count is not rounded like a statistic)."""
        return tuple("—" if n is None or not math.isfinite(n) else f"{n:,.0f}"
                     for n in (self.reference_rows, self.current_rows))

    @property
    def drifted(self) -> bool | None:
        return None if self.status not in JUDGED else self.status in (Status.WARN, Status.FAIL)

    @property
    def strength(self) -> float:
        """How far past (>1) or short of (<1) its threshold the column is, comparable across methods."""
        if not math.isfinite(self.decision):
            return -math.inf
        if self.lower_is_drift:
            return (self.threshold or 1.0) / max(self.decision, SMALLEST_P_VALUE)
        return self.decision / self.threshold if self.threshold else self.decision

    @property
    def decision_text(self) -> str:
        return format_number(self.decision)

    @property
    def figure_text(self) -> str:
        """"normed Wasserstein 0.34 against a threshold of 0.10": the decision as a sentence names it."""
        return " ".join(filter(None, (self.method, self.decision_text, against_text("", None, self.threshold))))

    @property
    def verdict(self) -> str:
        return {True: "drifted", False: "stable", None: "not judged"}[self.drifted]

    @property
    def verdict_badge(self) -> Badge:
        base = _badge(self.status) if self.drifted is not None else BADGES["missing"]
        return Badge(base.css, base.symbol, self.verdict)

    @property
    def threshold_text(self) -> str:
        if self.threshold is None or not math.isfinite(self.threshold):
            return "—"
        return ("p < " if self.lower_is_drift else "≥ ") + format_number(self.threshold)


def _compact(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower()).replace("chisquared", "chi2").replace("chisquare", "chi2")


def _drift_row(monitor: MonitorConfig, feature: str, group: list[Metric]) -> DriftRow:
    """The decision is the statistic carrying a threshold; the statistic/p-value siblings of the same method
    fill the other columns ("ks_statistic" next to "ks_p_value_bh"); a 1/0 verdict metric gives the status
    when no statistic could be judged. A decision on a p-value drifts below its threshold."""
    verdict = next((m for m in group if m.metric in VERDICT_METRICS), None)
    sizes = {m.metric: m.value for m in group if m.metric in SAMPLE_SIZE_METRICS}
    measures = [m for m in group if m.metric not in VERDICT_METRICS and m.metric not in SAMPLE_SIZE_METRICS]
    decision = max(measures, key=lambda m: (m.threshold is not None, m.status in JUDGED), default=None)
    judge = decision if decision is not None and decision.status in JUDGED else verdict or decision
    status = Status.MISSING if judge is None else judge.status
    detail = next((m.detail for m in (verdict, decision) if m is not None and m.detail), "")
    role = ("feature" if feature in monitor.columns.features
            else "label" if feature == monitor.columns.label else "model output")
    if decision is None or decision.threshold is None:
        return DriftRow(feature, role, "", "—", False, math.nan, None, None, None, status, detail,
                        sizes.get("reference_rows"), sizes.get("current_rows"))
    name = _compact(decision.metric)
    key = next((k for k in METHOD_LABELS if k in name), decision.metric)
    lower_is_drift = "pvalue" in name
    label = METHOD_LABELS.get(key, metric_label(decision.metric))
    if lower_is_drift:
        adjusted = next((text for suffix, text in ADJUSTED_P_VALUES.items() if name.endswith(suffix)), "")
        label += f" p-value{f' ({adjusted})' if adjusted else ''}"
    elif "statistic" in name:
        label += " statistic"
    same_method = {_compact(m.metric): m.value for m in measures
                   if m is not decision and _compact(m.metric).startswith(key)}
    if lower_is_drift:
        p_value, statistic = decision.value, next((v for n, v in same_method.items() if "stat" in n), None)
    else:
        statistic, p_value = decision.value, next((v for n, v in same_method.items() if "pvalue" in n), None)
    return DriftRow(feature, role, key, label, lower_is_drift, float(decision.value), statistic, p_value,
                    decision.threshold, status, detail, sizes.get("reference_rows"), sizes.get("current_rows"))


def _drift_rows(monitor: MonitorConfig, metrics: list[Metric]) -> list[DriftRow]:
    """One row per column with drift metrics, strongest drift first; the method comes from the metric name."""
    by_feature: dict[str, list[Metric]] = {}
    for metric in metrics:
        if metric.area == "drift" and metric.feature:
            by_feature.setdefault(metric.feature, []).append(metric)
    rows = [_drift_row(monitor, feature, group) for feature, group in by_feature.items()]
    return sorted(rows, key=lambda r: r.strength, reverse=True)


def _drift_sentence(rows: list[DriftRow]) -> str:
    if not rows:
        return "Drift was not computed for this day."
    features = [r for r in rows if not r.is_output]
    judged = [r for r in features if r.drifted is not None]
    sentences = []
    if features and not judged:
        sentences.append("No feature could be judged for drift.")
    elif judged:
        top, drifted = judged[0], sum(bool(r.drifted) for r in judged)
        count = f"{drifted if drifted else 'None'} of {plural(len(judged), 'feature')}"
        sentences.append(f"{count} drifted; the {'largest' if drifted else 'closest'} is {top.feature}, "
                         f"{top.figure_text}.")
        if len(judged) < len(features):
            sentences.append(f"{plural(len(features) - len(judged), 'feature')} could not be judged.")
    for output in (r for r in rows if r.is_output):
        if output.drifted is None:
            sentences.append(f"The {output.role} {output.feature} could not be judged.")
        else:
            moved = "drifted" if output.drifted else "did not drift"
            sentences.append(f"The {output.role} {output.feature} {moved}: {output.figure_text}.")
    return " ".join(sentences)


def _quality_sentence(monitor: MonitorConfig, checks: list[CheckOutcome], metrics: list[Metric]) -> str:
    if not checks:
        return (capitalised(_bounds_phrase(monitor, metrics)) + "." if metrics
                else "No data-quality checks ran for this day.")
    failed = [c for c in checks if not c.passed]
    if not failed:
        return f"{len(checks)} of {plural(len(checks), 'check')} passed."
    named = ", ".join(f"{c.name} ({'error' if c.severity.upper() == 'ERROR' else 'warning'})"
                      for c in failed[:MAX_LISTED])
    more = ", …" if len(failed) > MAX_LISTED else ""
    return f"{len(failed)} of {plural(len(checks), 'check')} failed: {named}{more}."


def main_metric(monitor: MonitorConfig) -> str:
    """The headline performance metric: the first configured one, else the task's usual one."""
    known = REGRESSION_METRICS if monitor.task is Task.REGRESSION else CLASSIFICATION_METRICS
    return next((m for m in known if m in monitor.performance.thresholds), DEFAULT_MAIN_METRIC[monitor.task])


def _whole_day(metrics: list[Metric]) -> dict[str, Metric]:
    return {m.metric: m for m in metrics if not m.segment and not m.feature}


def _performance_sentence(monitor: MonitorConfig, metrics: list[Metric]) -> str:
    if not metrics:
        if monitor.labels is None:
            return "No performance figures: this monitor has no label source."
        return (f"No performance figures for this day yet; labels can arrive up to "
                f"{plural(monitor.labels.max_delay_days, 'day')} late.")
    overall = _whole_day(metrics)
    main = overall.get(main_metric(monitor))
    if main is not None and math.isfinite(main.value):
        parts = [_metric_phrase(monitor, main)]
    else:
        parts = [f"too few labels to compute {metric_label(main_metric(monitor))} yet "
                 f"(at least {monitor.performance.min_labels:,} needed)"]
    coverage = overall.get("label_coverage")
    if coverage is not None and math.isfinite(coverage.value):
        parts.append(f"label coverage {format_value('label_coverage', coverage.value)}")
    parts.append(_bounds_phrase(monitor, metrics, already_named=(main,) if main is not None else ()))
    return capitalised("; ".join(parts)) + "."


def _operations_sentence(monitor: MonitorConfig, metrics: list[Metric]) -> str:
    if not metrics:
        return "No operational figures for this day."
    overall = _whole_day(metrics)
    headline = tuple(overall[m] for m in HEADLINE_OPERATIONS if m in overall) or tuple(overall.values())[:2]
    parts = [_metric_phrase(monitor, m) for m in headline]
    return capitalised("; ".join([*parts, _bounds_phrase(monitor, metrics, already_named=headline)])) + "."


@dataclass(frozen=True)
class PerformanceCell:
    text: str
    badge: Badge
    interval: str = ""


@dataclass(frozen=True)
class EstimationRow:
    """An estimated figure (CBPE, no labels needed) beside the realized one computed from the labels."""

    name: str
    estimated: PerformanceCell
    realized: PerformanceCell


def _estimation_rows(metrics: list[Metric]) -> list[EstimationRow]:
    overall = _whole_day(metrics)
    rows = []
    for name in ESTIMATED_METRICS:
        if name not in overall:
            continue
        estimated, realized = overall[name], overall.get(name.removeprefix("estimated_"))
        rows.append(EstimationRow(
            capitalised(metric_label(name.removeprefix("estimated_"))),
            PerformanceCell(format_value(name, estimated.value), _badge(estimated.status), interval_text(estimated)),
            PerformanceCell(format_value(realized.metric, realized.value), _badge(realized.status),
                            interval_text(realized)) if realized else PerformanceCell("—", BADGES["info"])))
    return rows


def _is_fairness(metric: Metric) -> bool:
    return metric.metric.startswith(FAIRNESS_PREFIXES)


@dataclass(frozen=True)
class PerformanceTable:
    """Metrics across, "Overall" then each segment down; the first row holds the bounds."""

    columns: list[str]
    bounds: list[str]
    rows: list[tuple[str, list[PerformanceCell]]]


def _performance_table(monitor: MonitorConfig, metrics: list[Metric]) -> PerformanceTable | None:
    """The task's metrics, label coverage and labeled rows; other label figures go to a plain table."""
    metrics = [m for m in metrics if m.metric in PERFORMANCE_GRID_METRICS and not m.feature]
    if not metrics:
        return None
    names = sorted({m.metric for m in metrics}, key=PERFORMANCE_GRID_METRICS.index)
    segments = sorted({m.segment for m in metrics if m.segment})
    cells = {(m.segment, m.metric): m for m in metrics}
    empty = PerformanceCell("—", BADGES["info"])
    rows = []
    for segment in ["", *segments]:
        row = [PerformanceCell(format_value(n, cells[segment, n].value), _badge(cells[segment, n].status),
                               interval_text(cells[segment, n])) if (segment, n) in cells else empty for n in names]
        rows.append((segment or "Overall", row))
    thresholds = {m.metric: m.threshold for m in metrics if m.threshold is not None}
    bounds = [bound_text(n, monitor.performance.thresholds.get(n), thresholds.get(n)) for n in names]
    return PerformanceTable([capitalised(metric_label(n)) for n in names], bounds, rows)


# --- charts ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Chart:
    filename: str
    title: str
    png: bytes
    note: str = ""  # what a band or shading means, shown under the chart

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def safe_filename_part(name: str) -> str:
    """A feature name as a filename part: [a-z0-9_-] only, and a hash suffix whenever anything had to change.

    The hash keeps names distinct ("a/b" vs "a_b", "Age" vs "age" on case-insensitive disks) and stable across renders.
    """
    slug = re.sub(r"[^a-z0-9_-]+", "_", name.lower()).strip("_-")[:48]
    if slug and slug == name:
        return slug
    return f"{slug or 'feature'}_{hashlib.sha1(name.encode('utf-8')).hexdigest()[:8]}"


def _drift_chart(rows: list[DriftRow]) -> Chart | None:
    shown = [r for r in rows if math.isfinite(r.decision)][:MAX_DRIFT_BARS]
    if not shown:
        return None
    panels: dict[str, charts.DriftPanel] = {}
    for row in shown:
        panel = panels.setdefault(row.method, charts.DriftPanel(capitalised(row.method), row.lower_is_drift, []))
        label = f"p={row.decision_text}" if row.lower_is_drift else row.decision_text
        name = f"{row.feature} ({'output' if row.role == 'model output' else row.role})" if row.is_output \
            else row.feature
        panel.bars.append(charts.DriftBar(name, row.decision, row.threshold, row.drifted, label))
    title = ("Drift per feature" if len(shown) == len(rows)
             else f"Drift: the {len(shown)} strongest of {len(rows)} features")
    return Chart("drift_scores.png", title, charts.drift_scores_png(list(panels.values())))


def _is_categorical(monitor: MonitorConfig, feature: str, values: pd.Series) -> bool:
    if feature in monitor.columns.categorical_features:
        return True
    if feature in monitor.columns.numeric_features:
        return False
    return not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)


def _distribution_charts(report: ReportInput, rows: list[DriftRow],
                         pool: Executor) -> tuple[list[Chart], list[str]]:
    """Reference-vs-current plots for every drifted feature and the next few (drawn by ``pool``), and why any
    feature was skipped."""
    drifted = [r for r in rows if r.drifted]
    chosen = (drifted + [r for r in rows if not r.drifted][:TOP_STABLE_DISTRIBUTIONS])[:MAX_DISTRIBUTIONS]
    skipped = []
    if len(drifted) > MAX_DISTRIBUTIONS:
        skipped.append(f"Distributions are drawn for the {MAX_DISTRIBUTIONS} most drifted of "
                       f"{len(drifted)} drifted features; the table lists all of them.")
    if report.current is None or not chosen:
        return [], skipped
    drawn = []
    for row in chosen:
        if row.feature not in report.current.columns:
            skipped.append(f"No distribution for {row.feature}: the column is absent from this day's data.")
            continue
        current = report.current[row.feature]
        reference = (report.reference[row.feature]
                     if report.reference is not None and row.feature in report.reference.columns else None)
        compared = "reference vs current" if reference is not None else "current day (no reference to compare)"
        title = f"{row.feature}: {compared} ({row.verdict})"
        draw = (charts.categorical_distribution_png if _is_categorical(report.monitor, row.feature, current)
                else charts.numeric_distribution_png)
        png = pool.submit(draw, title, reference, current)
        drawn.append((f"dist_{safe_filename_part(row.feature)}.png", title, png))
    return [Chart(filename, title, png.result()) for filename, title, png in drawn], skipped


@dataclass(frozen=True)
class DriftCharts:
    """The drift section's charts: they read only the drift metrics and the rows compared, so a run of the day can
    draw them once drift is recorded, while the other stages still compute (``draw_drift_charts``)."""

    scores: Chart | None
    distributions: list[Chart]
    notes: list[str]  # why a distribution was not drawn


def draw_drift_charts(report: ReportInput) -> DriftCharts:
    """``report``'s drift charts, two at a time; of ``report`` only the monitor, the drift metrics and the current
    and reference rows are read."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return _drift_charts(report, _drift_rows(report.monitor, [_normalised(m) for m in report.metrics]), pool)


def _drift_charts(report: ReportInput, rows: list[DriftRow], pool: Executor) -> DriftCharts:
    scores = pool.submit(_drift_chart, rows)
    distributions, notes = _distribution_charts(report, rows, pool)
    return DriftCharts(scores.result(), distributions, notes)


def _trend_rows(history: pd.DataFrame, metrics: list[Metric], day: dt.date) -> pd.DataFrame:
    """The last ``TREND_DAYS`` days of rows, this day's metrics included, in the metric store's long format."""
    first = day - dt.timedelta(days=TREND_DAYS - 1)
    earlier = history[(history["partition_date"] >= first) & (history["partition_date"] < day)]
    today = pd.DataFrame([{"partition_date": day, "area": m.area, "metric": m.metric, "feature": m.feature,
                           "segment": m.segment, "value": m.value, "value_lower": m.lower, "value_upper": m.upper}
                          for m in metrics],
                         columns=["partition_date", "area", "metric", "feature", "segment", "value", "value_lower",
                                  "value_upper"])
    return pd.concat([earlier, today], ignore_index=True) if not today.empty else earlier


def trend_series(rows: pd.DataFrame, area: str, metric: str, *,
                 band: trends.Band | None = None) -> charts.TrendSeries | None:
    """One whole-day metric over the days in ``rows``, with ``band`` shaded around it; None without two days
    to connect."""
    values = trends.whole_day_values(rows, area, metric)
    if len(values) < 2:
        return None
    dates = list(values)
    lower, upper = band.bounds_for(dates) if band is not None else (None, None)
    return charts.TrendSeries(metric_label(metric), dates, list(values.values()), lower, upper)


def limit_lines(metric: str, bound: Bound | None, prefix: str = "") -> list[tuple[str, float]]:
    """A config bound as the labelled dashed lines of a trend chart."""
    if bound is None:
        return []
    ends = (("min", bound.min), ("max", bound.max))
    return [(f"{prefix}{word} {format_value(metric, value)}", value) for word, value in ends if value is not None]


def performance_panel(monitor: MonitorConfig, rows: pd.DataFrame, metric: str,
                      title: str) -> tuple[charts.TrendPanel | None, str]:
    """The metric with its bound and confidence band, and a sentence saying what the band is or why there is none."""
    band = trends.confidence_band(rows, "performance", metric)
    series = trend_series(rows, "performance", metric, band=band)
    if series is None:
        return None, ""
    label = metric_label(metric)
    if band is not None:
        note = f"{capitalised(label)} band: {band.source}."
    elif metric in trends.SHARES_OF_LABELED_ROWS:
        note = f"No confidence band: no labeled-row counts are recorded for {label}."
    else:
        note = (f"No confidence band for {label}: it is not a plain share of labeled rows and its step reports "
                f"no interval ({metric}_lower / {metric}_upper).")
    estimated = trend_series(rows, "performance", f"estimated_{metric}")  # CBPE, known before the labels
    if estimated is not None:
        note += f" The estimated {label} needs no labels: it covers the days whose labels have not arrived yet."
    panel = charts.TrendPanel(title, [series, *([estimated] if estimated else [])],
                              limit_lines(metric, monitor.performance.thresholds.get(metric)), percent=is_share(metric))
    return panel, note


def _performance_chart(report: ReportInput, rows: pd.DataFrame) -> Chart | None:
    """The main metric over the last 30 days with its bound; when it can have no band, accuracy follows with its
    Wilson band, which shows how far a day's figures can move on its number of labels alone."""
    metric = main_metric(report.monitor)
    label = capitalised(metric_label(metric))
    main, note = performance_panel(report.monitor, rows, metric, f"{label}, last {TREND_DAYS} days")
    if main is None:
        return None
    panels, notes = [main], [note]
    if main.series[0].lower is None and metric != "accuracy":
        accuracy, accuracy_note = performance_panel(report.monitor, rows, "accuracy",
                                                    "Accuracy, with its 95% confidence band")
        if accuracy is not None and accuracy.series[0].lower is not None:
            panels.append(accuracy)
            notes.append(accuracy_note)
    return Chart("performance_trend.png", f"{label} trend", charts.trend_png(panels, report.partition_date),
                 " ".join(notes))


def _label_coverage_chart(report: ReportInput, rows: pd.DataFrame) -> Chart | None:
    """Share of each prediction day's rows that have a label, and how many; recent days may still gain labels."""
    coverage = trend_series(rows, "performance", "label_coverage")
    if coverage is None:
        return None
    monitor, day = report.monitor, report.partition_date
    pending_from = None
    if monitor.labels is not None and monitor.labels.max_delay_days > 0:
        pending_from = max(day - dt.timedelta(days=monitor.labels.max_delay_days), coverage.dates[0])
    panels = [charts.TrendPanel("Label coverage per prediction day", [coverage],
                                limit_lines("label_coverage", monitor.performance.thresholds.get("label_coverage")),
                                percent=True, shade_from=pending_from, shade_label="labels may still arrive")]
    labeled = trend_series(rows, "performance", "labeled_rows")
    if labeled is not None:
        panels.append(charts.TrendPanel("Labeled rows per prediction day", [labeled], unit="rows"))
    note = (f"Labels arrive up to {plural(monitor.labels.max_delay_days, 'day')} after the prediction, so the "
            "shaded recent days may still gain labels." if pending_from is not None else "")
    return Chart("label_coverage.png", "Label coverage", charts.trend_png(panels, day), note)


def _operations_chart(report: ReportInput, rows: pd.DataFrame) -> Chart | None:
    bounds = report.monitor.operations.thresholds
    latency = {m: trend_series(rows, "operations", m) for m in LATENCY_METRICS}
    errors = trend_series(rows, "operations", "error_rate")
    panels = []
    if any(latency.values()):
        limits = [line for m, series in latency.items() if series
                  for line in limit_lines(m, bounds.get(m), f"{metric_label(m)} ")]
        panels.append(charts.TrendPanel("Latency percentiles", [s for s in latency.values() if s], limits,
                                        unit="ms"))
    if errors is not None:
        panels.append(charts.TrendPanel("Error rate", [errors], limit_lines("error_rate", bounds.get("error_rate")),
                                        percent=True))
    cost = trend_series(rows, "operations", "daily_cost_usd")
    if cost is not None:
        budget = operations_bound(report.monitor, "daily_cost_usd")
        panels.append(charts.TrendPanel("Daily cost", [cost], limit_lines("daily_cost_usd", budget, "budget "),
                                        unit="USD"))
    if not panels:
        return None
    title = "Latency, error rate and cost trend" if cost is not None else "Latency and error rate trend"
    return Chart("operations_trend.png", title, charts.trend_png(panels, report.partition_date))


# --- files -------------------------------------------------------------------------------------------------------

def write_atomic(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_charts(folder: Path, produced: list[Chart], stale_pattern: str) -> None:
    """Write the PNGs beside their page and delete files matching ``stale_pattern`` that this render no longer
    produces, so the folder always shows exactly the charts of its page."""
    for chart in produced:
        write_atomic(folder / chart.filename, chart.png)
    keep = {c.filename for c in produced}
    for stale in folder.glob(stale_pattern):
        if stale.name not in keep:
            stale.unlink(missing_ok=True)


_environment = Environment(
    loader=PackageLoader("monitoring_jobs.reports", "templates"),
    autoescape=select_autoescape(["html"], default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_template(name: str, **context: object) -> bytes:
    return _environment.get_template(name).render(**context).encode("utf-8")


# --- public entry points -----------------------------------------------------------------------------------------

KEY_CHART_META = "monitoring-key-chart"
KEY_CHART_RANK = {"fail": 0, "warn": 1}  # every other area status ranks 2


def _key_chart(area_charts: list[tuple[Badge, Chart | None]]) -> Chart | None:
    """The chart of the worst area that has one; among equals drift, then performance, then operations."""
    drawn = [(KEY_CHART_RANK.get(badge.css, 2), order, chart)
             for order, (badge, chart) in enumerate(area_charts) if chart is not None]
    return min(drawn, key=lambda item: item[:2])[2] if drawn else None


def key_chart(report_html: Path) -> Path | None:
    """The PNG a chat message or a Dagster materialization should show for a rendered model-day report, or None
    when the report has no chart. The report names it in a ``<meta name="monitoring-key-chart">`` tag."""
    page = Path(report_html).read_text(encoding="utf-8")
    found = re.search(rf'<meta name="{KEY_CHART_META}" content="([a-z0-9_.-]+\.png)">', page)
    if found is None:
        return None
    path = Path(report_html).parent / found.group(1)
    return path if path.is_file() else None


def _area_status(checks: list[CheckOutcome], metrics: list[Metric]) -> Badge:
    return BADGES[day_status(checks, metrics)]


def render_model_day_report(reports_root: Path, report: ReportInput, drift_charts: DriftCharts | None = None) -> Path:
    """Write ``<reports_root>/<model>/<YYYY-MM-DD>/index.html`` and its PNGs; PNGs of an earlier render that are
    no longer produced are removed. Returns the HTML path; ``key_chart(path)`` names the day's key chart.
    ``drift_charts``, when given, are ``draw_drift_charts`` of the same drift metrics and rows, drawn earlier."""
    if report.row_count < 0:
        raise ValueError(f"row_count must not be negative, got {report.row_count}")
    report = dataclasses.replace(report, metrics=[_normalised(m) for m in report.metrics])
    monitor, day = report.monitor, report.partition_date
    rows = _trend_rows(clean_history(report.history), report.metrics, day)
    by_area: dict[str, list[Metric]] = {}
    for metric in report.metrics:
        by_area.setdefault(metric.area, []).append(metric)
    checks_by_area: dict[str, list[CheckOutcome]] = {}
    for check in report.checks:
        checks_by_area.setdefault(_check_area(check), []).append(check)

    drift_rows = _drift_rows(monitor, report.metrics)
    # Two charts are drawn at a time: counting a chart's values (numpy, Arrow) and compressing its PNG release the
    # GIL, and matplotlib draws separate figures from separate threads (one drawing lock, fonts per thread). The
    # charts of a 5M-row day: 3.5 s to 2.9 s.
    with ThreadPoolExecutor(max_workers=2) as pool:
        drawing = [pool.submit(draw, report, rows) for draw in (_performance_chart, _label_coverage_chart,
                                                                 _operations_chart)]
        if drift_charts is None:
            drift_charts = _drift_charts(report, drift_rows, pool)
        performance_chart, coverage_chart, operations_chart = (chart.result() for chart in drawing)

    def section(area: str, title: str, sentence: str) -> dict:
        checks, metrics = checks_by_area.get(area, []), by_area.get(area, [])
        return {"title": title, "anchor": area.replace("validation", "data-quality"), "sentence": sentence,
                "badge": _area_status(checks, metrics), "checks": [_check_row(c) for c in checks]}

    drift = section("drift", "Drift", _drift_sentence(drift_rows))
    performance = section("performance", "Performance", _performance_sentence(monitor, by_area.get("performance", [])))
    operations = section("operations", "Operations", _operations_sentence(monitor, by_area.get("operations", [])))
    key = _key_chart([(drift["badge"], drift_charts.scores), (performance["badge"], performance_chart),
                      (operations["badge"], operations_chart)])
    context = {
        "monitor": monitor,
        "task": capitalised(monitor.task.value.replace("_", " ")),
        "date": day.isoformat(),
        "rows": f"{report.row_count:,}",
        "overall": BADGES[day_status(report.checks, report.metrics)],
        "notes": [str(n) for n in report.notes],
        "key_chart_meta": KEY_CHART_META,
        "key_chart": key,
        "quality": section("validation", "Data quality", _quality_sentence(
            monitor, checks_by_area.get("validation", []), by_area.get("validation", []))),
        "quality_metrics": [_metric_row(monitor, m) for m in sorted(by_area.get("validation", []),
                                                                   key=lambda m: STATUS_ORDER[m.status])
                            if m.metric != CHECK_VERDICT_METRIC or not report.checks],
        "drift": drift,
        "drift_rows": drift_rows,
        "drift_dataset": [_metric_row(monitor, m) for m in by_area.get("drift", []) if not m.feature],
        "drift_chart": drift_charts.scores,
        "distributions": drift_charts.distributions,
        "distribution_notes": drift_charts.notes,
        "top_stable_distributions": TOP_STABLE_DISTRIBUTIONS,
        "blocked": report.current is None,
        "performance": performance,
        "performance_table": _performance_table(monitor, by_area.get("performance", [])),
        "performance_estimation": _estimation_rows(by_area.get("performance", [])),
        "performance_fairness": [_metric_row(monitor, m) for m in by_area.get("performance", []) if _is_fairness(m)],
        "performance_other": [_metric_row(monitor, m) for m in by_area.get("performance", [])
                              if (m.metric not in PERFORMANCE_GRID_METRICS or m.feature)
                              and m.metric not in ESTIMATED_METRICS and not _is_fairness(m)],
        "performance_chart": performance_chart,
        "coverage_chart": coverage_chart,
        "trend_days": TREND_DAYS,
        "operations": operations,
        "operations_rows": [_metric_row(monitor, m) for m in by_area.get("operations", [])
                            if m.metric != HOURLY_METRIC],
        "hourly_requests": [(m.segment.removeprefix("hour="), format_value("row_count", m.value))
                            for m in by_area.get("operations", []) if m.metric == HOURLY_METRIC],
        "operations_chart": operations_chart,
        "format_number": format_number,
    }
    folder = Path(reports_root) / monitor.name / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    produced = [c for c in (drift_charts.scores, *drift_charts.distributions, performance_chart, coverage_chart,
                            operations_chart)
                if c is not None]
    write_charts(folder, produced, "*.png")
    html_path = folder / "index.html"
    write_atomic(html_path, render_template("day.html", **context))
    return html_path
