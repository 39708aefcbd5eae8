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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from monitoring_jobs.config import (
    CLASSIFICATION_METRICS,
    MONITOR_NAME_PATTERN,
    REGRESSION_METRICS,
    Bound,
    MonitorConfig,
    Task,
)
from monitoring_jobs.metrics import CheckOutcome, Metric, Status
from monitoring_jobs.reports import charts

HISTORY_COLUMNS = ("partition_date", "area", "metric", "feature", "segment", "value", "threshold", "status")
REQUIRED_HISTORY_COLUMNS = ("partition_date", "area", "metric", "value")
INDEX_DAYS = 30
TOP_STABLE_DISTRIBUTIONS = 6  # besides every drifted feature, the next most shifted ones
MAX_DISTRIBUTIONS = 24  # keeps a 100-feature report under 2 MB even when most features drift
MAX_DRIFT_BARS = 40
MAX_EXAMPLES = 5
EXAMPLE_CHARS = 80
MAX_LISTED = 3  # failures named in one summary sentence
SMALLEST_P_VALUE = 1e-300

TEST_METHODS = ("ks", "chi2")  # decide on a p-value: drift when p < threshold
METHOD_LABELS = {  # the first key found in a metric name wins; "ks" is last, being the likeliest accidental match
    "jensenshannon": "Jensen-Shannon distance",
    "wasserstein": "normed Wasserstein",
    "chi2": "chi-squared p-value",
    "psi": "PSI",
    "ks": "KS p-value",
}
METRIC_LABELS = {
    "roc_auc": "ROC AUC", "accuracy": "accuracy", "precision": "precision", "recall": "recall", "f1": "F1",
    "log_loss": "log loss", "mae": "MAE", "rmse": "RMSE", "r2": "R²", "row_count": "rows",
    "latency_p50_ms": "p50 latency", "latency_p95_ms": "p95 latency", "latency_p99_ms": "p99 latency",
    "error_rate": "error rate", "mean_confidence": "mean confidence", "label_coverage": "label coverage",
}
DEFAULT_MAIN_METRIC = {Task.BINARY_CLASSIFICATION: "roc_auc", Task.MULTICLASS_CLASSIFICATION: "accuracy",
                       Task.REGRESSION: "mae"}
LATENCY_METRICS = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")
HEADLINE_OPERATIONS = ("latency_p95_ms", "error_rate")
VERDICT_METRICS = ("drift_detected", "prediction_drift", "dataset_drift", "check_passed")  # 1/0, shown as yes/no
CHECK_VERDICT_METRIC = "check_passed"  # repeats a row of the checks table, so not listed again beneath it
STATUS_ORDER = {Status.FAIL: 0, Status.WARN: 1, Status.MISSING: 2, Status.OK: 3, Status.INFO: 4}
PERFORMANCE_GRID_METRICS = (*CLASSIFICATION_METRICS, *REGRESSION_METRICS, "label_coverage", "labeled_rows")
# A check whose name contains the word belongs to that section ("feature_drift", "operational_thresholds");
# every other check is a data-quality (validation) check.
CHECK_NAME_AREAS = {"drift": "drift", "performance": "performance", "operation": "operations"}
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


def _is_share(metric: str) -> bool:
    return metric.endswith(("_rate", "share", "_fraction", "coverage"))


def _is_count(metric: str) -> bool:
    return metric.endswith(("_count", "_rows", "_ids", "_labels")) or metric.startswith("n_")


def format_value(metric: str, value: float | None) -> str:
    """Shares and rates as percentages, counts as integers, latencies in ms, the rest with 3 significant digits."""
    if value is None or not math.isfinite(float(value)):
        return format_number(value)
    if metric in VERDICT_METRICS:
        return "yes" if value else "no"
    if _is_share(metric):
        return format_number(float(value) * 100) + "%"
    if _is_count(metric) and float(value).is_integer():
        return f"{int(value):,}"
    if metric.endswith("_ms"):
        return format_number(value) + " ms"
    return format_number(value)


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


def _capitalised(text: str) -> str:
    """Sentence case, leaving names like "p95 latency" alone."""
    return text if text[1:2].isdigit() else text[:1].upper() + text[1:]


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


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


def _clean_history(history: pd.DataFrame | None) -> pd.DataFrame:
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
    if metric.area == "operations":
        return monitor.operations.thresholds.get(metric.metric)
    return None


def _metric_row(monitor: MonitorConfig, metric: Metric) -> MetricRow:
    return MetricRow(_capitalised(metric_label(metric.metric)), metric.feature, metric.segment,
                     format_value(metric.metric, metric.value),
                     bound_text(metric.metric, _bound_of(monitor, metric), metric.threshold),
                     _badge(metric.status), metric.detail)


