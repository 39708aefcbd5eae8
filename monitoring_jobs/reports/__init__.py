"""Static HTML reports with PNG charts: one self-contained page per model-day, plus an index."""

from monitoring_jobs.reports.render import (
    DayCell,
    ReportInput,
    day_status,
    render_index,
    render_model_day_report,
)

__all__ = ["DayCell", "ReportInput", "day_status", "render_index", "render_model_day_report"]
