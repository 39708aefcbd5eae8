"""The metric stages of one model-day as plain functions (no Dagster): each reads the day's validated
snapshot and returns its metrics, check outcomes and figures worth showing beside them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from monitoring_jobs.config import MonitorConfig
from monitoring_jobs.drift import DriftReport, compute_drift
from monitoring_jobs.metrics import CheckOutcome, Metric
from monitoring_jobs.operations import compute_operations
from monitoring_jobs.performance import compute_performance
from monitoring_jobs.pipeline import Workspace, load_labels, load_reference, metric_check, read_validated_snapshot


@dataclass(frozen=True)
class StageResult:
    """``facts`` are plain values for metadata; ``markdown`` holds tables rendered as Markdown."""

    metrics: list[Metric]
    outcomes: list[CheckOutcome]
    facts: dict = field(default_factory=dict)
    markdown: dict[str, str] = field(default_factory=dict)


def drift_stage(workspace: Workspace, monitor: MonitorConfig, day: dt.date) -> StageResult:
    current = read_validated_snapshot(workspace, monitor, day)
    reference, described = load_reference(workspace, monitor, day)
    severity = monitor.drift.severity.value
    if reference is None:
        skipped = [CheckOutcome(name, True, severity, f"Not judged: {described}.")
                   for name in ("feature_drift", "prediction_drift")]
        return StageResult([], skipped, {"reference": described})
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
    facts = {"reference": described, "reference_rows": len(reference), "drifted_features": drifted,
             "drifted_share": report.drifted_share}
    return StageResult(report.metrics(monitor.drift.severity), [feature_check, prediction_check], facts,
                       {"features": drift_table(report)})


def drift_table(report: DriftReport) -> str:
    """The per-feature verdicts as a Markdown table for the Dagster UI (names escaped for Markdown)."""
    rows = ["| feature | method | statistic | p-value | threshold | drifted |", "|---|---|---|---|---|---|"]
    for item in [*report.features, *([report.prediction] if report.prediction else [])]:
        name = item.feature.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
        p_value = "" if item.p_value is None else f"{item.p_value:.3g}"
        rows.append(f"| {name} | {item.method} | {item.statistic:.4g} | {p_value} | {item.threshold:.3g} | "
                    f"{'yes' if item.drifted else 'no'} |")
    return "\n".join(rows)


def performance_stage(workspace: Workspace, monitor: MonitorConfig, day: dt.date) -> StageResult:
    current = read_validated_snapshot(workspace, monitor, day)
    labels = load_labels(workspace, monitor, day, today=dt.datetime.now(dt.UTC).date())
    metrics = compute_performance(current, labels, monitor)
    coverage = next((m.value for m in metrics if m.metric == "label_coverage" and not m.segment), float("nan"))
    return StageResult(metrics, [metric_check("performance_thresholds", metrics, what="performance")],
                       {"label_rows": 0 if labels is None else len(labels), "label_coverage": coverage})


def operations_stage(workspace: Workspace, monitor: MonitorConfig, day: dt.date) -> StageResult:
    metrics = compute_operations(read_validated_snapshot(workspace, monitor, day), monitor)
    return StageResult(metrics, [metric_check("operational_thresholds", metrics, what="operational")])


STAGES: dict[str, Callable[[Workspace, MonitorConfig, dt.date], StageResult]] = {
    "drift": drift_stage,
    "performance": performance_stage,
    "operations": operations_stage,
}