def _metric_phrase(monitor: MonitorConfig, metric: Metric) -> str:
    """"recall for region=north 0.41 (≥ 0.5)": one figure named in a sentence."""
    where = f" for {metric.segment}" if metric.segment else f" of {metric.feature}" if metric.feature else ""
    bound = bound_text(metric.metric, _bound_of(monitor, metric), metric.threshold)
    limit = f" ({bound})" if bound != "—" else ""
    return f"{metric_label(metric.metric)}{where} {format_value(metric.metric, metric.value)}{limit}"


def _bounds_phrase(monitor: MonitorConfig, metrics: list[Metric], already_named: Metric | None = None) -> str:
    """"2 of 9 figures out of bounds: ..." naming the first few, except one the sentence has just named."""
    judged = [m for m in metrics if m.status in JUDGED]
    flagged = [m for m in judged if m.failed]
    if not judged:
        too_little = any(m.status == Status.MISSING for m in metrics)
        return "nothing judged yet (too little data)" if too_little else "no thresholds are configured"
    if not flagged:
        return "all figures within bounds"
    to_name = [m for m in flagged if m is not already_named]
    named = "; ".join(_metric_phrase(monitor, m) for m in to_name[:MAX_LISTED])
    more = f" and {len(to_name) - MAX_LISTED} more" if len(to_name) > MAX_LISTED else ""
    return f"{len(flagged)} of {_plural(len(judged), 'figure')} out of bounds" + (f": {named}{more}" if named else "")


