"""The day's report shows each performance figure with its interval, the estimate beside the realized value,
and the segment fairness view, from the figures compute_performance really produces."""

from __future__ import annotations

import datetime as dt
import html

import numpy as np
import pandas as pd
import pytest

from monitoring_jobs.performance import compute_performance, fit_calibration
from monitoring_jobs.reports import ReportInput, render_model_day_report
from monitoring_jobs.reports.render import format_value
from tests.helpers import build_monitor, by_key

DAY = dt.date(2026, 10, 15)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    rng = np.random.default_rng(0)
    rows = 1500
    score = 1 / (1 + np.exp(-rng.normal(-0.5, 1.5, rows)))
    label = (rng.uniform(size=rows) < score).astype(int)
    inference = pd.DataFrame({"request_id": [f"r{i}" for i in range(rows)], "score": score, "x": 1.0,
                              "region": rng.choice(["north", "south"], rows)})
    labels = pd.DataFrame({"request_id": inference["request_id"], "label": label})
    reference = inference.assign(label=label)
    monitor = build_monitor(columns={"segments": ["region"]}, performance={
        "thresholds": {"roc_auc": {"min": 0.7}}, "segment_thresholds": {"segment_gap_roc_auc": {"max": 0.2}}})
    metrics = compute_performance(inference, labels, monitor, fit_calibration(reference, monitor))
    report = ReportInput(monitor=monitor, partition_date=DAY, row_count=rows, checks=[], metrics=metrics,
                         reference=None, current=None, history=pd.DataFrame())
    page = render_model_day_report(tmp_path_factory.mktemp("reports"), report).read_text(encoding="utf-8")
    return by_key(metrics), html.unescape(page)


def shown(metric) -> tuple[str, str]:
    return (f"{format_value(metric.metric, metric.value)}",
            f"[{format_value(metric.metric, metric.lower)}, {format_value(metric.metric, metric.upper)}]")


def test_figures_show_value_and_interval(rendered):
    metrics, page = rendered
    roc_auc = metrics[("roc_auc", "")]
    value, interval = shown(roc_auc)
    assert roc_auc.lower < roc_auc.value < roc_auc.upper
    assert f"{value} ✔" in page and interval in page
    assert "through their 95% confidence interval" in page


def test_estimated_figures_sit_beside_the_realized_ones(rendered):
    metrics, page = rendered
    section = page[page.index("Estimated without labels (CBPE) and realized"):]
    row = section[section.index("<td>ROC AUC</td>"):section.index("</tr>", section.index("<td>ROC AUC</td>"))]
    estimated, realized = metrics[("estimated_roc_auc", "")], metrics[("roc_auc", "")]
    assert row.index(shown(estimated)[1]) < row.index(shown(realized)[1])  # estimated column first


def test_the_fairness_view_names_worst_and_best_segment(rendered):
    metrics, page = rendered
    gap = metrics[("segment_gap_roc_auc", "region")]
    section = page[page.index("Segment fairness"):]
    assert " ".join(shown(gap)) in section and "worst region=" in section and "best region=" in section
