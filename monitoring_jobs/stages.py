"""The stages of one model-day as plain functions (no Dagster).

``ingest_stage`` reads, validates and snapshots the day; the metric stages read that validated
snapshot and return their metrics, check outcomes and figures worth showing beside them.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import importlib
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from monitoring_jobs.config import MonitorConfig, Severity, Task
from monitoring_jobs.drift import DriftLabels, DriftReport, compute_drift
from monitoring_jobs.drift.engine import SortedColumn, sorted_columns_read
from monitoring_jobs.late_labels import DayLabels, digest, read_labels, record_labels, save_labels_read
from monitoring_jobs.metrics import CheckOutcome, Metric
from monitoring_jobs.operations import BUDGET_METRICS, compute_operations, cost_budget_check
from monitoring_jobs.performance import Calibration, compute_performance, fit_calibration
from monitoring_jobs.performance.labels import LabelJoin, LabelJoinError, join_labels, output_column
from monitoring_jobs.pipeline import (
    STAGE_ORDER,
    IngestedDay,
    Published,
    Workspace,
    clear_outcomes,
    compared_columns,
    load_drift_reference,
    load_reference,
    metric_check,
    profile_inference_day,
    publish_day,
    read_inference,
    read_validated_snapshot,
    save_outcomes,
    snapshot_key,
    store_day_profile,
    stored_metrics,
    validated_snapshot_columns,
    validated_snapshot_path,
    write_snapshot,
)
from monitoring_jobs.profiles import DayProfile
from monitoring_jobs.storage import DataNotFoundError, ParquetColumns, write_atomic
from monitoring_jobs.validation import ProfiledSuite, ValidationContext, dtype_kind, outcomes_to_metrics, validate_day

if TYPE_CHECKING:
    from monitoring_jobs.reports import DriftCharts  # matplotlib: imported where a report is drawn

DOWNSTREAM_STAGES = STAGE_ORDER[1:]  # everything after ingest


@dataclass(frozen=True)
class StageResult:
    """``facts`` are plain values for metadata; ``markdown`` holds tables rendered as Markdown."""

    metrics: list[Metric]
    outcomes: list[CheckOutcome]
    facts: dict = field(default_factory=dict)
    markdown: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestResult:
    day: IngestedDay
    outcomes: list[CheckOutcome]

    @property
    def blocking(self) -> list[str]:
        """Failed ERROR checks: nothing may be computed from this day's data."""
        return [o.name for o in self.outcomes if not o.passed and o.severity == Severity.ERROR.value]


def trailing_row_counts(workspace: Workspace, monitor: MonitorConfig, day: dt.date) -> list[int]:
    """Row counts of the previous days that were ingested, oldest first, from the validation table."""
    window = monitor.validation.volume_trend.window_days
    rows = workspace.metrics.read("validation", monitor.name, day - dt.timedelta(days=window),
                                  day - dt.timedelta(days=1))
    counts = rows[(rows["metric"] == "row_count") & rows["value"].notna()]
    return [int(value) for value in counts.sort_values("partition_date")["value"] if value > 0]


def previous_schema(workspace: Workspace, monitor: MonitorConfig, day: dt.date, lookback: int = 7) -> dict | None:
    """Column kinds of the latest non-empty snapshot before ``day``: what "schema changed" is judged against
    when the monitor has no profiled suite. All-null columns say nothing about their type and are left out."""
    for back in range(1, lookback + 1):
        path = workspace.snapshot_path(monitor.name, day - dt.timedelta(days=back))
        if not path.exists():
            continue
        schema = pq.read_schema(path)
        if not len(schema):
            continue
        typed = pa.schema([f for f in schema if not pa.types.is_null(f.type)])
        return {str(name): dtype_kind(dtype) for name, dtype in typed.empty_table().to_pandas().dtypes.items()}
    return None


