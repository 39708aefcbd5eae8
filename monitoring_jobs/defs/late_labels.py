"""The late-labels sensor: re-runs a past day's label-dependent assets when labels of that day arrive.

The decision is plain Python (``monitoring_jobs.late_labels``): each tick lists the label partitions,
compares them with what each day's last performance run read, and requests exactly the days whose own
labels changed. The cursor remembers what was requested, so a day is requested once per state of its
labels even while its run is queued, and a failed run is not retried in a loop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import dagster as dg

from monitoring_jobs.config import MonitorConfig
from monitoring_jobs.defs.metrics import metric_asset_key
from monitoring_jobs.defs.reports import report_asset_key
from monitoring_jobs.defs.resources import MonitoringResource
from monitoring_jobs.late_labels import Refresh, watch_labels

SENSOR_NAME = "late_labels"
TRIGGER_TAG = "monitoring/trigger"
LABEL_PARTITIONS_TAG = "monitoring/label_partitions"
LABEL_AREAS = ("drift", "performance")
"""The metric assets that read a day's labels (label drift, performance); the report is re-rendered after them."""


def run_request(refresh: Refresh, monitor: MonitorConfig, job_name: str) -> dg.RunRequest:
    """Re-materialize the day's label-dependent metrics and its report in the monitor's daily job."""
    return dg.RunRequest(
        run_key=f"{SENSOR_NAME}:{refresh.model}:{refresh.day.isoformat()}:{refresh.key}",
        job_name=job_name,
        partition_key=refresh.day.isoformat(),
        asset_selection=[*(metric_asset_key(monitor, area) for area in LABEL_AREAS), report_asset_key(monitor)],
        tags={TRIGGER_TAG: SENSOR_NAME,
              LABEL_PARTITIONS_TAG: ",".join(arrival.isoformat() for arrival in refresh.arrivals)},
    )


def build_late_labels_sensor(monitors: Sequence[MonitorConfig],
                             jobs: Sequence[dg.UnresolvedAssetJobDefinition]) -> dg.SensorDefinition:
    """``jobs`` are the monitors' daily jobs, in the same order."""
    targets = {monitor.name: (monitor, job.name) for monitor, job in zip(monitors, jobs, strict=True)}

    @dg.sensor(
        name=SENSOR_NAME,
        jobs=list(jobs),
        minimum_interval_seconds=600,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Watches every monitor's label partitions and re-runs drift_metrics (label drift), "
                    "performance_metrics and monitoring_report of exactly the past days whose labels arrived or "
                    "changed since their last run, so a day's performance fills in as its labels come in.",
    )
    def late_labels(context: dg.SensorEvaluationContext, monitoring: MonitoringResource) -> dg.SensorResult:
        today = dt.datetime.now(dt.UTC).date()
        result = watch_labels(monitoring.workspace(), list(monitors), today, context.cursor)
        for problem in result.problems:
            context.log.warning(problem)
        requests = [run_request(refresh, *targets[refresh.model]) for refresh in result.refreshes]
        skip = None if requests else "no day's labels changed since its last performance run"
        return dg.SensorResult(run_requests=requests, cursor=result.cursor, skip_reason=skip)

    return late_labels
