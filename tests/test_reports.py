"""Static HTML reports: files, valid non-blank PNGs, readable summary, escaping, no external requests, trends with
limits and bands, key chart, index and per-model pages, memory over many renders.

The pages are also opened in a real browser by tests/test_reports_browser.py."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import gc
import html
import math
import os
import re
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import binomtest, ks_2samp, wasserstein_distance
from sklearn.metrics import recall_score, roc_auc_score

from monitoring_jobs.config import MonitorConfig
from monitoring_jobs.metrics import CheckOutcome, Metric, Status
from monitoring_jobs.reports import (
    DayCell,
    ReportInput,
    charts,
    day_status,
    key_chart,
    render_index,
    render_model_day_report,
    render_model_page,
)
from monitoring_jobs.reports import render as render_module
from monitoring_jobs.reports.render import format_value, safe_filename_part
from monitoring_jobs.reports.trends import whole_day_values, wilson_interval
from tests.helpers import InlineExecutor

HOSTILE = "<script>alert(1)</script>"
ESCAPED_HOSTILE = "&lt;script&gt;alert(1)&lt;/script&gt;"
DAY = dt.date(2026, 10, 15)
NUMERIC = ["age", "income", "debt_ratio", "credit_utilization", "num_open_accounts"]
CATEGORICAL = ["region", HOSTILE]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DRIFT_THRESHOLD = 0.1
MAX_DISTRIBUTIONS_OF_STABLE = 6


def make_monitor(numeric: list[str], categorical: list[str]) -> MonitorConfig:
    return MonitorConfig.model_validate({
        "name": "credit_default",
        "description": f"Credit default model, scored {HOSTILE}",
        "task": "binary_classification",
        "start_date": "2026-10-01",
        "inference": {"uri": "file://data/credit_default/inference/dt={date}/part-0000.parquet"},
        "labels": {"uri": "file://data/credit_default/labels/dt={date}/part-0000.parquet"},
        "columns": {"prediction": "prediction", "score": "score", "latency_ms": "latency_ms", "status": "status",
                    "numeric_features": numeric, "categorical_features": categorical,
                    "segments": [c for c in categorical if c == "region"]},
        "performance": {"thresholds": {"roc_auc": {"min": 0.75, "severity": "ERROR"}, "recall": {"min": 0.5}}},
        "operations": {"thresholds": {"latency_p95_ms": {"max": 500},
                                      "error_rate": {"max": 0.05, "severity": "ERROR"}}},
    })


def make_frames(numeric: list[str], categorical: list[str], shifted: set[str],
                rows: int = 1500) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    reference, current = {}, {}
    for name in numeric:
        reference[name] = rng.normal(50, 10, rows)
        current[name] = rng.normal(60 if name in shifted else 50, 10, rows)
    if "num_open_accounts" in numeric:
        reference["num_open_accounts"] = rng.poisson(4, rows)
        current["num_open_accounts"] = rng.poisson(4, rows)
    for name in categorical:
        values = np.array(["north", "south", HOSTILE], dtype=object)
        reference[name] = rng.choice(values, rows, p=[0.4, 0.4, 0.2])
        current[name] = rng.choice(values, rows, p=[0.2, 0.4, 0.4] if name in shifted else [0.4, 0.4, 0.2])
    current = pd.DataFrame(current)
    current.loc[:4, numeric[0]] = np.nan  # missing values are counted in the legend, not silently lost
    return pd.DataFrame(reference), current


def drift_metrics(reference: pd.DataFrame, current: pd.DataFrame, monitor: MonitorConfig) -> list[Metric]:
    """Drift figures computed with scipy, the way a drift step would report them."""
    metrics = []
    for name in monitor.columns.numeric_features:
        ref, cur = reference[name].dropna(), current[name].dropna()
        value = wasserstein_distance(ref, cur) / ref.std()
        metrics.append(Metric("drift", "wasserstein", value, feature=name, threshold=DRIFT_THRESHOLD,
                              status=Status.WARN if value >= DRIFT_THRESHOLD else Status.OK))
    for name in monitor.columns.categorical_features:
        categories = sorted(set(reference[name]) | set(current[name]))
        ref = reference[name].value_counts(normalize=True).reindex(categories, fill_value=0)
        cur = current[name].value_counts(normalize=True).reindex(categories, fill_value=0)
        value = jensenshannon(ref, cur, base=2)
        metrics.append(Metric("drift", "jensenshannon", value, feature=name, threshold=DRIFT_THRESHOLD,
                              status=Status.WARN if value >= DRIFT_THRESHOLD else Status.OK))
    drifted = sum(m.status is Status.WARN for m in metrics)
    metrics.append(Metric("drift", "drifted_feature_share", drifted / len(metrics), threshold=0.5, status=Status.OK))
    return metrics


def performance_metrics(current: pd.DataFrame) -> list[Metric]:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, len(current))
    scores = np.clip(labels * 0.3 + rng.uniform(0, 0.7, len(current)), 0, 1)
    metrics = [Metric("performance", "roc_auc", roc_auc_score(labels, scores), threshold=0.75, status=Status.OK),
               Metric("performance", "label_coverage", 0.62, status=Status.INFO)]
    for region in ("north", "south"):
        mask = (current["region"] == region).to_numpy()
        recall = recall_score(labels[mask], scores[mask] >= (0.9 if region == "north" else 0.5))
        metrics.append(Metric("performance", "recall", recall, segment=f"region={region}", threshold=0.5,
                              status=Status.WARN if recall < 0.5 else Status.OK))
    return metrics


def operations_metrics() -> list[Metric]:
    return [Metric("operations", "row_count", 1500, status=Status.INFO),
            Metric("operations", "latency_p50_ms", 120.0, status=Status.INFO),
            Metric("operations", "latency_p95_ms", 430.0, threshold=500, status=Status.OK),
            Metric("operations", "error_rate", 0.012, threshold=0.05, status=Status.OK)]


def make_history(days: int = 10) -> pd.DataFrame:
    rows = []
    for offset in range(1, days + 1):
        day = DAY - dt.timedelta(days=offset)
        rows += [
            {"partition_date": day, "area": "performance", "metric": "roc_auc", "value": 0.8 + offset / 200},
            {"partition_date": day, "area": "operations", "metric": "latency_p95_ms", "value": 400 + offset},
            {"partition_date": day, "area": "operations", "metric": "latency_p50_ms", "value": 100 + offset},
            {"partition_date": day, "area": "operations", "metric": "error_rate", "value": 0.01 + offset / 1000},
        ]
    frame = pd.DataFrame(rows)
    frame["feature"], frame["segment"], frame["threshold"], frame["status"] = "", "", None, "ok"
    return frame


def make_checks() -> list[CheckOutcome]:
    return [
        CheckOutcome("schema", True, "ERROR", "Every configured column is present"),
        CheckOutcome("nulls", False, "ERROR", "At most 5% missing values per column",
                     examples=("income: 8% missing",)),
        CheckOutcome("categories", False, "WARN", f"Only known values in {HOSTILE}", examples=(HOSTILE, "west")),
        CheckOutcome("feature_drift", False, "WARN", "2 of 7 features drifted", examples=("income",)),
        CheckOutcome("operational_thresholds", True, "WARN", "2 operational figure(s) within thresholds"),
    ]


def make_report(numeric: list[str] = NUMERIC, categorical: list[str] = CATEGORICAL,
                shifted: frozenset[str] = frozenset({"income", HOSTILE})) -> ReportInput:
    monitor = make_monitor(numeric, categorical)
    reference, current = make_frames(numeric, categorical, set(shifted))
    metrics = [*drift_metrics(reference, current, monitor), *performance_metrics(current), *operations_metrics(),
               Metric("validation", "null_fraction", 0.08, feature="income", threshold=0.05, status=Status.FAIL)]
    return ReportInput(monitor=monitor, partition_date=DAY, row_count=len(current), checks=make_checks(),
                       metrics=metrics, reference=reference, current=current, history=make_history(),
                       notes=(f"Column {HOSTILE} looked odd",))


def feature_drift(report: ReportInput) -> list[Metric]:
    return [m for m in report.metrics if m.area == "drift" and m.feature]


def expected_distribution_features(report: ReportInput) -> set[str]:
    ranked = sorted(feature_drift(report), key=lambda m: m.value / m.threshold, reverse=True)
    drifted = [m.feature for m in ranked if m.status is Status.WARN]
    stable = [m.feature for m in ranked if m.status is not Status.WARN][:MAX_DISTRIBUTIONS_OF_STABLE]
    return set(drifted + stable)


def embedded_pngs(page: str) -> list[bytes]:
    return [base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


@pytest.fixture(scope="module")
def typical(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReportInput, Path, str]:
    report = make_report()
    path = render_model_day_report(tmp_path_factory.mktemp("reports"), report)
    return report, path, path.read_text(encoding="utf-8")


def test_report_writes_html_and_one_valid_non_blank_png_per_chart(typical):
    report, path, page = typical
    assert path.relative_to(path.parents[2]).as_posix() == "credit_default/2026-10-15/index.html"
    pngs = sorted(path.parent.glob("*.png"))
    names = {p.name for p in pngs}
    assert {"drift_scores.png", "performance_trend.png", "operations_trend.png"} <= names
    assert len([n for n in names if n.startswith("dist_")]) == len(expected_distribution_features(report))
    assert {"dist_income.png", "dist_region.png"} <= names
    for png in pngs:
        data = png.read_bytes()
        assert data.startswith(PNG_MAGIC), png.name
        pixels = mpimg.imread(png)
        assert pixels.ndim == 3 and pixels.shape[0] > 50 and pixels.shape[1] > 50
        assert pixels[..., :3].var() > 0, f"{png.name} is blank"
    assert sorted(embedded_pngs(page)) == sorted(p.read_bytes() for p in pngs)


def test_charts_drawn_two_at_a_time_are_the_charts_drawn_one_after_another(typical, tmp_path, monkeypatch):
    _, path, _ = typical
    monkeypatch.setattr(render_module, "ThreadPoolExecutor", InlineExecutor)
    one_by_one = render_model_day_report(tmp_path, make_report())
    drawn = {png.name: png.read_bytes() for png in path.parent.glob("*.png")}
    assert len([name for name in drawn if name.startswith("dist_")]) >= 5
    assert drawn == {png.name: png.read_bytes() for png in one_by_one.parent.glob("*.png")}


def test_summary_names_model_date_status_and_largest_drift(typical):
    report, _, page = typical
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    drift = feature_drift(report)
    drifted = [m for m in drift if m.status is Status.WARN]
    largest = max(drifted, key=lambda m: m.value / m.threshold)
    assert "credit_default" in page and "2026-10-15" in page
    assert "✖ Failed" in text  # the failed ERROR check 'nulls' fails the day
    method = {"wasserstein": "normed Wasserstein", "jensenshannon": "Jensen-Shannon distance"}[largest.metric]
    assert (f"{len(drifted)} of {len(drift)} features drifted; the largest is {largest.feature}, "
            f"{method} {largest.value:.3g} against a threshold of {DRIFT_THRESHOLD:.2f}.") in text
    assert "2 of 3 checks failed: nulls (error), categories (warning)." in text
    roc_auc = next(m.value for m in report.metrics if m.metric == "roc_auc")
    north = next(m.value for m in report.metrics if m.segment == "region=north")
    assert (f"ROC AUC {roc_auc:.3g} against a minimum of 0.75; label coverage 62%; 1 of 3 figures out of bounds: "
            f"recall for region=north {north:.3g} against a minimum of 0.50.") in text
    assert ("p95 latency 430 ms against a maximum of 500 ms; error rate 1.2% against a maximum of 5%; "
            "all figures within bounds.") in text


def test_summary_comes_first_and_each_check_sits_in_its_section(typical):
    _, _, page = typical
    markers = ('class="summary"', 'id="data-quality"', "<td>nulls</td>", 'id="drift"', "<td>feature_drift</td>",
               'id="performance"', 'id="operations"', "<td>operational_thresholds</td>")
    positions = [page.index(marker) for marker in markers]
    assert positions == sorted(positions)


def test_hostile_names_are_escaped_everywhere(typical):
    _, path, page = typical
    assert "<script" not in page.lower()
    assert HOSTILE not in page
    # description, feature, category example, note, check description: all shown as text
    assert page.count(ESCAPED_HOSTILE) >= 5
    hostile_png = f"dist_{safe_filename_part(HOSTILE)}.png"
    assert (path.parent / hostile_png).is_file()
    for png in path.parent.iterdir():
        assert re.fullmatch(r"[a-z0-9_.-]+", png.name), png.name


def test_page_requests_nothing_external(typical):
    _, _, page = typical
    targets = re.findall(r'(?:src|href)\s*=\s*["\']?([^"\' >]*)', page, flags=re.IGNORECASE)
    assert targets
    for target in targets:
        assert not re.match(r"(?i)(https?:)?//", target), target
        assert target.startswith(("data:image/png;base64,", "#", "../")), target
    assert "http://" not in page and "https://" not in page
    assert "url(" not in page and "@import" not in page


def test_rerender_with_fewer_charts_removes_stale_pngs(tmp_path):
    report = make_report(numeric=["income"], categorical=["region"])
    folder = render_model_day_report(tmp_path, report).parent
    assert any(p.name.startswith("dist_") for p in folder.glob("*.png"))
    (folder / "notes.txt").write_text("kept")
    blocked = ReportInput(monitor=report.monitor, partition_date=DAY, row_count=0, checks=report.checks,
                          metrics=[m for m in report.metrics if m.area == "operations"], reference=report.reference,
                          current=None, history=pd.DataFrame(), notes=())
    render_model_day_report(tmp_path, blocked)
    assert sorted(p.name for p in folder.iterdir()) == ["index.html", "notes.txt"]
    assert not list(folder.glob(".*.tmp"))


def test_blocked_day_renders_its_note_without_distributions(tmp_path):
    report = make_report()
    note = "Drift was not computed: validation check 'nulls' failed (ERROR)"
    blocked = ReportInput(monitor=report.monitor, partition_date=DAY, row_count=1500, checks=report.checks,
                          metrics=[], reference=None, current=None, history=report.history, notes=(note,))
    page = render_model_day_report(tmp_path, blocked).read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    assert note in text
    assert "Drift was not computed for this day." in text
    assert "No performance figures for this day yet" in text
    assert "No operational figures for this day." in text
    # earlier days still give trends; nothing about drift or distributions is drawn
    pngs = {p.name for p in (tmp_path / "credit_default" / "2026-10-15").glob("*.png")}
    assert pngs == {"performance_trend.png", "operations_trend.png"}


def test_hundred_feature_report_stays_under_two_megabytes(tmp_path):
    numeric = [f"feature_{i:03d}" for i in range(100)]
    report = make_report(numeric=numeric, categorical=["region"], shifted=frozenset(numeric[:60]))
    path = render_model_day_report(tmp_path, report)
    assert path.stat().st_size < 2_000_000
    assert sum(p.stat().st_size for p in path.parent.iterdir()) < 2_000_000
    assert len(list(path.parent.glob("dist_*.png"))) <= 24  # drifted first, capped
    drifted = sum(m.status is Status.WARN for m in feature_drift(report))
    assert drifted >= 60
    assert f"{drifted} of 101 features drifted" in html.unescape(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("checks", "statuses", "expected"), [
    ([], [], "missing"),
    ([], [Status.INFO, Status.MISSING], "missing"),
    ([("a", True, "ERROR")], [], "ok"),
    ([], [Status.OK, Status.MISSING], "ok"),
    ([("a", False, "WARN")], [Status.OK], "warn"),
    ([], [Status.OK, Status.WARN], "warn"),
    ([("a", False, "ERROR")], [Status.OK], "fail"),
    ([("a", False, "WARN")], [Status.FAIL], "fail"),
    ([("a", False, "error")], [], "fail"),
])
def test_day_status_is_the_worst_of_checks_and_metrics(checks, statuses, expected):
    outcomes = [CheckOutcome(name, passed, severity, "") for name, passed, severity in checks]
    metrics = [Metric("operations", "m", 1.0, status=s) for s in statuses]
    assert day_status(outcomes, metrics) == expected


def test_index_rejects_unknown_status(tmp_path):
    with pytest.raises(ValueError, match="status 'great'"):
        render_index(tmp_path, [DayCell("m", DAY, "great", "")])


def test_history_with_unreadable_dates_is_an_error(tmp_path):
    report = make_report()
    history = make_history().astype({"partition_date": object})
    history.loc[0, "partition_date"] = "not a date"
    with pytest.raises(ValueError, match="partition_date"):
        render_model_day_report(tmp_path, dataclasses.replace(report, history=history))


@pytest.mark.parametrize(("metric", "value", "expected"), [
    ("error_rate", 0.01234, "1.23%"),
    ("label_coverage", 0.5, "50%"),
    ("row_count", 12345, "12,345"),
    ("latency_p95_ms", 123.456, "123 ms"),
    ("latency_p99_ms", 1234.5, "1,230 ms"),
    ("roc_auc", 0.81234, "0.812"),
    ("mae", 123456.7, "123,000"),
    ("rmse", 0.000012345, "1.23e-05"),
    ("r2", float("nan"), "—"),
])
def test_numbers_are_formatted_for_humans(metric, value, expected):
    assert format_value(metric, value) == expected


@pytest.mark.parametrize("name", ["../../etc/passwd", "a b/c", "..", "", "Ünïcode ✓", "x" * 300, HOSTILE])
def test_feature_filenames_are_safe_stable_and_distinct(name):
    part = safe_filename_part(name)
    assert re.fullmatch(r"[a-z0-9_-]{1,60}", part)
    assert part == safe_filename_part(name)
    assert part != safe_filename_part(name + "_")


def test_drift_table_pairs_test_statistic_with_its_p_value_and_explains_unjudged_features(tmp_path):
    """Metrics shaped like the drift step's: every statistic as INFO, the decision with a threshold, a 1/0 verdict."""
    monitor = make_monitor(["age", "income", "debt_ratio"], ["region"])
    reference, current = make_frames(["age", "income", "debt_ratio"], ["region"], {"income"}, rows=300)
    stat = ks_2samp(reference["income"], current["income"].dropna())
    stable = ks_2samp(reference["age"], current["age"].dropna())
    metrics = []
    for feature, result in (("income", stat), ("age", stable)):
        status = Status.WARN if result.pvalue < 0.05 else Status.OK
        metrics += [Metric("drift", "ks_statistic", result.statistic, feature=feature),
                    Metric("drift", "ks_p_value", result.pvalue, feature=feature, threshold=0.05, status=status),
                    Metric("drift", "wasserstein_normed", 0.9, feature=feature),
                    Metric("drift", "drift_detected", float(status is Status.WARN), feature=feature, status=status),
                    Metric("drift", "reference_rows", reference[feature].count(), feature=feature),
                    Metric("drift", "current_rows", current[feature].count(), feature=feature)]
    reason = "not judged: column 'debt_ratio' is not in the current data"
    metrics.append(Metric("drift", "drift_detected", float("nan"), feature="debt_ratio", status=Status.MISSING,
                          detail=reason))
    report = ReportInput(monitor=monitor, partition_date=DAY, row_count=300, checks=[], metrics=metrics,
                         reference=reference, current=current.drop(columns=["debt_ratio"]), history=pd.DataFrame())
    page = render_model_day_report(tmp_path, report).read_text(encoding="utf-8")
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    assert stat.pvalue < 0.05 <= stable.pvalue
    sizes = f"{reference['income'].count():,} {current['income'].count():,}"  # exact counts, not 3 digits
    assert f"income KS p-value {stat.statistic:.3g} {stat.pvalue:.3g} p < 0.05 {sizes} ▲ drifted" in text
    assert (f"1 of 2 features drifted; the largest is income, KS p-value {stat.pvalue:.3g} "
            "against a threshold of 0.05.") in text
    assert "1 feature could not be judged." in text and reason in text