def ingest_stage(workspace: Workspace, monitor: MonitorConfig, day: dt.date, suite: ProfiledSuite | None,
                 run_id: str = "") -> IngestResult:
    """Read, validate and snapshot one day; record its validation results and, unless an ERROR check failed,
    its profile (what later days' rolling references merge). Storage errors propagate.

    A day with no files at all is not an error here: its volume check fails, saying where it looked.
    """
    with ingesting(workspace, monitor, day, suite, run_id) as result:
        return result


@contextlib.contextmanager
def ingesting(workspace: Workspace, monitor: MonitorConfig, day: dt.date, suite: ProfiledSuite | None,
              run_id: str = "") -> Iterator[IngestResult]:
    """``ingest_stage`` as a block: it is entered once the day is validated and snapshotted, and stores the day's
    profile when it is left (however it is left), so work that reads the snapshot can run inside it while the
    profile is still being computed (``run_day``: the metric stages start 2 s sooner at 5M rows)."""
    missing = None
    try:
        ingested = read_inference(workspace, monitor, day)
    except DataNotFoundError as exc:
        ingested, missing = IngestedDay(pd.DataFrame()), exc
    report = workspace.report_path(monitor.name, day)
    context = ValidationContext(
        day=day, suite=suite,
        reference_schema=None if suite is not None else previous_schema(workspace, monitor, day),
        trailing_row_counts=trailing_row_counts(workspace, monitor, day),
        naive_timestamp_rows=ingested.naive_timestamp_rows,
        report_url=f"{report}#data-quality",
    )
    # The profile is computed and the snapshot written while the day is validated: numpy, Arrow and parquet
    # encoding release the GIL, so the second core takes part of the work (a 5M-row day's ingest: 10.8 s to 7 s,
    # then the snapshot's 1.6 s off the critical path). The snapshot replaces the day's earlier one only once
    # validation has finished, so a validation that fails leaves the earlier snapshot and its outcomes together.
    # Each worker gets its own shallow copy of the frame; nothing changes it.
    validation_done: Future = Future()
    with ThreadPoolExecutor(max_workers=2) as pool:
        profile = pool.submit(profile_inference_day, ingested.frame.copy(deep=False), monitor, day)
        written = pool.submit(write_snapshot, workspace, monitor, day, ingested.frame.copy(deep=False),
                              validation_done.result, ingested.source)
        try:
            outcomes = validate_day(ingested.frame, monitor, context)
        except BaseException as exc:
            validation_done.set_exception(exc)
            raise
        validation_done.set_result(None)
        if missing is not None:
            outcomes = [CheckOutcome("volume", False, monitor.validation.severity_of("volume").value, str(missing),
                                     {"row_count": 0, "failing_share": 1.0, "report": context.report_url})
                        if o.name == "volume" else o for o in outcomes]
        workspace.metrics.replace_day(monitor.name, day, outcomes_to_metrics(outcomes), run_id=run_id,
                                      areas=["validation"])
        save_outcomes(workspace, monitor.name, day, "ingest", outcomes)
        result = IngestResult(ingested, outcomes)
        written.result()
        try:
            yield result
        finally:
            # a blocked day's profile is not kept (nor its failure to build one raised): its rows failed a check
            store_day_profile(workspace, monitor, day, None if result.blocking else profile.result())


def publish_blocked_day(workspace: Workspace, monitor: MonitorConfig, day: dt.date, result: IngestResult,
                        run_id: str = ""):
    """A day that failed ERROR checks: clear figures an earlier run left for it and publish a report
    that says why nothing else was computed."""
    workspace.metrics.replace_day(monitor.name, day, [], run_id=run_id, areas=DOWNSTREAM_STAGES)
    clear_outcomes(workspace, monitor.name, day, DOWNSTREAM_STAGES)
    note = (f"Drift, performance and operations were not computed: ERROR check(s) {', '.join(result.blocking)} "
            "failed. Fix the data and re-materialize this day.")
    return publish_day(workspace, monitor, day, row_count=len(result.day.frame), current=None, reference=None,
                       notes=(note,), run_id=run_id)


