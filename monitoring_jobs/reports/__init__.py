"""Static HTML reports with PNG charts: one self-contained page per model-day, one trend page per model, an index."""

from monitoring_jobs.reports.overview import render_index, render_model_page
from monitoring_jobs.reports.render import (
    DayCell,
    DriftCharts,
    ReportInput,
    day_status,
    draw_drift_charts,
    key_chart,
    render_model_day_report,
)

__all__ = ["DayCell", "DriftCharts", "ReportInput", "day_status", "draw_drift_charts", "key_chart", "render_index",
           "render_model_day_report", "render_model_page"]