# --- trends, bands and the key chart ---------------------------------------------------------------------------

def whole_day_row(day: dt.date, area: str, metric: str, value: float) -> dict:
    return {"partition_date": day, "area": area, "metric": metric, "feature": "", "segment": "", "value": value,
            "threshold": None, "status": "info"}


def labeled_counts(offset: int) -> tuple[int, int]:
    """(correct, labeled) of an earlier day: accuracy is an exact share of labeled rows, as the step computes it."""
    return 70 + offset // 2, 100 + offset


def long_history(days: int) -> pd.DataFrame:
    """Whole-day rows of the ``days`` days before DAY, as MetricStore.history returns them."""
    rows = []
    for offset in range(1, days + 1):
        day = DAY - dt.timedelta(days=offset)
        correct, labeled = labeled_counts(offset)
        rows += [whole_day_row(day, "performance", "roc_auc", 0.8 + offset / 1000),
                 whole_day_row(day, "performance", "accuracy", correct / labeled),
                 whole_day_row(day, "performance", "labeled_rows", labeled),
                 whole_day_row(day, "performance", "label_coverage", min(1.0, offset / 10)),
                 whole_day_row(day, "drift", "drifted_feature_share", (offset % 5) / 10),
                 whole_day_row(day, "operations", "row_count", 1500 + offset),
                 whole_day_row(day, "operations", "latency_p95_ms", 400 + offset),
                 whole_day_row(day, "operations", "error_rate", 0.01 + offset / 10_000)]
        rows.append({**whole_day_row(day, "performance", "roc_auc", 0.1), "segment": "region=north"})  # not a trend
    return pd.DataFrame(rows)