def drift_stage(workspace: Workspace, monitor: MonitorConfig, day: dt.date) -> StageResult:
    """``feature_drift`` fails when a feature drifted or the multivariate reconstruction error left its
    band; ``prediction_drift`` when the model output drifted. Label drift is a judged figure of its own."""
    current = validated_snapshot_columns(workspace, monitor, day)
    reference, described = load_drift_reference(workspace, monitor, day)
    severity = monitor.drift.severity.value
    if reference is None:
        skipped = [CheckOutcome(name, True, severity, f"Not judged: {described}.")
                   for name in ("feature_drift", "prediction_drift")]
        return StageResult([], skipped, {"reference": described})
    report = compute_drift(reference, current, monitor, sorted_reference=sorted_reference(
        workspace, monitor, reference) if isinstance(reference, pd.DataFrame) else None)
    # Labels last: the performance stage beside this one joins them meanwhile (the join is shared), instead of
    # this thread waiting for the join before it judges any feature.
    labels, label_note = drift_labels(workspace, monitor, day, reference, current)
    if labels is not None:
        report = report.with_label_drift(labels, monitor)
    drifted = report.drifted_features()
    multivariate = report.multivariate
    multivariate_text = "" if multivariate is None else (
        f"; multivariate reconstruction error {multivariate.error:.4g} "
        f"{'outside' if multivariate.drifted else 'within'} its band {multivariate.band.lower:.4g} to "
        f"{multivariate.band.upper:.4g}")
    feature_check = CheckOutcome(
        "feature_drift", not drifted and not report.multivariate_drifted, severity,
        f"{len(drifted)} of {len(report.features)} features drifted"
        + (f": {', '.join(drifted)}" if drifted else "") + multivariate_text + f" (reference: {described}).",
        {"drifted_share": report.drifted_share, "dataset_drift": report.dataset_drift,
         "drifted_features": drifted, "multivariate_drift": report.multivariate_drifted}, tuple(drifted[:5]))
    prediction = report.prediction
    prediction_drifted = bool(prediction and prediction.drifted)
    prediction_check = CheckOutcome(
        "prediction_drift", not prediction_drifted, severity,
        "No prediction column to compare." if prediction is None else
        f"Prediction '{prediction.feature}' {'drifted' if prediction_drifted else 'is stable'}: "
        f"{prediction.decision_metric} = {prediction.decision_value:.4g} (threshold {prediction.threshold:.4g}).")
    reference_rows = reference.rows if isinstance(reference, DayProfile) else len(reference)
    facts = {"reference": described, "reference_rows": reference_rows, "drifted_features": drifted,
             "drifted_share": report.drifted_share,
             "label_drift": label_note or ("drifted" if report.label and report.label.drifted else "stable")}
    return StageResult(report.metrics(monitor.drift.severity), [feature_check, prediction_check], facts,
                       {"features": drift_table(report)})


def drift_labels(workspace: Workspace, monitor: MonitorConfig, day: dt.date, reference: pd.DataFrame | DayProfile,
                 current: pd.DataFrame | ParquetColumns) -> tuple[DriftLabels | None, str]:
    """The labels label drift compares: the reference's label column against the labels of the day's requests
    that have arrived so far (at least ``performance.min_labels``), or why it is not judged."""
    label = monitor.columns.label
    if monitor.labels is None:
        return None, "not judged: the monitor has no label source"
    if label not in reference.columns:
        return None, f"not judged: the reference has no '{label}' column"
    arrived = read_labels(workspace, monitor, day, today=dt.datetime.now(dt.UTC).date())
    try:
        values = day_label_join(workspace, monitor, day, current, arrived).frame[label].dropna()
    except LabelJoinError as exc:
        return None, f"not judged: {exc}"
    if len(values) < monitor.performance.min_labels:
        return None, (f"not judged: {len(values)} labels have arrived for this day, fewer than "
                      f"performance.min_labels ({monitor.performance.min_labels})")
    return DriftLabels(reference.columns[label] if isinstance(reference, DayProfile) else reference[label], values), ""


_last_label_join: dict[tuple, LabelJoin] = {}
_label_join_lock = threading.Lock()  # drift and performance run side by side in run_day: one joins, one waits


