"""Reports: one HTML page with PNG charts per model-day, and the index of every model and day."""

import base64

import dagster as dg

from monitoring_jobs.config import MonitorConfig
from monitoring_jobs.defs.metrics import METRIC_ASSETS, metric_asset_key
from monitoring_jobs.defs.partitions import daily_partitions, partition_day
from monitoring_jobs.defs.resources import MonitoringResource
from monitoring_jobs.pipeline import PipelineError
from monitoring_jobs.stages import publish_stage
from monitoring_jobs.storage import StorageError


def report_asset_key(monitor: MonitorConfig) -> dg.AssetKey:
    return dg.AssetKey([monitor.name, "monitoring_report"])


def build_report_asset(monitor: MonitorConfig) -> dg.AssetsDefinition:
    @dg.asset(
        key=report_asset_key(monitor),
        deps=[metric_asset_key(monitor, area) for area in METRIC_ASSETS],
        partitions_def=daily_partitions(monitor.start_date),
        group_name=monitor.name,
        kinds={"html", "matplotlib"},
        description=f"The day's report for {monitor.name} (reports/{monitor.name}/<date>/index.html, with PNG "
                    "charts beside it) and reports/index.html, for readers who never open Dagster.",
    )
    def monitoring_report(context: dg.AssetExecutionContext, monitoring: MonitoringResource) -> dg.MaterializeResult:
        workspace = monitoring.workspace()
        day = partition_day(context)
        try:
            published = publish_stage(workspace, monitor, day, run_id=context.run.run_id)
        except (PipelineError, StorageError) as exc:
            raise dg.Failure(description=str(exc)) from None
        charts = sorted(published.report.parent.glob("*.png"))
        metadata = {
            "report": dg.MetadataValue.path(str(published.report)),
            "report_url": dg.MetadataValue.url(published.report.resolve().as_uri()),
            "index": dg.MetadataValue.path(str(workspace.reports_dir / "index.html")),
            "status": published.status,
            "summary": published.summary,
            "charts": dg.MetadataValue.json([chart.name for chart in charts]),
        }
        if published.model_page is not None:
            metadata["model_page"] = dg.MetadataValue.path(str(published.model_page))
        if published.key_chart is not None:
            metadata["key_chart"] = dg.MetadataValue.path(str(published.key_chart))
            encoded = base64.b64encode(published.key_chart.read_bytes()).decode()
            metadata["key_chart_preview"] = dg.MetadataValue.md(f"![key chart](data:image/png;base64,{encoded})")
        return dg.MaterializeResult(metadata=metadata)

    return monitoring_report