@pytest.fixture()
def drawn_trends(monkeypatch) -> list[list[charts.TrendPanel]]:
    """The panels of every trend chart drawn during the test, in drawing order."""
    drawn, draw = [], charts.trend_png

    def record(panels, highlight=None):
        drawn.append(panels)
        return draw(panels, highlight)

    monkeypatch.setattr(charts, "trend_png", record)
    return drawn


def without_distributions(report: ReportInput) -> ReportInput:
    """The report of a day whose rows were not loaded: the same figures and trends, no distribution plots (faster)."""
    return dataclasses.replace(report, current=None)


def chart_titled(drawn: list[list[charts.TrendPanel]], prefix: str) -> list[charts.TrendPanel]:
    return next(panels for panels in drawn if panels[0].title.startswith(prefix))


def test_performance_trend_shows_30_days_with_bound_and_a_wilson_band_matching_scipy(tmp_path, drawn_trends):
    report = without_distributions(make_report())
    report = dataclasses.replace(report, history=long_history(45), metrics=[
        *report.metrics, Metric("performance", "accuracy", 140 / 200), Metric("performance", "labeled_rows", 200)])
    path = render_model_day_report(tmp_path, report)
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))).split())

    main, accuracy = chart_titled(drawn_trends, "ROC AUC")
    assert main.series[0].dates == [DAY - dt.timedelta(days=back) for back in range(29, -1, -1)]
    assert ("min 0.75", 0.75) in main.limits
    assert main.series[0].lower is None  # ROC AUC is no share of labeled rows: no band, and the page says why
    assert "No confidence band for ROC AUC" in text and "Accuracy band: 95% Wilson interval" in text
    band = accuracy.series[0]
    counts = {DAY - dt.timedelta(days=o): labeled_counts(o) for o in range(1, 30)} | {DAY: (140, 200)}
    for day, low, high in zip(band.dates, band.lower, band.upper, strict=True):
        interval = binomtest(*counts[day]).proportion_ci(0.95, method="wilson")
        assert (low, high) == pytest.approx((interval.low, interval.high), abs=1e-9)


