"""Metric assets: drift, performance and operational health of one model-day, each judged by checks."""

from dataclasses import dataclass

import dagster as dg

from monitoring_jobs.config import MonitorConfig, Severity
from monitoring_jobs.defs.checks import check_results, metadata_values
from monitoring_jobs.defs.ingest import inference_logs_key
from monitoring_jobs.defs.partitions import daily_partitions, partition_day
from monitoring_jobs.defs.resources import MonitoringResource
from monitoring_jobs.pipeline import PipelineError
from monitoring_jobs.stages import STAGES, record_stage
from monitoring_jobs.storage import StorageError


@dataclass(frozen=True)
class MetricAsset:
    name: str
    checks: tuple[str, ...]
    kinds: frozenset[str]
    description: str


METRIC_ASSETS = {
    "drift": MetricAsset("drift_metrics", ("feature_drift", "prediction_drift"), frozenset({"scipy", "sqlalchemy"}),
                         "Per-feature and prediction drift against the configured reference, and the share of "
                         "drifted features."),
    "performance": MetricAsset("performance_metrics", ("performance_thresholds",),
                               frozenset({"scikitlearn", "sqlalchemy"}),
                               "Model quality over the predictions whose labels have arrived, overall and per "
                               "segment, with label coverage."),
    "operations": MetricAsset("operational_metrics", ("operational_thresholds",), frozenset({"pandas", "sqlalchemy"}),
                              "Volume against the trailing days, requests per hour, latency percentiles, error rate "
                              "by status, confidence, and for LLM endpoints tokens and cost."),
}


def metric_asset_key(monitor: MonitorConfig, area: str) -> dg.AssetKey:
    return dg.AssetKey([monitor.name, METRIC_ASSETS[area].name])


def metric_check_specs(monitor: MonitorConfig, area: str) -> list[dg.AssetCheckSpec]:
    """The asset's checks; a monitor with ``operations.budget`` also gets ``cost_budget`` on its operations."""
    key = metric_asset_key(monitor, area)
    severity = monitor.drift.severity if area == "drift" else Severity.ERROR
    specs = [dg.AssetCheckSpec(name, asset=key, description=f"{name.replace('_', ' ').capitalize()} "
                               f"(up to {severity.value}, by the monitor's thresholds).")
             for name in METRIC_ASSETS[area].checks]
    budget = monitor.operations.budget
    if area == "operations" and budget is not None:
        specs.append(dg.AssetCheckSpec("cost_budget", asset=key, description=(
            f"The day's cost within operations.budget ({budget.severity.value} when over, saying by how much).")))
    return specs


def build_metric_asset(monitor: MonitorConfig, area: str) -> dg.AssetsDefinition:
    spec = METRIC_ASSETS[area]
    key = metric_asset_key(monitor, area)
    check_specs = metric_check_specs(monitor, area)

    @dg.asset(
        key=key,
        deps=[inference_logs_key(monitor)],
        partitions_def=daily_partitions(monitor.start_date),
        group_name=monitor.name,
        kinds=set(spec.kinds),
        check_specs=check_specs,
        description=f"{spec.description} Stored in the metric table for '{area}'.",
    )
    def metric_asset(context: dg.AssetExecutionContext, monitoring: MonitoringResource) -> dg.MaterializeResult:
        workspace = monitoring.workspace()
        day = partition_day(context)
        try:
            result = STAGES[area](workspace, monitor, day)
        except (PipelineError, StorageError) as exc:
            raise dg.Failure(description=str(exc)) from None
        written = record_stage(workspace, monitor, day, area, result, run_id=context.run.run_id)
        return dg.MaterializeResult(
            metadata={"rows_written": written, **metadata_values(result.facts),
                      **{name: dg.MetadataValue.md(table) for name, table in result.markdown.items()},
                      "failed_checks": dg.MetadataValue.json([o.name for o in result.outcomes if not o.passed])},
            check_results=check_results(result.outcomes),
        )

    return metric_asset