def day_label_join(workspace: Workspace, monitor: MonitorConfig, day: dt.date, current: pd.DataFrame | ParquetColumns,
                   labels: DayLabels) -> LabelJoin:
    """The day's rows (``current``: its validated snapshot, read or not; request id and model output) joined with
    the labels read. The last join is kept while the snapshot and the label files are unchanged: label drift and
    the performance stage of a day in one process (``run_day``, Dagster's in-process executor) share it (4 s a
    join at 5M rows)."""
    names = [monitor.columns.request_id, output_column(monitor)]
    key = (snapshot_key(validated_snapshot_path(workspace, monitor, day)),
           tuple(sorted(labels.read.arrivals.items())), *names, monitor.columns.label, monitor.task)
    with _label_join_lock:
        joined = _last_label_join.get(key)
        if joined is None:
            rows = current.frame(names) if isinstance(current, ParquetColumns) else current[
                [name for name in names if name in current.columns]]
            joined = join_labels(rows, labels.frame, monitor)
            _last_label_join.clear()
            _last_label_join[key] = joined
    return joined


def drift_table(report: DriftReport) -> str:
    """The per-column verdicts as a Markdown table for the Dagster UI (names escaped for Markdown)."""
    rows = ["| column | method | statistic | p-value | decision | threshold | drifted | n ref / cur |",
            "|---|---|---|---|---|---|---|---|"]
    for item in [*report.features, *(column for column in (report.prediction, report.label) if column)]:
        name = item.feature.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
        p_value = "" if item.p_value is None else f"{item.p_value:.3g}"
        rows.append(f"| {name} | {item.method} | {item.statistic:.4g} | {p_value} | {item.decision_metric or ''} | "
                    f"{item.threshold:.3g} | {'yes' if item.drifted else 'no'} | "
                    f"{item.reference_rows:,} / {item.current_rows:,} |")
    return "\n".join(rows)


def reference_file_state(workspace: Workspace, monitor: MonitorConfig) -> list[list]:
    """Each file of the reference file's listing with its size and version (ETag or modification time): what
    tells one state of the reference from another, so what is derived from it can be kept until it changes."""
    uri = workspace.objects.resolve(monitor.reference.uri or "", model=monitor.name)
    return [[info.path, info.size, info.version]
            for info in workspace.objects.list_file_infos(uri, monitor.reference.format)]


SORTED_REFERENCE_FORMAT = "sorted-reference-v1"


def sorted_reference(workspace: Workspace, monitor: MonitorConfig, reference: pd.DataFrame) -> dict[str, SortedColumn]:
    """The reference file's numeric drift columns sorted (``sorted_columns_read``), kept in the state folder per
    state of the file (as ``.npy`` arrays and a manifest): the first day sorts and saves them, later days map the
    saved arrays instead of sorting millions of values again (12 sorts, 4 s of CPU a day at 5M reference rows).
    Only the current state is kept; a saved column that does not fit the rows read is sorted again."""
    if monitor.reference.kind != "file":
        return {}
    names = [name for name in sorted_columns_read(monitor) if name in reference.columns]
    if not names:
        return {}
    folder = workspace.sorted_reference_dir(monitor.name) / digest(reference_file_state(workspace, monitor)
                                                                   + [SORTED_REFERENCE_FORMAT])
    manifest_path = folder / "columns.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    found = {}
    for name in names:
        entry = manifest.get(name)
        try:
            column = SortedColumn(np.asarray(np.load(folder / entry["file"], mmap_mode="r")), entry["nulls"],
                                  entry["not_numbers"])
        except (TypeError, KeyError, OSError, ValueError):  # none saved, or damaged
            continue
        if column.values.ndim == 1 and column.values.size + column.nulls == len(reference):
            found[name] = column
    if len(found) == len(names):
        return found
    for name in names:
        if name not in found:
            found[name] = column = SortedColumn.of(reference[name])
            file = f"{digest(name)}.npy"
            write_atomic(folder / file, lambda handle, values=column.values: np.save(handle, values))
            manifest[name] = {"file": file, "nulls": column.nulls, "not_numbers": column.not_numbers}
    write_atomic(manifest_path, json.dumps(manifest, sort_keys=True, indent=1).encode())
    for earlier in folder.parent.iterdir():
        if earlier != folder and earlier.is_dir():
            shutil.rmtree(earlier, ignore_errors=True)
    return found