def test_label_coverage_chart_shades_the_days_whose_labels_may_still_arrive(tmp_path, drawn_trends):
    report = dataclasses.replace(without_distributions(make_report()), history=long_history(45))
    folder = render_model_day_report(tmp_path, report).parent
    coverage, labeled = chart_titled(drawn_trends, "Label coverage")
    assert (folder / "label_coverage.png").is_file()
    assert coverage.percent and coverage.series[0].values[-1] == 0.62  # today's figure, from the day's metrics
    assert coverage.series[0].dates[0] == DAY - dt.timedelta(days=29)
    assert coverage.shade_from == DAY - dt.timedelta(days=report.monitor.labels.max_delay_days)
    assert labeled.series[0].values[:3] == [100 + 29, 100 + 28, 100 + 27]


def test_interval_bounds_reported_with_a_metric_are_drawn_as_its_band(tmp_path, drawn_trends):
    history = long_history(5)
    bounds = [whole_day_row(d, "performance", f"roc_auc_{end}", value)
              for d in history["partition_date"].unique() for end, value in (("lower", 0.7), ("upper", 0.9))]
    report = dataclasses.replace(without_distributions(make_report()),
                                 history=pd.concat([history, pd.DataFrame(bounds)]))
    render_model_day_report(tmp_path, report)
    (main,) = chart_titled(drawn_trends, "ROC AUC")  # a band of its own: no accuracy panel beside it
    series = main.series[0]
    assert series.lower[:-1] == [0.7] * 5 and series.upper[:-1] == [0.9] * 5
    assert math.isnan(series.lower[-1])  # today reported no interval: no band that day


