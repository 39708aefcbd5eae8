"""Builds the Dagster definitions of every monitor config: no code per model."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from monitoring_jobs.config import MonitorConfig, load_monitors
from monitoring_jobs.defs.alerts import build_alert_sensor
from monitoring_jobs.defs.executors import build_executor
from monitoring_jobs.defs.ingest import build_ingest_asset
from monitoring_jobs.defs.late_labels import build_late_labels_sensor
from monitoring_jobs.defs.metrics import METRIC_ASSETS, build_metric_asset
from monitoring_jobs.defs.reports import build_report_asset
from monitoring_jobs.defs.resources import build_resources
from monitoring_jobs.defs.schedules import build_monitor_job, build_monitor_schedule
from monitoring_jobs.settings import Settings, load_settings
from monitoring_jobs.validation import ProfiledSuite, load_suite


def build_monitor_assets(monitor: MonitorConfig, suite: ProfiledSuite | None) -> list[dg.AssetsDefinition]:
    return [build_ingest_asset(monitor, suite), *(build_metric_asset(monitor, area) for area in METRIC_ASSETS),
            build_report_asset(monitor)]


def build_definitions(monitors: Sequence[MonitorConfig] | None = None, settings: Settings | None = None,
                      executor: str | None = None) -> dg.Definitions:
    """Every monitor's assets, checks, job and schedule, plus the alert and late-labels sensors. ``executor``
    (default: ``MONITORING_EXECUTOR``) decides where the jobs' steps run; see ``defs/executors.py``."""
    settings = settings or load_settings()
    monitors = list(monitors) if monitors is not None else load_monitors(settings.monitors_dir)
    assets = [asset for monitor in monitors
              for asset in build_monitor_assets(monitor, load_suite(settings.suite_path(monitor.name)))]
    check_keys = [key for asset in assets for key in asset.check_keys]
    jobs = [build_monitor_job(monitor) for monitor in monitors]
    return dg.Definitions(
        assets=assets,
        jobs=jobs,
        schedules=[build_monitor_schedule(job) for job in jobs],
        sensors=[build_alert_sensor(monitors, check_keys), build_late_labels_sensor(monitors, jobs)],
        resources=build_resources(settings),
        executor=build_executor(executor),
    )
