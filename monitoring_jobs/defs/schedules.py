"""Jobs and schedules: one partitioned job per monitor, scheduled after each day closes."""

from __future__ import annotations

import dagster as dg

from monitoring_jobs.config import MonitorConfig


def build_monitor_job(monitor: MonitorConfig) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        name=f"{monitor.name}_daily",
        selection=dg.AssetSelection.groups(monitor.name),
        description=f"Ingest, validate, measure and report one day of {monitor.name}.",
    )


def build_monitor_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """Runs at 02:00 UTC for the day that just ended. Stopped until switched on in the UI (or
    ``dagster schedule start``), so a fresh checkout never starts runs against data it lacks."""
    return dg.build_schedule_from_partitioned_job(job, hour_of_day=2, default_status=dg.DefaultScheduleStatus.STOPPED)