@pytest.mark.parametrize(("successes", "trials"), [(0, 10), (10, 10), (3, 7), (150, 200), (1, 1)])
def test_wilson_interval_matches_scipy(successes, trials):
    expected = binomtest(successes, trials).proportion_ci(0.95, method="wilson")
    assert wilson_interval(successes / trials, trials) == pytest.approx((expected.low, expected.high), abs=1e-9)


def test_wilson_interval_of_no_trials_is_undefined():
    assert all(math.isnan(bound) for bound in wilson_interval(0.5, 0))


def test_whole_day_values_skip_scoped_and_non_finite_rows_and_let_the_later_row_win():
    rows = pd.DataFrame([whole_day_row(DAY, "operations", "error_rate", 0.1),
                         whole_day_row(DAY, "operations", "error_rate", 0.2),
                         {**whole_day_row(DAY, "operations", "error_rate", 0.9), "segment": "status=ok"},
                         whole_day_row(DAY - dt.timedelta(days=2), "operations", "error_rate", math.nan),
                         whole_day_row(DAY - dt.timedelta(days=1), "operations", "error_rate", 0.3),
                         whole_day_row(DAY, "performance", "error_rate", 0.5)])
    assert whole_day_values(rows, "operations", "error_rate") == {DAY - dt.timedelta(days=1): 0.3, DAY: 0.2}


