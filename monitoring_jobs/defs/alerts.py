"""The alert sensor: finds failed check evaluations in the instance and notifies once per incident.

A run-failure sensor would never see failed non-blocking checks, so this sensor reads check
evaluations itself, with a cursor over their record ids. The delivery ledger in the metric store
makes each (model, check, day, channel) go out once, even across re-runs and repeated ticks.
"""

from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from monitoring_jobs.alerts import Alert, AlertLedger, deliver
from monitoring_jobs.config import MonitorConfig
from monitoring_jobs.defs.resources import AlertingResource, MonitoringResource

PAGE_SIZE = 200


def failed_check_records(instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey], after_id: int) -> list:
    """Failed evaluations with a record id above ``after_id``, oldest first, paging back as far as needed."""
    found = []
    for key in check_keys:
        cursor = None
        while True:
            page = instance.event_log_storage.get_asset_check_execution_history(key, limit=PAGE_SIZE, cursor=cursor)
            fresh = [record for record in page if record.id > after_id]
            found += [record for record in fresh if record.status.value == "FAILED"]
            if len(page) < PAGE_SIZE or len(fresh) < len(page):
                break
            cursor = page[-1].id
    return sorted(found, key=lambda record: record.id)


def _to_alert(instance: dg.DagsterInstance, record, reports_dir: Path) -> Alert | None:
    evaluation = record.event.dagster_event.event_specific_data if record.event else None
    if evaluation is None:
        return None
    partition = evaluation.partition or record.partition
    if partition is None:
        run = instance.get_run_by_id(record.run_id)
        partition = run.tags.get("dagster/partition") if run else None
    model = record.key.asset_key.path[0]
    report = reports_dir / model / partition / "index.html" if partition else None
    return Alert(model=model, check=record.key.name, partition_date=partition or "unpartitioned",
                 severity=evaluation.severity.value, description=evaluation.description or "",
                 report_path=str(report) if report else None, run_id=record.run_id)


def build_alert_sensor(monitors: Sequence[MonitorConfig],
                       check_keys: Sequence[dg.AssetCheckKey]) -> dg.SensorDefinition:
    routes = {monitor.name: monitor.alerts for monitor in monitors}

    @dg.sensor(
        name="monitoring_alerts",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Sends one alert per failed check, model and day to each route of the monitor "
                    "(JSON-lines log; webhook when MONITORING_WEBHOOK_URL is set).",
    )
    def monitoring_alerts(context: dg.SensorEvaluationContext, monitoring: MonitoringResource,
                          alerting: AlertingResource) -> dg.SkipReason:
        after = int(context.cursor or 0)
        records = failed_check_records(context.instance, check_keys, after)
        if not records:
            return dg.SkipReason("no new failed checks")
        workspace = monitoring.workspace()
        by_alert = {}
        for record in records:
            alert = _to_alert(context.instance, record, workspace.reports_dir)
            if alert is not None:
                by_alert.setdefault(alert, record.id)
        ledger = AlertLedger(workspace.metrics.engine)
        ledger.ensure_schema()
        result = deliver(by_alert, routes, alerting.channels(), ledger)
        # Failed deliveries are retried next tick: the cursor stops just before the first of them.
        retry_from = [by_alert[alert] for alert, _channel, _error in result.failed]
        context.update_cursor(str(min(retry_from) - 1 if retry_from else records[-1].id))
        for alert, channel, error in result.failed:
            context.log.warning(f"alert {alert.dedup_key()} to {channel} not delivered, will retry: {error}")
        return dg.SkipReason(f"{len(result.sent)} alert(s) sent, {len(result.duplicates)} already sent, "
                             f"{len(result.failed)} to retry")

    return monitoring_alerts
