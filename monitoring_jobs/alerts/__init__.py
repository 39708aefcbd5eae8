"""Alerts: check evaluations become incidents, incidents become messages in a persistent outbox,
and the outbox is delivered to the log, a Slack-compatible webhook and email, each message once.

Plain Python (no Dagster): the sensor hands ``CheckEvaluation`` records to ``AlertEngine.ingest``
and calls ``AlertEngine.deliver_due`` with the configured channels on every tick.
"""

from monitoring_jobs.alerts.channels import Channel, DeliveryError, EmailChannel, JsonLinesChannel, WebhookChannel
from monitoring_jobs.alerts.engine import AlertEngine, DeliveryReport, IngestReport, OutboxEntry, retry_delay
from monitoring_jobs.alerts.evaluation import CheckEvaluation
from monitoring_jobs.alerts.message import AlertMessage, CheckLine

__all__ = [
    "AlertEngine",
    "AlertMessage",
    "Channel",
    "CheckEvaluation",
    "CheckLine",
    "DeliveryError",
    "DeliveryReport",
    "EmailChannel",
    "IngestReport",
    "JsonLinesChannel",
    "OutboxEntry",
    "WebhookChannel",
    "retry_delay",
]