def with_metric_status(report: ReportInput, metric: str, status: Status) -> ReportInput:
    return dataclasses.replace(report, metrics=[dataclasses.replace(m, status=status) if m.metric == metric else m
                                                for m in report.metrics])


def test_key_chart_is_the_chart_of_the_worst_area_drift_first_among_equals(tmp_path):
    report = without_distributions(make_report())  # drift and performance warn, operations ok
    assert key_chart(render_model_day_report(tmp_path / "a", report)).name == "drift_scores.png"
    failing_operations = with_metric_status(report, "error_rate", Status.FAIL)
    assert key_chart(render_model_day_report(tmp_path / "b", failing_operations)).name == "operations_trend.png"
    without_drift = dataclasses.replace(report, metrics=[m for m in report.metrics if m.area != "drift"])
    assert key_chart(render_model_day_report(tmp_path / "c", without_drift)).name == "performance_trend.png"
    bare = dataclasses.replace(without_drift, history=pd.DataFrame())
    assert key_chart(render_model_day_report(tmp_path / "d", bare)) is None


# --- the index and the per-model page --------------------------------------------------------------------------

def write_stub(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("a page")


def grid_cells(page_part: str) -> list[tuple[str, str]]:
    """(status css, tooltip) of every day cell in a part of a page."""
    cells = re.findall(r'<td class="st-(\w+)" title="([^"]*)"', page_part)
    return [(css, html.unescape(title)) for css, title in cells]


def assert_links_resolve(page_path: Path, page: str, allowed_dead: tuple[str, ...] = ()) -> list[str]:
    links = re.findall(r'href="([^"]+)"', page)
    for link in links:
        assert not re.match(r"(?i)[a-z]+:|/", link), link
        assert link in allowed_dead or (page_path.parent / link).resolve().is_file(), link
    return links


def test_index_has_30_and_90_day_grids_with_no_report_cells_and_links_only_to_existing_pages(tmp_path):
    gap = DAY - dt.timedelta(days=10)
    cells = [DayCell("credit_default", DAY, "fail", "2 checks failed"),
             *[DayCell("house_price", DAY - dt.timedelta(days=d), "ok", "all fine") for d in range(100) if d != 10],
             DayCell(HOSTILE, DAY - dt.timedelta(days=1), "warn", f"odd {HOSTILE}")]
    for model, day in (("credit_default", DAY), ("house_price", DAY), ("house_price", DAY - dt.timedelta(days=1))):
        write_stub(tmp_path / model / day.isoformat() / "index.html")
    write_stub(tmp_path / "house_price" / "index.html")  # only house_price has a trend page
    path = render_index(tmp_path, cells)
    page = path.read_text(encoding="utf-8")

    links = assert_links_resolve(path, page)
    assert {"house_price/index.html", "credit_default/2026-10-15/index.html", "house_price/2026-10-14/index.html"} \
        <= set(links)
    assert "credit_default/index.html" not in links
    latest, last_30, last_90 = re.split(r'id="last-30-days"|id="last-90-days"', page)
    for part, size in ((last_30, 30), (last_90, 90)):
        cells_shown = grid_cells(part)
        assert len(cells_shown) == 3 * size  # every model, every calendar day
        first = (DAY - dt.timedelta(days=size - 1)).isoformat()
        assert f"credit_default, {first}: no report" in [title for _, title in cells_shown]
        assert ("none", f"house_price, {gap.isoformat()}: no report") in cells_shown
        assert ("fail", "credit_default, 2026-10-15: Failed. 2 checks failed") in cells_shown
    assert "Last 30 days: 29 OK, 1 without a report." in latest and "2 checks failed" in latest
    assert HOSTILE not in page and ESCAPED_HOSTILE in page


TREND_PNGS = {"trend_performance.png", "trend_label_coverage.png", "trend_drifted_share.png", "trend_row_count.png",
              "trend_latency_p95.png", "trend_error_rate.png"}


def test_model_page_strip_links_reports_and_trends_span_all_history(tmp_path, drawn_trends):
    monitor = make_report().monitor
    missing = {DAY - dt.timedelta(days=3), DAY - dt.timedelta(days=4)}
    days = [DAY - dt.timedelta(days=back) for back in range(120)]
    cells = [DayCell("credit_default", d, "fail" if d == DAY - dt.timedelta(days=1) else "ok", f"about {d}")
             for d in days if d not in missing] + [DayCell("house_price", DAY, "warn", "not this model")]
    for day in days[:10]:
        if day not in missing:
            write_stub(tmp_path / "credit_default" / day.isoformat() / "index.html")
    stale = tmp_path / "credit_default" / "trend_retired_metric.png"
    stale.write_bytes(b"from an older version")
    path = render_model_page(tmp_path, monitor, cells, long_history(200))
    page = path.read_text(encoding="utf-8")

    assert path == tmp_path / "credit_default" / "index.html"
    strip = grid_cells(page[page.index('id="status"'):page.index("Days that need attention")])
    assert len(strip) == 90 and "2026-07-18" in strip[0][1] and "2026-10-15" in strip[-1][1]
    assert [title for css, title in strip if css == "none"] == [
        f"credit_default, {d.isoformat()}: no report" for d in sorted(missing)]
    links = assert_links_resolve(path, page, allowed_dead=("../index.html",))
    assert len([link for link in links if link.endswith(f"{DAY - dt.timedelta(days=1)}/index.html")]) == 2
    assert "not this model" not in page and HOSTILE not in page and ESCAPED_HOSTILE in page

    assert {p.name for p in path.parent.glob("*.png")} == TREND_PNGS  # the stale one removed
    assert all((tmp_path / "credit_default" / d.isoformat() / "index.html").is_file()
               for d in days[:10] if d not in missing)
    for png in path.parent.glob("*.png"):
        assert mpimg.imread(png)[..., :3].var() > 0, png.name
    assert sorted(embedded_pngs(page)) == sorted(p.read_bytes() for p in path.parent.glob("*.png"))
    (main,) = chart_titled(drawn_trends, "ROC AUC")
    assert main.series[0].dates[0] == DAY - dt.timedelta(days=200) and ("min 0.75", 0.75) in main.limits
    (drifted,) = chart_titled(drawn_trends, "Share of features that drifted")
    assert [value for _, value in drifted.limits] == [monitor.drift.dataset_drift_share]
    (errors,) = chart_titled(drawn_trends, "Error rate")
    assert ("max 5%", 0.05) in errors.limits


def test_model_page_strip_starts_when_the_monitor_did(tmp_path):
    monitor = make_report().monitor
    days = [monitor.start_date + dt.timedelta(days=offset) for offset in range((DAY - monitor.start_date).days + 1)]
    cells = [DayCell("credit_default", d, "ok", "") for d in days if d != DAY - dt.timedelta(days=2)]
    page = render_model_page(tmp_path, monitor, cells, None).read_text(encoding="utf-8")
    strip = grid_cells(page[page.index('id="status"'):])
    assert [title.split(":")[0] for _, title in strip] == [f"credit_default, {d.isoformat()}" for d in days]
    assert [css for css, _ in strip].count("none") == 1
    assert f"Last {len(days)} days: {len(days) - 1} OK, 1 without a report." in page


def test_model_page_without_any_data_says_so(tmp_path):
    path = render_model_page(tmp_path, make_report().monitor, [], None)
    text = html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))
    assert "No day has been reported for this model yet." in text
    assert "ROC AUC: fewer than two days with a value yet." in text
    assert not list(path.parent.glob("*.png"))


