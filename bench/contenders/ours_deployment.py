"""What our contender scripts share: the deployment ``MONITORING_*`` describes (the benchmark folder), opened
as the pipeline opens it without Dagster. Project venv only."""

from monitoring_jobs.config import MonitorConfig, load_monitors
from monitoring_jobs.metric_store import MetricStore
from monitoring_jobs.pipeline import Workspace
from monitoring_jobs.settings import load_settings
from monitoring_jobs.storage import ObjectStore
from monitoring_jobs.validation import ProfiledSuite, load_suite


def open_deployment() -> tuple[Workspace, MonitorConfig, ProfiledSuite | None]:
    """The workspace, the folder's one monitor and its profiled suite (None without one)."""
    settings = load_settings()
    (monitor,) = load_monitors(settings.monitors_dir)
    store = MetricStore(settings.db_url)
    store.ensure_schema()
    workspace = Workspace(ObjectStore(settings.data_root), store, settings.reports_dir, settings.state_dir)
    return workspace, monitor, load_suite(settings.suite_path(monitor.name))
