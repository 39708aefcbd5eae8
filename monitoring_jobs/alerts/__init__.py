"""Alert delivery: routing failed checks to channels, exactly once per (model, check, day, channel).

Plain Python (no Dagster): the sensor builds ``Alert`` objects and calls ``deliver``.
"""

from monitoring_jobs.alerts.alert import Alert, DeliveryError
from monitoring_jobs.alerts.channels import Channel, JsonLinesChannel, WebhookChannel
from monitoring_jobs.alerts.dispatch import DeliveryReport, deliver
from monitoring_jobs.alerts.ledger import AlertLedger

__all__ = [
    "Alert",
    "AlertLedger",
    "Channel",
    "DeliveryError",
    "DeliveryReport",
    "JsonLinesChannel",
    "WebhookChannel",
    "deliver",
]