# --- memory over a backfill ------------------------------------------------------------------------------------

def resident_megabytes() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads the resident set size from Linux /proc")
def test_rendering_many_reports_does_not_grow_memory(tmp_path):
    """Figures must be freed after each chart: a 365-day backfill renders thousands of them in one process.
    Each render here draws one chart (a kept figure adds about 0.7 MB, so 50 of them fail this), and goes the
    whole way through the template and the files."""
    monitor = make_monitor(["income"], [])
    reference, current = make_frames(["income"], [], {"income"}, rows=300)
    report = ReportInput(monitor=monitor, partition_date=DAY, row_count=300, checks=make_checks(),
                         metrics=drift_metrics(reference, current, monitor), reference=reference, current=None,
                         history=pd.DataFrame())
    for warm_up in range(5):
        render_model_day_report(tmp_path, dataclasses.replace(report, partition_date=DAY - dt.timedelta(warm_up)))
    gc.collect()
    before = resident_megabytes()
    for offset in range(50):
        render_model_day_report(tmp_path, dataclasses.replace(report, partition_date=DAY + dt.timedelta(offset)))
    gc.collect()
    assert resident_megabytes() - before < 20


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("days", [2, 5, 12, 90, 365])
def test_trend_chart_draws_any_date_range_without_warnings(days):
    dates = [DAY - dt.timedelta(days=back) for back in range(days - 1, -1, -1) if back != 1]  # one day missing
    series = charts.TrendSeries("error rate", dates, [0.01] * len(dates), [0.0] * len(dates), [0.02] * len(dates))
    png = charts.trend_png([charts.TrendPanel("Error rate", [series], [("max 5%", 0.05)], percent=True,
                                              shade_from=dates[0], shade_label="recent")], DAY)
    assert png.startswith(PNG_MAGIC)


