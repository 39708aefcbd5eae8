"""The alert sensor: reads asset-check evaluations from the instance and hands them to the alert engine.

A run-failure sensor would never see failed non-blocking checks, so this sensor reads check
evaluations itself, with a cursor over their record ids. The engine (plain Python, in the metric
store's database) turns them into incidents and messages in a persistent outbox; every tick then
delivers what is due, so a message that failed (server down, 5xx, timeout) is retried with backoff
on later ticks and none is sent twice.
"""

import datetime as dt
from collections.abc import Sequence

import dagster as dg

from monitoring_jobs.alerts import AlertEngine, CheckEvaluation
from monitoring_jobs.config import MonitorConfig
from monitoring_jobs.defs.resources import AlertingResource, MonitoringResource
from monitoring_jobs.pipeline import Workspace

PAGE_SIZE = 200
COMPLETED = {"SUCCEEDED", "FAILED"}
MAX_MESSAGES_PER_TICK = 500  # a backfill's worth; the engine's time budget still bounds one tick


def check_records(instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey],
                  after_id: int) -> tuple[list, int]:
    """Completed evaluations with a record id above ``after_id``, oldest first, and the next cursor.

    Record ids are given when a check is planned, so a still-running check can have a lower id than
    one that already completed: the cursor stops just below the lowest planned one, and the next tick
    reads the rest again (ingesting a record twice is a no-op).
    """
    found, planned = [], []
    for key in check_keys:
        cursor = None
        while True:
            page = instance.event_log_storage.get_asset_check_execution_history(key, limit=PAGE_SIZE, cursor=cursor)
            fresh = [record for record in page if record.id > after_id]
            found += [record for record in fresh if record.status.value in COMPLETED and record.event]
            planned += [record.id for record in fresh if record.status.value not in COMPLETED]
            if len(page) < PAGE_SIZE or len(fresh) < len(page):
                break
            cursor = page[-1].id
    found.sort(key=lambda record: record.id)
    next_cursor = max([after_id, *(record.id for record in found)])
    if planned:
        next_cursor = min(next_cursor, min(planned) - 1)
    return found, next_cursor


def to_evaluation(instance: dg.DagsterInstance, record, workspace: Workspace) -> CheckEvaluation | None:
    """A check record as the engine's CheckEvaluation; None for an unpartitioned evaluation (not ours)."""
    evaluation = record.event.dagster_event.event_specific_data
    partition = evaluation.partition or record.partition
    if partition is None:
        run = instance.get_run_by_id(record.run_id)
        partition = run.tags.get("dagster/partition") if run else None
    if partition is None:
        return None
    model = record.key.asset_key.path[0]
    return CheckEvaluation(
        model=model, check=record.key.name, partition_date=partition, passed=bool(evaluation.passed),
        severity=evaluation.severity.value, description=evaluation.description or "",
        report_path=str(workspace.report_path(model, partition)), run_id=record.run_id,
        record_id=record.id, evaluated_at=dt.datetime.fromtimestamp(record.create_timestamp, dt.UTC))


def build_alert_sensor(monitors: Sequence[MonitorConfig],
                       check_keys: Sequence[dg.AssetCheckKey]) -> dg.SensorDefinition:
    @dg.sensor(
        name="monitoring_alerts",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="One message per model-day grouping its failed checks, a recovery message when they pass "
                    "again, to each route of the monitor (JSON-lines log; webhook and email when configured). "
                    "Failed deliveries wait in the outbox and are retried with backoff.",
    )
    def monitoring_alerts(context: dg.SensorEvaluationContext, monitoring: MonitoringResource,
                          alerting: AlertingResource) -> dg.SkipReason:
        workspace = monitoring.workspace()
        engine = AlertEngine.from_monitors(workspace.metrics.engine, monitors)
        engine.ensure_schema()
        now = dt.datetime.now(dt.UTC)
        records, next_cursor = check_records(context.instance, check_keys, int(context.cursor or 0))
        evaluations = [e for e in (to_evaluation(context.instance, r, workspace) for r in records) if e]
        ingested = engine.ingest(evaluations, now)
        # The ingest committed (and is idempotent), so the cursor may move past these records.
        context.update_cursor(str(next_cursor))
        delivered = engine.deliver_due(alerting.channels(), now, max_messages=MAX_MESSAGES_PER_TICK)
        for line in [*delivered.problems(), *(f"suppressed {key}: {why}" for key, why in ingested.suppressed)]:
            context.log.warning(line)
        return dg.SkipReason(f"{ingested.summary()}; {delivered.summary()}")

    return monitoring_alerts
