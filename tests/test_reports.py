"""Static HTML reports: files, valid non-blank PNGs, readable summary, escaping, no external requests, index."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import html
import re
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance
from sklearn.metrics import recall_score, roc_auc_score

from monitoring_jobs.config import MonitorConfig
from monitoring_jobs.metrics import CheckOutcome, Metric, Status
from monitoring_jobs.reports import DayCell, ReportInput, day_status, render_index, render_model_day_report
from monitoring_jobs.reports.render import format_value, safe_filename_part

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
    metrics.append(Metric("drift", "drift_share", drifted / len(metrics), threshold=0.5, status=Status.OK))
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


def test_summary_names_model_date_status_and_largest_drift(typical):
    report, _, page = typical
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    drift = feature_drift(report)
    drifted = [m for m in drift if m.status is Status.WARN]
    largest = max(drifted, key=lambda m: m.value / m.threshold)
    assert "credit_default" in page and "2026-10-15" in page
    assert "✖ Failed" in text  # the failed ERROR check 'nulls' fails the day
    assert f"{len(drifted)} of {len(drift)} features drifted; the largest is {largest.feature}" in text
    assert f"threshold {DRIFT_THRESHOLD:g}" in text
    assert "2 of 3 checks failed: nulls (error), categories (warning)" in text
    roc_auc = next(m.value for m in report.metrics if m.metric == "roc_auc")
    assert f"ROC AUC {roc_auc:.3g} (≥ 0.75)" in text
    assert "label coverage 62%" in text and "error rate 1.2%" in text and "p95 latency 430 ms" in text
    assert "recall for region=north" in text  # the segment out of bounds is named


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


def test_index_links_cells_to_existing_reports_and_escapes_names(tmp_path):
    days = [DAY - dt.timedelta(days=d) for d in range(35)]
    cells = [DayCell("credit_default", DAY, "fail", "2 checks failed"),
             *[DayCell("house_price", d, "ok", "all fine") for d in days],
             DayCell(HOSTILE, DAY - dt.timedelta(days=1), "warn", f"odd {HOSTILE}")]
    for cell in cells[:3]:
        folder = tmp_path / cell.model / cell.partition_date.isoformat()
        folder.mkdir(parents=True)
        (folder / "index.html").write_text("report")
    page = render_index(tmp_path, cells).read_text(encoding="utf-8")
    links = re.findall(r'href="([^"]+)"', page)
    assert "credit_default/2026-10-15/index.html" in links and "house_price/2026-10-15/index.html" in links
    for link in links:
        assert (tmp_path / link).resolve().is_file() and not link.startswith(("/", "http"))
    assert HOSTILE not in page and ESCAPED_HOSTILE in page
    assert page.count('class="day"') == 30  # the last 30 days present
    assert (DAY - dt.timedelta(days=29)).isoformat() in page and (DAY - dt.timedelta(days=30)).isoformat() not in page
    assert "✖ Failed" in page and "2 checks failed" in page


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
                    Metric("drift", "drift_detected", float(status is Status.WARN), feature=feature, status=status)]
    reason = "not judged: column 'debt_ratio' is not in the current data"
    metrics.append(Metric("drift", "drift_detected", float("nan"), feature="debt_ratio", status=Status.MISSING,
                          detail=reason))
    report = ReportInput(monitor=monitor, partition_date=DAY, row_count=300, checks=[], metrics=metrics,
                         reference=reference, current=current.drop(columns=["debt_ratio"]), history=pd.DataFrame())
    page = render_model_day_report(tmp_path, report).read_text(encoding="utf-8")
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    assert stat.pvalue < 0.05 <= stable.pvalue
    assert f"income KS p-value {stat.statistic:.3g} {stat.pvalue:.3g} p < 0.05 ▲ drifted" in text
    assert f"1 of 2 features drifted; the largest is income (KS p-value {stat.pvalue:.3g}, threshold 0.05)." in text
    assert "1 feature could not be judged." in text and reason in text