@dataclass(frozen=True)
class DriftRow:
    """One column's drift verdict, read from its drift metrics (see ``_drift_rows``)."""

    feature: str
    is_output: bool  # the model's score or prediction rather than an input feature
    method_key: str
    method: str
    lower_is_drift: bool
    decision: float  # the figure compared with the threshold: a p-value for tests, a distance otherwise
    statistic: float | None
    p_value: float | None
    threshold: float | None
    status: Status
    detail: str

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
        """"normed Wasserstein 0.34, threshold 0.1": the decision as a sentence names it."""
        return f"{self.method} {self.decision_text}, threshold {format_number(self.threshold)}"

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
    fill the other columns ("ks_statistic" next to "ks_p_value"); a 1/0 verdict metric gives the status
    when no statistic could be judged."""
    verdict = next((m for m in group if m.metric in VERDICT_METRICS), None)
    measures = [m for m in group if m.metric not in VERDICT_METRICS]
    decision = max(measures, key=lambda m: (m.threshold is not None, m.status in JUDGED), default=None)
    judge = decision if decision is not None and decision.status in JUDGED else verdict or decision
    status = Status.MISSING if judge is None else judge.status
    detail = next((m.detail for m in (verdict, decision) if m is not None and m.detail), "")
    is_output = feature not in monitor.columns.features
    if decision is None or decision.threshold is None:
        return DriftRow(feature, is_output, "", "—", False, math.nan, None, None, None, status, detail)
    name = _compact(decision.metric)
    key = next((k for k in METHOD_LABELS if k in name), decision.metric)
    lower_is_drift = key in TEST_METHODS or "pvalue" in name
    same_method = {_compact(m.metric): m.value for m in measures
                   if m is not decision and _compact(m.metric).startswith(key)}
    if lower_is_drift:
        p_value, statistic = decision.value, next((v for n, v in same_method.items() if "stat" in n), None)
    else:
        statistic, p_value = decision.value, next((v for n, v in same_method.items() if "pvalue" in n), None)
    return DriftRow(feature, is_output, key, METHOD_LABELS.get(key, metric_label(decision.metric)), lower_is_drift,
                    float(decision.value), statistic, p_value, decision.threshold, status, detail)


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
        count = f"{drifted if drifted else 'None'} of {_plural(len(judged), 'feature')}"
        sentences.append(f"{count} drifted; the {'largest' if drifted else 'closest'} is {top.feature} "
                         f"({top.figure_text}).")
        if len(judged) < len(features):
            sentences.append(f"{_plural(len(features) - len(judged), 'feature')} could not be judged.")
    for output in (r for r in rows if r.is_output):
        if output.drifted is None:
            sentences.append(f"The model output {output.feature} could not be judged.")
        else:
            moved = "drifted" if output.drifted else "did not drift"
            sentences.append(f"The model output {output.feature} {moved} ({output.figure_text}).")
    return " ".join(sentences)


def _quality_sentence(monitor: MonitorConfig, checks: list[CheckOutcome], metrics: list[Metric]) -> str:
    if not checks:
        return (_capitalised(_bounds_phrase(monitor, metrics)) + "." if metrics
                else "No data-quality checks ran for this day.")
    failed = [c for c in checks if not c.passed]
    if not failed:
        return f"{len(checks)} of {_plural(len(checks), 'check')} passed."
    named = ", ".join(f"{c.name} ({'error' if c.severity.upper() == 'ERROR' else 'warning'})"
                      for c in failed[:MAX_LISTED])
    more = ", …" if len(failed) > MAX_LISTED else ""
    return f"{len(failed)} of {_plural(len(checks), 'check')} failed: {named}{more}."


def _main_metric(monitor: MonitorConfig) -> str:
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
                f"{_plural(monitor.labels.max_delay_days, 'day')} late.")
    overall = _whole_day(metrics)
    main = overall.get(_main_metric(monitor))
    if main is not None and math.isfinite(main.value):
        parts = [_metric_phrase(monitor, main)]
    else:
        parts = [f"too few labels to compute {metric_label(_main_metric(monitor))} yet "
                 f"(at least {monitor.performance.min_labels:,} needed)"]
    coverage = overall.get("label_coverage")
    if coverage is not None and math.isfinite(coverage.value):
        parts.append(f"label coverage {format_value('label_coverage', coverage.value)}")
    parts.append(_bounds_phrase(monitor, metrics, already_named=main))
    return _capitalised("; ".join(parts)) + "."


def _operations_sentence(monitor: MonitorConfig, metrics: list[Metric]) -> str:
    if not metrics:
        return "No operational figures for this day."
    overall = _whole_day(metrics)
    headline = [overall[m] for m in HEADLINE_OPERATIONS if m in overall] or list(overall.values())[:2]
    parts = [f"{metric_label(m.metric)} {format_value(m.metric, m.value)}" for m in headline]
    return _capitalised("; ".join([*parts, _bounds_phrase(monitor, metrics)])) + "."


@dataclass(frozen=True)
class PerformanceCell:
    text: str
    badge: Badge


@dataclass(frozen=True)
class PerformanceTable:
    """Metrics across, "Overall" then each segment down; the first row holds the bounds."""

    columns: list[str]
    bounds: list[str]
    rows: list[tuple[str, list[PerformanceCell]]]


def _performance_table(monitor: MonitorConfig, metrics: list[Metric]) -> PerformanceTable | None:
    """The task's metrics, label coverage and labeled rows; other label figures go to a plain table."""
    metrics = [m for m in metrics if m.metric in PERFORMANCE_GRID_METRICS]
    if not metrics:
        return None
    names = sorted({m.metric for m in metrics}, key=PERFORMANCE_GRID_METRICS.index)
    segments = sorted({m.segment for m in metrics if m.segment})
    cells = {(m.segment, m.metric): m for m in metrics}
    empty = PerformanceCell("—", BADGES["info"])
    rows = []
    for segment in ["", *segments]:
        row = [PerformanceCell(format_value(n, cells[segment, n].value), _badge(cells[segment, n].status))
               if (segment, n) in cells else empty for n in names]
        rows.append((segment or "Overall", row))
    thresholds = {m.metric: m.threshold for m in metrics if m.threshold is not None}
    bounds = [bound_text(n, monitor.performance.thresholds.get(n), thresholds.get(n)) for n in names]
    return PerformanceTable([_capitalised(metric_label(n)) for n in names], bounds, rows)


# --- charts ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Chart:
    filename: str
    title: str
    png: bytes

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
        panel = panels.setdefault(row.method_key, charts.DriftPanel(_capitalised(row.method), row.lower_is_drift, []))
        label = f"p={row.decision_text}" if row.lower_is_drift else row.decision_text
        name = f"{row.feature} (output)" if row.is_output else row.feature
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


def _distribution_charts(report: ReportInput, rows: list[DriftRow]) -> tuple[list[Chart], list[str]]:
    """Reference-vs-current plots for every drifted feature and the next few, and why any feature was skipped."""
    drifted = [r for r in rows if r.drifted]
    chosen = (drifted + [r for r in rows if not r.drifted][:TOP_STABLE_DISTRIBUTIONS])[:MAX_DISTRIBUTIONS]
    skipped = []
    if len(drifted) > MAX_DISTRIBUTIONS:
        skipped.append(f"Distributions are drawn for the {MAX_DISTRIBUTIONS} most drifted of "
                       f"{len(drifted)} drifted features; the table lists all of them.")
    if report.current is None or not chosen:
        return [], skipped
    result = []
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
        result.append(Chart(f"dist_{safe_filename_part(row.feature)}.png", title, draw(title, reference, current)))
    return result, skipped


