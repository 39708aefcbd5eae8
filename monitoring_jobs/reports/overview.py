"""The pages above the model-day reports: ``reports/index.html`` (every model, day by day) and one trend page
per model (``reports/<model>/index.html``).

Both are rebuilt from the day statuses the pipeline records (``DayCell``) and, for the trend page, the
model's long metric rows. Like the day reports they are self-contained: inline CSS, embedded PNGs, no
scripts. A cell or a model name links only to a page that exists, so the index never has dead links.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from monitoring_jobs.config import MONITOR_NAME_PATTERN, MonitorConfig
from monitoring_jobs.operations import operations_bound
from monitoring_jobs.reports import charts
from monitoring_jobs.reports.render import (
    BADGES,
    DAY_STATUSES,
    Badge,
    Chart,
    DayCell,
    capitalised,
    clean_history,
    format_value,
    is_share,
    limit_lines,
    main_metric,
    metric_label,
    performance_panel,
    plural,
    render_template,
    trend_series,
    write_atomic,
    write_charts,
)

GRID_WINDOWS = (30, 90)  # the index shows one grid per window, each ending on the latest day with a status
STRIP_DAYS = 90  # the status strip of a model page, or fewer when the model is younger
DENSE_AFTER_DAYS = 31  # wider grids get narrow cells
MAX_ATTENTION_ROWS = 30
NO_REPORT = "none"  # css of a day without a status row
NO_REPORT_SYMBOL = "·"
MODEL_PAGE_CHARTS = "trend_*.png"  # what a model page owns in its folder, next to the day folders


# --- grids ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GridCell:
    css: str
    symbol: str
    tooltip: str
    href: str | None


@dataclass(frozen=True)
class GridRow:
    label: str
    href: str | None
    cells: list[GridCell]


@dataclass(frozen=True)
class StatusGrid:
    """Days across (grouped under month headers), one row per model, or a single row on a model page."""

    row_header: str
    days: list[dt.date]
    rows: list[GridRow]

    @property
    def density(self) -> str:
        return "dense" if len(self.days) > DENSE_AFTER_DAYS else "wide"

    @property
    def months(self) -> list[tuple[str, int, str]]:
        """(label, number of days, tooltip) per month; a month with too few days to hold its name shows none."""
        counts = Counter((d.year, d.month) for d in self.days)
        room = 3 if self.density == "wide" else 8  # days whose cells together are wider than "Oct 2026"
        names = {key: dt.date(*key, 1).strftime("%b %Y") for key in counts}
        return [(names[key] if span >= room else "", span, names[key]) for key, span in sorted(counts.items())]


def _window(end: dt.date, days: int) -> list[dt.date]:
    return [end - dt.timedelta(days=back) for back in range(days - 1, -1, -1)]


def _has_safe_name(model: str) -> bool:
    """Only names a monitor config can have become paths: nothing else can point outside the reports folder."""
    return re.fullmatch(MONITOR_NAME_PATTERN, model) is not None


def _report_href(root: Path, model: str, day: dt.date, prefix: str) -> str | None:
    relative = f"{model}/{day.isoformat()}/index.html"
    return prefix + relative if _has_safe_name(model) and (root / relative).is_file() else None


def _grid_cell(root: Path, model: str, day: dt.date, cell: DayCell | None, prefix: str) -> GridCell:
    when = f"{model}, {day.isoformat()}"
    if cell is None:
        return GridCell(NO_REPORT, NO_REPORT_SYMBOL, f"{when}: no report", None)
    badge = BADGES[cell.status]
    summary = f" {cell.summary}" if cell.summary else ""
    return GridCell(badge.css, badge.symbol, f"{when}: {badge.text}.{summary}",
                    _report_href(root, model, day, prefix))


def _by_model_day(cells: Iterable[DayCell]) -> dict[tuple[str, dt.date], DayCell]:
    """Cells keyed by model and day (a later cell replaces an earlier one); an unknown status is an error."""
    result = {}
    for cell in cells:
        if cell.status not in DAY_STATUSES:
            raise ValueError(f"DayCell for {cell.model!r} on {cell.partition_date}: status {cell.status!r} is not "
                             f"one of {', '.join(DAY_STATUSES)}")
        result[cell.model, cell.partition_date] = cell
    return result


def _status_counts(cells: Iterable[DayCell | None], days: int) -> str:
    """E.g. "Last 30 days: 2 failed, 1 with warnings, 26 OK, 1 without a report."."""
    counts = Counter(cell.status if cell is not None else NO_REPORT for cell in cells)
    words = {"fail": "failed", "warn": "with warnings", "ok": "OK", "missing": "with nothing judged",
             NO_REPORT: "without a report"}
    parts = [f"{counts[key]} {word}" for key, word in words.items() if counts[key]]
    return f"Last {days} days: " + ", ".join(parts) + "."


# --- the index -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LatestRow:
    model: str
    trend_href: str | None
    day: str
    report_href: str | None
    badge: Badge
    summary: str
    recent: str


def render_index(reports_root: Path, cells: list[DayCell]) -> Path:
    """Write ``<reports_root>/index.html``: the latest status per model, then model × day grids of the last 30 and
    the last 90 days (ending on the latest day any model has), days without a status shown as "no report".

    A later cell for the same model and day replaces an earlier one. A model's name links to its trend page
    (``render_model_page``) once that exists, so render the model pages first.
    """
    root = Path(reports_root)
    by_key = _by_model_day(cells)
    models = sorted({model for model, _ in by_key})
    grids, latest = [], []
    if models:
        end = max(day for _, day in by_key)
        trend_links = {m: f"{m}/index.html" if _has_safe_name(m) and (root / m / "index.html").is_file() else None
                       for m in models}
        for size in GRID_WINDOWS:
            days = _window(end, size)
            rows = [GridRow(m, trend_links[m], [_grid_cell(root, m, d, by_key.get((m, d)), "") for d in days])
                    for m in models]
            grids.append(StatusGrid("Model", days, rows))
        for model in models:
            day = max(d for m, d in by_key if m == model)
            cell = by_key[model, day]
            recent = _status_counts((by_key.get((model, d)) for d in _window(end, GRID_WINDOWS[0])), GRID_WINDOWS[0])
            latest.append(LatestRow(model, trend_links[model], day.isoformat(), _report_href(root, model, day, ""),
                                    BADGES[cell.status], cell.summary, recent))
    context = {"grids": grids, "latest": latest, "legend": [BADGES[s] for s in DAY_STATUSES]}
    root.mkdir(parents=True, exist_ok=True)
    path = root / "index.html"
    write_atomic(path, render_template("index.html", **context))
    return path


# --- the per-model trend page --------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrendSpec:
    """One chart of the model page: a whole-day metric, the lines its limits draw, how its values read."""

    filename: str
    area: str
    metric: str
    title: str
    limits: list[tuple[str, float]]


def _trend_specs(monitor: MonitorConfig) -> list[TrendSpec]:
    """Everything but the main performance metric, which carries its band (see ``performance_panel``); the daily
    cost for monitors that track it."""
    operations = monitor.operations.thresholds
    share = monitor.drift.dataset_drift_share
    return [
        TrendSpec("trend_label_coverage.png", "performance", "label_coverage", "Label coverage per prediction day",
                  limit_lines("label_coverage", monitor.performance.thresholds.get("label_coverage"))),
        TrendSpec("trend_drifted_share.png", "drift", "drifted_feature_share", "Share of features that drifted",
                  [(f"dataset drift at {format_value('drifted_feature_share', share)}", share)]),
        TrendSpec("trend_row_count.png", "operations", "row_count", "Rows per day",
                  limit_lines("row_count", operations.get("row_count"))),
        TrendSpec("trend_latency_p95.png", "operations", "latency_p95_ms", "p95 latency",
                  limit_lines("latency_p95_ms", operations.get("latency_p95_ms"))),
        TrendSpec("trend_error_rate.png", "operations", "error_rate", "Error rate",
                  limit_lines("error_rate", operations.get("error_rate"))),
        *([TrendSpec("trend_daily_cost.png", "operations", "daily_cost_usd", "Daily cost",
                     limit_lines("daily_cost_usd", operations_bound(monitor, "daily_cost_usd"), "budget "))]
          if monitor.tracks_cost else []),
    ]


def _model_charts(monitor: MonitorConfig, rows: pd.DataFrame) -> tuple[list[Chart], list[str]]:
    """The page's trend charts over every day in ``rows``, and a sentence for each one that has too little data."""
    produced, missing = [], []
    metric = main_metric(monitor)
    label = capitalised(metric_label(metric))
    main, note = performance_panel(monitor, rows, metric, f"{label}, every day on record")
    if main is not None:
        produced.append(Chart("trend_performance.png", f"{label} trend", charts.trend_png([main]), note))
    else:
        missing.append(f"{label}: fewer than two days with a value yet.")
    for spec in _trend_specs(monitor):
        series = trend_series(rows, spec.area, spec.metric)
        if series is None:
            missing.append(f"{capitalised(metric_label(spec.metric))}: fewer than two days with a value yet.")
            continue
        unit = next((unit for end, unit in (("_ms", "ms"), ("_usd", "USD"), ("row_count", "rows"))
                     if spec.metric.endswith(end)), "")
        panel = charts.TrendPanel(f"{spec.title}, every day on record", [series], spec.limits,
                                  percent=is_share(spec.metric), unit=unit)
        produced.append(Chart(spec.filename, f"{spec.title} trend", charts.trend_png([panel])))
    return produced, missing


