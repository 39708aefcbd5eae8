"""Metric assets: drift, performance and operational health of one model-day, each judged by checks."""

import datetime as dt
from collections.abc import Callable

import dagster as dg

from monitoring_jobs.config import MonitorConfig, Severity
from monitoring_jobs.defs.checks import check_results, metadata_values
from monitoring_jobs.defs.ingest import inference_logs_key
from monitoring_jobs.defs.partitions import daily_partitions, partition_day
from monitoring_jobs.defs.resources import MonitoringResource
from monitoring_jobs.drift import compute_drift
from monitoring_jobs.metrics import CheckOutcome, Metric
from monitoring_jobs.operations import compute_operations
from monitoring_jobs.performance import compute_performance
from monitoring_jobs.pipeline import (
    Workspace,
    load_labels,
    load_reference,
    metric_check,
    read_snapshot,
    save_outcomes,
)

# A stage turns the day's snapshot into metrics, check outcomes and extra Dagster metadata.
StageResult = tuple[list[Metric], list[CheckOutcome], dict]


def drift_stage(workspace: Workspace, monitor: MonitorConfig, day: dt.date) -> StageResult:
    current = read_snapshot(workspace, monitor, day)
    reference, described = load_reference(workspace, monitor, day)
    severity = monitor.drift.severity.value
    if reference is None:
        skipped = [CheckOutcome(name, True, severity, f"Not judged: {described}.")
                   for name in ("feature_drift", "prediction_drift")]
        return [], skipped, {"reference": described}
    report = compute_drift(reference, current, monitor)
    drifted = report.drifted_features()
    feature_check = CheckOutcome(
        "feature_drift", not drifted, severity,
        f"{len(drifted)} of {len(report.features)} features drifted"
        + (f": {', '.join(drifted)}" if drifted else "") + f" (reference: {described}).",
        {"drifted_share": report.drifted_share, "dataset_drift": report.dataset_drift,
         "drifted_features": drifted}, tuple(drifted[:5]))
    prediction = report.prediction
    prediction_drifted = bool(prediction and prediction.drifted)
    prediction_check = CheckOutcome(
        "prediction_drift", not prediction_drifted, severity,
        "No prediction column to compare." if prediction is None else
        f"Prediction '{prediction.feature}' {'drifted' if prediction_drifted else 'is stable'}: "
        f"{prediction.method} = {prediction.statistic:.4g} (threshold {prediction.threshold:.4g}).")
    metadata = {"reference": described, "reference_rows": len(reference), "drifted_features": drifted,
                "drifted_share": report.drifted_share, "features": dg.MetadataValue.md(_drift_table(report))}
    return report.metrics(monitor.drift.severity), [feature_check, prediction_check], metadata


def _drift_table(report) -> str:
    """The per-feature verdicts as a Markdown table for the Dagster UI (names escaped for Markdown)."""
    rows = ["| feature | method | statistic | p-value | threshold | drifted |", "|---|---|---|---|---|---|"]
    for item in [*report.features, *([report.prediction] if report.prediction else [])]:
        name = item.feature.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
        p_value = "" if item.p_value is None else f"{item.p_value:.3g}"
        rows.append(f"| {name} | {item.method} | {item.statistic:.4g} | {p_value} | {item.threshold:.3g} | "
                    f"{'yes' if item.drifted else 'no'} |")
    return "\n".join(rows)


def performance_stage(workspace: Workspace, monitor: MonitorConfig, day: dt.date) -> StageResult:
    current = read_snapshot(workspace, monitor, day)
    labels = load_labels(workspace, monitor, day, today=dt.datetime.now(dt.UTC).date())
    metrics = compute_performance(current, labels, monitor)
    coverage = next((m.value for m in metrics if m.metric == "label_coverage" and not m.segment), float("nan"))
    return (metrics, [metric_check("performance_thresholds", metrics, what="performance")],
            {"label_rows": 0 if labels is None else len(labels), "label_coverage": coverage})


def operations_stage(workspace: Workspace, monitor: MonitorConfig, day: dt.date) -> StageResult:
    metrics = compute_operations(read_snapshot(workspace, monitor, day), monitor)
    return metrics, [metric_check("operational_thresholds", metrics, what="operational")], {}


STAGES: dict[str, tuple[str, Callable[..., StageResult], tuple[str, ...], set[str], str]] = {
    # area: (asset name, stage, check names, kinds, what it is)
    "drift": ("drift_metrics", drift_stage, ("feature_drift", "prediction_drift"), {"scipy", "sqlalchemy"},
              "Per-feature and prediction drift against the configured reference, and the share of drifted "
              "features."),
    "performance": ("performance_metrics", performance_stage, ("performance_thresholds",),
                    {"scikitlearn", "sqlalchemy"},
                    "Model quality over the predictions whose labels have arrived, overall and per segment, "
                    "with label coverage."),
    "operations": ("operational_metrics", operations_stage, ("operational_thresholds",), {"pandas", "sqlalchemy"},
                   "Volume, latency percentiles, error rate and confidence of the day's requests."),
}


def metric_asset_key(monitor: MonitorConfig, area: str) -> dg.AssetKey:
    return dg.AssetKey([monitor.name, STAGES[area][0]])


def build_metric_asset(monitor: MonitorConfig, area: str) -> dg.AssetsDefinition:
    asset_name, stage, check_names, kinds, what = STAGES[area]
    key = metric_asset_key(monitor, area)
    severity = monitor.drift.severity if area == "drift" else Severity.ERROR
    specs = [dg.AssetCheckSpec(name, asset=key, description=f"{name.replace('_', ' ').capitalize()} "
                               f"(up to {severity.value}, by the monitor's thresholds).") for name in check_names]

    @dg.asset(
        key=key,
        deps=[inference_logs_key(monitor)],
        partitions_def=daily_partitions(monitor.start_date),
        group_name=monitor.name,
        kinds=kinds,
        check_specs=specs,
        description=f"{what} Stored in the metric table for '{area}'.",
    )
    def metric_asset(context: dg.AssetExecutionContext, monitoring: MonitoringResource) -> dg.MaterializeResult:
        workspace = monitoring.workspace()
        day = partition_day(context)
        metrics, outcomes, extra = stage(workspace, monitor, day)
        written = workspace.metrics.replace_day(monitor.name, day, metrics, run_id=context.run.run_id, areas=[area])
        save_outcomes(workspace, monitor.name, day, area, outcomes)
        return dg.MaterializeResult(
            metadata={"rows_written": written[area], **metadata_values(extra),
                      "failed_checks": dg.MetadataValue.json([o.name for o in outcomes if not o.passed])},
            check_results=check_results(outcomes),
        )

    return metric_asset
