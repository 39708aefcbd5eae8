"""Ingest: one day's inference logs per monitor, validated with Great Expectations as asset checks."""

import dagster as dg
import pandas as pd

from monitoring_jobs.config import MonitorConfig, Severity
from monitoring_jobs.defs.checks import check_results
from monitoring_jobs.defs.partitions import daily_partitions, partition_day
from monitoring_jobs.defs.resources import MonitoringResource
from monitoring_jobs.metrics import CheckOutcome
from monitoring_jobs.pipeline import (
    DataNotFoundError,
    StorageError,
    clear_outcomes,
    publish_day,
    read_inference,
    save_outcomes,
    write_snapshot,
)
from monitoring_jobs.validation import CHECK_NAMES, outcomes_to_metrics, validate_day

DOWNSTREAM_STAGES = ("drift", "performance", "operations")

CHECK_DESCRIPTIONS = {
    "schema": "Every configured column is present with the expected type.",
    "nulls": "Request id, timestamp and features have no more nulls than allowed.",
    "ranges": "Configured numeric columns stay inside their ranges (NaN and inf count as outside).",
    "categories": "Configured categorical columns only take known values.",
    "unique_request_ids": "No request id appears twice in the day.",
    "volume": "The day has at least the configured minimum number of rows.",
}


def inference_logs_key(monitor: MonitorConfig) -> dg.AssetKey:
    return dg.AssetKey([monitor.name, "inference_logs"])


def _validate(frame: pd.DataFrame, monitor: MonitorConfig, missing: DataNotFoundError | None) -> list[CheckOutcome]:
    outcomes = validate_day(frame, monitor)
    if missing is None:
        return outcomes
    # No files at all: say so in the volume check instead of a generic "0 rows".
    severity = monitor.validation.severity_of("volume").value
    return [CheckOutcome("volume", False, severity, str(missing), {"row_count": 0}) if o.name == "volume" else o
            for o in outcomes]


def build_ingest_asset(monitor: MonitorConfig) -> dg.AssetsDefinition:
    key = inference_logs_key(monitor)
    specs = [
        dg.AssetCheckSpec(name, asset=key, description=CHECK_DESCRIPTIONS[name],
                          blocking=monitor.validation.severity_of(name) is Severity.ERROR)
        for name in CHECK_NAMES
    ]

    @dg.asset(
        key=key,
        partitions_def=daily_partitions(monitor.start_date),
        group_name=monitor.name,
        kinds={"pandas", "great_expectations"},
        check_specs=specs,
        description=f"One day of {monitor.name}'s inference logs, read from object storage and validated. "
                    "Failed ERROR checks block drift, performance and operations for that day.",
    )
    def inference_logs(context: dg.AssetExecutionContext, monitoring: MonitoringResource) -> dg.MaterializeResult:
        workspace = monitoring.workspace()
        day = partition_day(context)
        missing = None
        try:
            frame, files = read_inference(workspace, monitor, day)
        except DataNotFoundError as exc:
            frame, files, missing = pd.DataFrame(), (), exc
        except StorageError as exc:
            raise dg.Failure(description=str(exc)) from None

        outcomes = _validate(frame, monitor, missing)
        write_snapshot(workspace, monitor, day, frame)
        workspace.metrics.replace_day(monitor.name, day, outcomes_to_metrics(outcomes), run_id=context.run.run_id,
                                      areas=["validation"])
        save_outcomes(workspace, monitor.name, day, "ingest", outcomes)

        blocking = [o.name for o in outcomes if not o.passed and o.severity == Severity.ERROR.value]
        metadata = {
            "dagster/row_count": len(frame),
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(str(name), str(dtype)) for name, dtype in frame.dtypes.items()]),
            "files": dg.MetadataValue.json(list(files)),
            "failed_checks": dg.MetadataValue.json([o.name for o in outcomes if not o.passed]),
        }
        if blocking:
            # Stale figures from an earlier run of this day no longer describe its data.
            workspace.metrics.replace_day(monitor.name, day, [], run_id=context.run.run_id, areas=DOWNSTREAM_STAGES)
            clear_outcomes(workspace, monitor.name, day, DOWNSTREAM_STAGES)
            note = (f"Drift, performance and operations were not computed: ERROR check(s) "
                    f"{', '.join(blocking)} failed. Fix the data and re-materialize this day.")
            published = publish_day(workspace, monitor, day, row_count=len(frame), current=None, reference=None,
                                    notes=(note,), run_id=context.run.run_id)
            metadata["report"] = dg.MetadataValue.path(str(published.report))
        return dg.MaterializeResult(metadata=metadata, check_results=check_results(outcomes))

    return inference_logs
