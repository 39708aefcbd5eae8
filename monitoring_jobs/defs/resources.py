"""Resources: the only thing that differs between environments (local folder + SQLite by default,
S3-compatible storage + PostgreSQL in production), set through environment variables."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import dagster as dg

from monitoring_jobs.alerts import EmailChannel, JsonLinesChannel, WebhookChannel
from monitoring_jobs.metric_store import MetricStore
from monitoring_jobs.pipeline import Workspace
from monitoring_jobs.settings import Settings, load_settings
from monitoring_jobs.storage import ObjectStore


@cache
def _metric_store(url: str) -> MetricStore:
    """One engine (and connection pool) per database per process, with the schema in place."""
    store = MetricStore(url)
    store.ensure_schema()
    return store


class MonitoringResource(dg.ConfigurableResource):
    """Where monitoring reads logs and writes metrics, reports and state.

    ``data_root`` anchors relative ``file://`` URIs of the monitor configs; the ``s3_*`` fields
    configure ``s3://`` URIs (an S3-compatible endpoint such as MinIO needs ``s3_endpoint_url``).
    ``reports_uri``, when set, receives a copy of every report written under ``reports_dir``.
    """

    data_root: str
    db_url: str
    reports_dir: str
    state_dir: str
    reports_uri: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None

    def storage_options(self) -> dict:
        client_kwargs = {k: v for k, v in (("endpoint_url", self.s3_endpoint_url),
                                           ("region_name", self.s3_region)) if v}
        options: dict = {"client_kwargs": client_kwargs} if client_kwargs else {}
        if self.s3_access_key_id:
            options.update(key=self.s3_access_key_id, secret=self.s3_secret_access_key)
        return options

    def workspace(self) -> Workspace:
        return Workspace(
            objects=ObjectStore(Path(self.data_root), self.storage_options()),
            metrics=_metric_store(self.db_url),
            reports_dir=Path(self.reports_dir),
            state_dir=Path(self.state_dir),
            reports_uri=self.reports_uri,
        )


class AlertingResource(dg.ConfigurableResource):
    """Alert channels: the JSON-lines log always, a Slack-compatible webhook when a URL is set, email when
    an SMTP host is set. URLs and passwords come from the environment (EnvVar), never from monitor files."""

    log_path: str
    webhook_url: str | None = None
    webhook_timeout_s: float = 5.0
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_sender: str = "monitoring-jobs@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True

    def channels(self) -> dict:
        channels: dict = {"log": JsonLinesChannel(Path(self.log_path))}
        if self.webhook_url:
            channels["webhook"] = WebhookChannel(self.webhook_url, timeout_s=self.webhook_timeout_s)
        if self.smtp_host:
            channels["email"] = EmailChannel(self.smtp_host, self.smtp_port, self.smtp_sender,
                                             username=self.smtp_username, password=self.smtp_password,
                                             starttls=self.smtp_starttls)
        return channels


def build_resources(settings: Settings | None = None, *, resolve_env: bool = False) -> dict:
    """The resources of every environment. Set variables become EnvVars (secrets stay out of the UI);
    ``resolve_env`` reads their values instead, for use outside a Dagster run (the CLI)."""
    settings = settings or load_settings()

    def _env_or(name: str, default: str | None):
        if not os.environ.get(name):
            return default
        return os.environ[name] if resolve_env else dg.EnvVar(name)

    return {
        "monitoring": MonitoringResource(
            data_root=str(settings.data_root),
            db_url=_env_or("MONITORING_DB_URL", settings.db_url),
            reports_dir=str(settings.reports_dir),
            state_dir=str(settings.state_dir),
            reports_uri=settings.reports_uri,
            s3_endpoint_url=_env_or("MONITORING_S3_ENDPOINT_URL", None),
            s3_region=_env_or("MONITORING_S3_REGION", None),
            s3_access_key_id=_env_or("AWS_ACCESS_KEY_ID", None),
            s3_secret_access_key=_env_or("AWS_SECRET_ACCESS_KEY", None),
        ),
        "alerting": AlertingResource(
            log_path=str(settings.alert_log),
            webhook_url=_env_or("MONITORING_WEBHOOK_URL", None),
            smtp_host=_env_or("MONITORING_SMTP_HOST", None),
            smtp_port=int(os.environ.get("MONITORING_SMTP_PORT", "587")),
            smtp_sender=os.environ.get("MONITORING_SMTP_FROM", "monitoring-jobs@localhost"),
            smtp_username=_env_or("MONITORING_SMTP_USER", None),
            smtp_password=_env_or("MONITORING_SMTP_PASSWORD", None),
            smtp_starttls=os.environ.get("MONITORING_SMTP_STARTTLS", "true").lower() not in ("0", "false", "no"),
        ),
    }