def cbpe_calibration(workspace: Workspace, monitor: MonitorConfig, day: dt.date) -> Calibration | str:
    """The calibration CBPE estimates a binary classifier's performance with, or why there is none.

    It is fitted on the labeled reference file once per state of that file (its files' sizes and versions) and
    of the settings the fit reads, and kept in the state folder: later days read a few kB instead of the
    reference (and scikit-learn's 1.5 s import; 4-5 s a day at 5M reference rows). A missing reference leaves
    the estimate MISSING instead of failing the day's performance."""
    if monitor.task is not Task.BINARY_CLASSIFICATION or not monitor.performance.estimate_without_labels:
        return "performance is not estimated without labels for this monitor"
    if monitor.reference.kind == "rolling":
        return ("no reference to calibrate on (a rolling reference is made of inference logs, "
                "which carry no labels)")
    settings = monitor.performance
    key = digest(reference_file_state(workspace, monitor)
                 + [monitor.columns.label, output_column(monitor), settings.positive_label, settings.min_labels])
    path = workspace.calibration_path(monitor.name, key)
    if path.exists():
        stored = path.read_text(encoding="utf-8")
        return json.loads(stored).get("missing") or Calibration.from_json(stored)
    try:
        reference, _ = load_reference(workspace, monitor, day, columns=[monitor.columns.label, output_column(monitor)])
    except DataNotFoundError as exc:
        return f"no reference to calibrate on ({exc})"
    calibration = fit_calibration(reference, monitor)
    write_atomic(path, json.dumps({"missing": calibration}).encode() if isinstance(calibration, str)
                 else calibration.to_json())
    return calibration


def performance_stage(workspace: Workspace, monitor: MonitorConfig, day: dt.date) -> StageResult:
    current = read_validated_snapshot(workspace, monitor, day)
    labels = read_labels(workspace, monitor, day, today=dt.datetime.now(dt.UTC).date())
    try:
        joined: LabelJoin | pd.DataFrame | None = day_label_join(workspace, monitor, day, current, labels)
    except LabelJoinError:
        joined = labels.frame  # compute_performance reports why they cannot be joined
    labels = record_labels(workspace, monitor, day, labels,
                           joined.matched_labels if isinstance(joined, LabelJoin) else None)
    metrics = compute_performance(current, joined, monitor, cbpe_calibration(workspace, monitor, day))
    metrics += labels.metrics()
    save_labels_read(workspace, monitor.name, day, labels.read)  # what the late_labels sensor compares with
    coverage = next((m.value for m in metrics if m.metric == "label_coverage" and not m.segment), float("nan"))
    return StageResult(metrics, [metric_check("performance_thresholds", metrics, what="performance")],
                       {"label_rows": 0 if labels.frame is None else len(labels.frame), "label_coverage": coverage,
                        "label_partitions": [arrival.isoformat() for arrival in labels.read.arrivals]})


def operations_stage(workspace: Workspace, monitor: MonitorConfig, day: dt.date) -> StageResult:
    """Operational figures, judged by ``operational_thresholds``; cost, when budgeted, by ``cost_budget`` alone."""
    metrics = compute_operations(read_validated_snapshot(workspace, monitor, day), monitor,
                                 trailing_row_counts(workspace, monitor, day))
    thresholded = [m for m in metrics if m.metric not in BUDGET_METRICS]
    outcomes = [metric_check("operational_thresholds", thresholded, what="operational")]
    if monitor.operations.budget is not None:
        outcomes.append(cost_budget_check(metrics, monitor.operations.budget))
    costs = {m.metric: m.value for m in metrics if m.metric in BUDGET_METRICS}
    return StageResult(metrics, outcomes, costs)