def _trend(history: pd.DataFrame, metrics: list[Metric], area: str, metric: str,
           day: dt.date) -> charts.TrendSeries | None:
    """Whole-day values of one metric over earlier days plus this one; None without two days to connect."""
    past = history[(history["area"] == area) & (history["metric"] == metric) & (history["feature"] == "")
                   & (history["segment"] == "") & (history["partition_date"] < day)]
    past = past[np.isfinite(past["value"].to_numpy(dtype=float))]
    points = dict(zip(past["partition_date"], past["value"].astype(float)))
    today = _whole_day([m for m in metrics if m.area == area]).get(metric)
    if today is not None and math.isfinite(today.value):
        points[day] = float(today.value)
    if past.empty or len(points) < 2:
        return None
    dates = sorted(points)
    return charts.TrendSeries(metric_label(metric), dates, [points[d] for d in dates])


def _limits(metric: str, bound: Bound | None, prefix: str = "") -> list[tuple[str, float]]:
    if bound is None:
        return []
    ends = (("min", bound.min), ("max", bound.max))
    return [(f"{prefix}{word} {format_value(metric, value)}", value) for word, value in ends if value is not None]


def _performance_chart(report: ReportInput, history: pd.DataFrame) -> Chart | None:
    metric = _main_metric(report.monitor)
    series = _trend(history, report.metrics, "performance", metric, report.partition_date)
    if series is None:
        return None
    panel = charts.TrendPanel(f"{_capitalised(metric_label(metric))} over time", [series],
                              _limits(metric, report.monitor.performance.thresholds.get(metric)),
                              percent=_is_share(metric))
    title = f"{_capitalised(metric_label(metric))} trend"
    return Chart("performance_trend.png", title, charts.trend_png([panel], report.partition_date))


def _operations_chart(report: ReportInput, history: pd.DataFrame) -> Chart | None:
    bounds = report.monitor.operations.thresholds
    latency = {m: _trend(history, report.metrics, "operations", m, report.partition_date) for m in LATENCY_METRICS}
    errors = _trend(history, report.metrics, "operations", "error_rate", report.partition_date)
    panels = []
    if any(latency.values()):
        limits = [limit for m, s in latency.items() if s for limit in _limits(m, bounds.get(m), f"{metric_label(m)} ")]
        panels.append(charts.TrendPanel("Latency percentiles", [s for s in latency.values() if s], limits,
                                        unit="ms"))
    if errors is not None:
        panels.append(charts.TrendPanel("Error rate", [errors], _limits("error_rate", bounds.get("error_rate")),
                                        percent=True))
    if not panels:
        return None
    return Chart("operations_trend.png", "Latency and error rate trend",
                 charts.trend_png(panels, report.partition_date))


# --- files -------------------------------------------------------------------------------------------------------

def _write_atomic(path: Path, data: bytes) -> None:
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