@pytest.mark.parametrize("integers", [False, True])
def test_distribution_chart_shares_are_numpys_histogram_with_the_tails_folded_in(integers):
    rng = np.random.default_rng(5)
    values = rng.poisson(6, 20_000).astype(float) if integers else rng.lognormal(0, 1, 20_000)
    edges = charts._bin_edges(values)
    values[:3] = [edges[0] - 100, edges[-1] + 100, edges[5]]  # tails beyond the edges, and a value on an edge
    clipped = np.clip(values, edges[0], edges[-1])
    expected = np.histogram(clipped, bins=edges)[0] / values.size
    assert charts.histogram_shares(values, edges).tolist() == expected.tolist()
    assert charts.histogram_shares(values, edges).sum() == pytest.approx(1.0)


def _edges_of_the_samples_laid_end_to_end(values: np.ndarray) -> np.ndarray:
    """The chart's bin rule written out on one concatenated array (the oracle for ``_bin_edges`` of several)."""
    low, high = np.quantile(values[:: max(1, values.size // charts.EDGE_SAMPLE)], [0.005, 0.995])
    if low == high:
        low, high = values.min(), values.max()
    if np.all(values == np.round(values)) and high - low <= 40:
        return np.arange(np.floor(low) - 0.5, np.ceil(high) + 1.5)
    if low == high:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, charts.HISTOGRAM_BINS + 1)


@pytest.mark.parametrize("kind", ["lognormal", "integers", "integers but one", "constant", "one side empty"])
@pytest.mark.parametrize("sizes", [(1000, 700), (charts.EDGE_SAMPLE + 7, 2 * charts.EDGE_SAMPLE + 5)])
def test_distribution_chart_bins_of_two_samples_are_those_of_the_samples_laid_end_to_end(kind, sizes):
    rng = np.random.default_rng(sum(sizes))
    make = {"lognormal": lambda n: rng.lognormal(0, 1, n), "integers": lambda n: rng.poisson(6, n).astype(float),
            "integers but one": lambda n: rng.poisson(6, n).astype(float), "constant": lambda n: np.full(n, 3.25),
            "one side empty": lambda n: rng.normal(0, 1, n)}[kind]
    reference, current = make(sizes[0]), make(sizes[1])
    if kind == "integers but one":
        current[-1] = 2.5  # off every evenly spaced value
    if kind == "one side empty":
        reference = reference[:0]
    expected = _edges_of_the_samples_laid_end_to_end(np.concatenate([reference, current]))
    assert charts._bin_edges(reference, current).tolist() == expected.tolist()


def test_distribution_chart_bins_of_a_large_sample_span_its_central_99_percent():
    """Beyond ``EDGE_SAMPLE`` values the bin bounds come from evenly spaced values: still at the 0.5 % and
    99.5 % ranks of the whole sample, to within a tenth of a percent of its rows."""
    values = np.random.default_rng(6).lognormal(0, 1, 4 * charts.EDGE_SAMPLE + 3)
    edges = charts._bin_edges(values)
    assert edges.size == charts.HISTOGRAM_BINS + 1
    ranks = [np.mean(values < edges[0]), np.mean(values < edges[-1])]
    assert ranks == pytest.approx([0.005, 0.995], abs=0.001)