STAGES: dict[str, Callable[[Workspace, MonitorConfig, dt.date], StageResult]] = {
    "drift": drift_stage,
    "performance": performance_stage,
    "operations": operations_stage,
}


def record_stage(workspace: Workspace, monitor: MonitorConfig, day: dt.date, area: str, result: StageResult,
                 run_id: str = "") -> int:
    """Replace the day's rows of ``area`` in the metric store and its saved check outcomes; the rows written."""
    written = workspace.metrics.replace_day(monitor.name, day, result.metrics, run_id=run_id, areas=[area])
    save_outcomes(workspace, monitor.name, day, area, result.outcomes)
    return written[area]


def publish_stage(workspace: Workspace, monitor: MonitorConfig, day: dt.date, run_id: str = "",
                  drift_charts: DriftCharts | None = None) -> Published:
    """The day's report beside its reference, from what the earlier stages stored (``drift_charts``: those of
    ``day_drift_charts``, drawn earlier)."""
    current, reference, described = _report_rows(workspace, monitor, day)
    return publish_day(workspace, monitor, day, row_count=len(current), current=current, reference=reference,
                       notes=(f"Reference: {described}.",), run_id=run_id, drift_charts=drift_charts)


def day_drift_charts(workspace: Workspace, monitor: MonitorConfig, day: dt.date) -> DriftCharts:
    """The report's drift charts from the day's recorded drift metrics: ``run_day`` draws them while the other
    metric stages still compute (a 5M-row day's distributions: 2.7 s, otherwise on the critical path at the end)."""
    from monitoring_jobs.reports import ReportInput, draw_drift_charts  # matplotlib

    current, reference, _ = _report_rows(workspace, monitor, day)
    drift = [metric for metric in stored_metrics(workspace, monitor.name, day) if metric.area == "drift"]
    return draw_drift_charts(ReportInput(monitor, day, len(current), [], drift, reference, current, pd.DataFrame()))


def _report_rows(workspace: Workspace, monitor: MonitorConfig,
                 day: dt.date) -> tuple[pd.DataFrame, pd.DataFrame | None, str]:
    """The day's rows and its reference's, as the report compares them, and what the reference is."""
    current = read_validated_snapshot(workspace, monitor, day)
    # the columns the charts compare: those drift read, so a day in one process reads the reference once
    reference, described = load_reference(workspace, monitor, day,
                                           columns=[monitor.columns.timestamp, *compared_columns(monitor)])
    return current, reference, described


def run_day(workspace: Workspace, monitor: MonitorConfig, day: dt.date, suite: ProfiledSuite | None,
            run_id: str = "") -> Published:
    """One model-day end to end without Dagster, in the order the assets run: ingest, every metric stage,
    the report. A day that fails an ERROR check gets the report saying so and nothing else."""
    # The report's modules (matplotlib: 0.6 s) are imported while the day is read, when Arrow's decoding leaves
    # the GIL free, instead of on the critical path at the end; an import that is under way is waited for.
    threading.Thread(target=importlib.import_module, args=("monitoring_jobs.reports",), name="import-reports",
                     daemon=True).start()
    with ingesting(workspace, monitor, day, suite, run_id) as ingested:
        if ingested.blocking:
            return publish_blocked_day(workspace, monitor, day, ingested, run_id)
        # The metric stages read the same snapshot and write nothing another stage reads; they run side by side
        # (most of their work is numpy and Arrow, which release the GIL, so a day uses both cores), beside the
        # end of the day's profile, and are recorded in order.
        drift_charts = None
        with ThreadPoolExecutor(max_workers=len(STAGES)) as pool:
            results = {area: pool.submit(contextvars.copy_context().run, stage, workspace, monitor, day)
                       for area, stage in STAGES.items()}
            for area, result in results.items():
                record_stage(workspace, monitor, day, area, result.result(), run_id)
                if area == "drift":  # its charts are drawn while the stages after it still compute
                    drift_charts = day_drift_charts(workspace, monitor, day)
    return publish_stage(workspace, monitor, day, run_id, drift_charts)