_environment = Environment(
    loader=PackageLoader("monitoring_jobs.reports", "templates"),
    autoescape=select_autoescape(["html"], default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _render_template(name: str, **context: object) -> bytes:
    return _environment.get_template(name).render(**context).encode("utf-8")


# --- public entry points -----------------------------------------------------------------------------------------

def _area_status(checks: list[CheckOutcome], metrics: list[Metric]) -> Badge:
    return BADGES[day_status(checks, metrics)]


def render_model_day_report(reports_root: Path, report: ReportInput) -> Path:
    """Write ``<reports_root>/<model>/<YYYY-MM-DD>/index.html`` and its PNGs; PNGs of an earlier render that are
    no longer produced are removed. Returns the HTML path."""
    if report.row_count < 0:
        raise ValueError(f"row_count must not be negative, got {report.row_count}")
    report = dataclasses.replace(report, metrics=[_normalised(m) for m in report.metrics])
    monitor, day = report.monitor, report.partition_date
    history = _clean_history(report.history)
    by_area: dict[str, list[Metric]] = {}
    for metric in report.metrics:
        by_area.setdefault(metric.area, []).append(metric)
    checks_by_area: dict[str, list[CheckOutcome]] = {}
    for check in report.checks:
        checks_by_area.setdefault(_check_area(check), []).append(check)

    drift_rows = _drift_rows(monitor, report.metrics)
    drift_chart = _drift_chart(drift_rows)
    distributions, distribution_notes = _distribution_charts(report, drift_rows)
    performance_chart = _performance_chart(report, history)
    operations_chart = _operations_chart(report, history)
    produced = [c for c in (drift_chart, *distributions, performance_chart, operations_chart) if c is not None]

    def section(area: str, title: str, sentence: str) -> dict:
        checks, metrics = checks_by_area.get(area, []), by_area.get(area, [])
        return {"title": title, "anchor": area.replace("validation", "data-quality"), "sentence": sentence,
                "badge": _area_status(checks, metrics), "checks": [_check_row(c) for c in checks]}

    context = {
        "monitor": monitor,
        "task": _capitalised(monitor.task.value.replace("_", " ")),
        "date": day.isoformat(),
        "rows": f"{report.row_count:,}",
        "overall": BADGES[day_status(report.checks, report.metrics)],
        "notes": [str(n) for n in report.notes],
        "quality": section("validation", "Data quality", _quality_sentence(
            monitor, checks_by_area.get("validation", []), by_area.get("validation", []))),
        "quality_metrics": [_metric_row(monitor, m) for m in sorted(by_area.get("validation", []),
                                                                   key=lambda m: STATUS_ORDER[m.status])
                            if m.metric != CHECK_VERDICT_METRIC or not report.checks],
        "drift": section("drift", "Drift", _drift_sentence(drift_rows)),
        "drift_rows": drift_rows,
        "drift_dataset": [_metric_row(monitor, m) for m in by_area.get("drift", []) if not m.feature],
        "drift_chart": drift_chart,
        "distributions": distributions,
        "distribution_notes": distribution_notes,
        "top_stable_distributions": TOP_STABLE_DISTRIBUTIONS,
        "blocked": report.current is None,
        "performance": section("performance", "Performance",
                               _performance_sentence(monitor, by_area.get("performance", []))),
        "performance_table": _performance_table(monitor, by_area.get("performance", [])),
        "performance_other": [_metric_row(monitor, m) for m in by_area.get("performance", [])
                              if m.metric not in PERFORMANCE_GRID_METRICS],
        "performance_chart": performance_chart,
        "operations": section("operations", "Operations", _operations_sentence(monitor, by_area.get("operations", []))),
        "operations_rows": [_metric_row(monitor, m) for m in by_area.get("operations", [])],
        "operations_chart": operations_chart,
        "format_number": format_number,
    }
    folder = Path(reports_root) / monitor.name / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    for chart in produced:
        _write_atomic(folder / chart.filename, chart.png)
    html_path = folder / "index.html"
    _write_atomic(html_path, _render_template("day.html", **context))
    keep = {c.filename for c in produced}
    for stale in folder.glob("*.png"):
        if stale.name not in keep:
            stale.unlink(missing_ok=True)
    return html_path


@dataclass(frozen=True)
class IndexCell:
    cell: DayCell
    badge: Badge
    href: str | None  # None when the report file does not exist (no dead links)

    @property
    def tooltip(self) -> str:
        summary = f" {self.cell.summary}" if self.cell.summary else ""
        return f"{self.cell.model}, {self.cell.partition_date.isoformat()}: {self.badge.text}.{summary}"


def _index_cell(reports_root: Path, cell: DayCell) -> IndexCell:
    if cell.status not in DAY_STATUSES:
        raise ValueError(f"DayCell for {cell.model!r} on {cell.partition_date}: status {cell.status!r} is not one "
                         f"of {', '.join(DAY_STATUSES)}")
    relative = f"{cell.model}/{cell.partition_date.isoformat()}/index.html"
    exists = re.fullmatch(MONITOR_NAME_PATTERN, cell.model) is not None and (reports_root / relative).is_file()
    return IndexCell(cell, BADGES[cell.status], relative if exists else None)


def render_index(reports_root: Path, cells: list[DayCell]) -> Path:
    """Write ``<reports_root>/index.html``: latest status per model, and a model × day grid of the last 30 days.

    A later cell for the same model and day replaces an earlier one.
    """
    root = Path(reports_root)
    grid = {(c.model, c.partition_date): _index_cell(root, c) for c in cells}
    models = sorted({model for model, _ in grid})
    dates = sorted({day for _, day in grid})[-INDEX_DAYS:]
    latest = {model: grid[model, max(day for m, day in grid if m == model)] for model in models}
    context = {
        "models": models,
        "dates": dates,
        "latest": latest,
        "grid": grid,
        "legend": [BADGES[s] for s in DAY_STATUSES],
    }
    root.mkdir(parents=True, exist_ok=True)
    path = root / "index.html"
    _write_atomic(path, _render_template("index.html", **context))
    return path
