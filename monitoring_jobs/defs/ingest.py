"""Ingest: one day's inference logs per monitor, validated with Great Expectations as asset checks."""

import dagster as dg

from monitoring_jobs.config import MonitorConfig, Severity
from monitoring_jobs.defs.checks import check_results
from monitoring_jobs.defs.partitions import daily_partitions, partition_day
from monitoring_jobs.defs.resources import MonitoringResource
from monitoring_jobs.stages import ingest_stage, publish_blocked_day
from monitoring_jobs.storage import StorageError
from monitoring_jobs.validation import CHECK_NAMES, ProfiledSuite, check_severities

CHECK_DESCRIPTIONS = {
    "schema": "Every configured column is present with the expected type.",
    "schema_drift": "No column is new, missing or retyped compared with the reference profile (or the previous day).",
    "nulls": "Request id, timestamp and features have no more nulls than allowed.",
    "ranges": "Numeric columns stay inside their configured or profiled ranges (inf counts as outside).",
    "categories": "Categorical columns only take known values.",
    "unique_request_ids": "No request id appears twice in the day.",
    "volume": "The day has at least the configured minimum number of rows.",
    "volume_trend": "The day's volume is in line with the trailing days.",
    "freshness": "Timestamps fall inside the partition's UTC day and carry a timezone.",
    "prediction_range": "Model outputs stay in their valid range.",
    "model_versions": "Only known model versions served the day.",
}


def inference_logs_key(monitor: MonitorConfig) -> dg.AssetKey:
    return dg.AssetKey([monitor.name, "inference_logs"])


def build_ingest_asset(monitor: MonitorConfig, suite: ProfiledSuite | None) -> dg.AssetsDefinition:
    key = inference_logs_key(monitor)
    severities = check_severities(monitor, suite)
    specs = [dg.AssetCheckSpec(name, asset=key, description=CHECK_DESCRIPTIONS[name],
                               blocking=severities[name] is Severity.ERROR)
             for name in CHECK_NAMES]

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
        try:
            result = ingest_stage(workspace, monitor, day, suite, run_id=context.run.run_id)
        except StorageError as exc:
            raise dg.Failure(description=str(exc)) from None
        frame = result.day.frame
        metadata = {
            "dagster/row_count": len(frame),
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(str(name), str(dtype)) for name, dtype in frame.dtypes.items()]),
            "files": dg.MetadataValue.json(list(result.day.files)),
            "failed_checks": dg.MetadataValue.json([o.name for o in result.outcomes if not o.passed]),
        }
        if result.blocking:
            try:
                published = publish_blocked_day(workspace, monitor, day, result, run_id=context.run.run_id)
            except StorageError as exc:  # the report could not be copied to MONITORING_REPORTS_URI
                raise dg.Failure(description=str(exc)) from None
            metadata["report"] = dg.MetadataValue.path(str(published.report))
        return dg.MaterializeResult(metadata=metadata, check_results=check_results(result.outcomes))

    return inference_logs