def render_model_page(reports_root: Path, monitor: MonitorConfig, cells: list[DayCell],
                      history: pd.DataFrame | None) -> Path:
    """Write ``<reports_root>/<model>/index.html`` and its ``trend_*.png`` files: the latest status, a status strip
    of the last 90 days linking each day's report (starting no earlier than the monitor's start_date, unless older
    days are on record), the days that need attention, and trend charts of the main performance metric (with its
    bound and band), label coverage, drifted-feature share, rows, p95 latency, error rate and (when tracked) daily
    cost over every day in ``history``.

    ``cells`` may hold every model's cells (others are ignored). ``history`` has the metric store's long format
    (``MetricStore.history`` columns); only whole-day rows (no feature, no segment) are used.
    """
    root = Path(reports_root)
    model = monitor.name
    own = {day: cell for (name, day), cell in _by_model_day(cells).items() if name == model}
    rows = clean_history(history)
    known_days = set(own) | set(rows["partition_date"])
    produced, missing = _model_charts(monitor, rows)
    context: dict[str, object] = {"monitor": monitor, "charts": produced, "missing_charts": missing,
                                  "legend": [BADGES[s] for s in DAY_STATUSES], "strip": None, "latest": None,
                                  "attention": [], "attention_more": 0, "recent": ""}
    if known_days:
        end, first = max(known_days), min(min(known_days), monitor.start_date)
        days = _window(end, max(1, min(STRIP_DAYS, (end - first).days + 1)))  # no "no report" before the model began
        strip_cells = [_grid_cell(root, model, d, own.get(d), "../") for d in days]
        context["strip"] = StatusGrid("Day", days, [GridRow("Status", None, strip_cells)])
        context["recent"] = _status_counts((own.get(d) for d in days), len(days))
        flagged = [(d, own[d]) for d in reversed(days) if d in own and own[d].status in ("fail", "warn")]
        context["attention"] = [(d.isoformat(), _report_href(root, model, d, "../"), BADGES[c.status], c.summary)
                                for d, c in flagged[:MAX_ATTENTION_ROWS]]
        context["attention_more"] = max(0, len(flagged) - MAX_ATTENTION_ROWS)
    if own:
        day = max(own)
        context["latest"] = (day.isoformat(), _report_href(root, model, day, "../"), BADGES[own[day].status],
                             own[day].summary)
    context["days_on_record"] = plural(len(known_days), "day")
    folder = root / model
    folder.mkdir(parents=True, exist_ok=True)
    write_charts(folder, produced, MODEL_PAGE_CHARTS)
    path = folder / "index.html"
    write_atomic(path, render_template("model.html", **context))
    return path
