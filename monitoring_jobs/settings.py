"""Where the embedded default keeps things, overridable by environment variables.

Everything lives under the project folder (``MONITORING_HOME``, default: the current folder):
monitor configs in ``assets/monitors``, suites profiled from references in ``assets/suites``,
demo data in ``data``, reports in ``reports`` and state
(the SQLite metric store, the alert log, ingest snapshots, Dagster's home) in ``.state``.
``MONITORING_REPORTS_URI`` (e.g. ``s3://bucket/reports``) also copies every report written there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    monitors_dir: Path
    suites_dir: Path
    data_root: Path
    reports_dir: Path
    state_dir: Path
    db_url: str
    reports_uri: str | None = None

    def suite_path(self, model: str) -> Path:
        """The reviewable expectation suite profiled from a model's reference (may not exist yet)."""
        return self.suites_dir / f"{model}.json"

    @property
    def alert_log(self) -> Path:
        return self.state_dir / "alerts.jsonl"

    @property
    def snapshot_dir(self) -> Path:
        return self.state_dir / "snapshots"

    @property
    def dagster_home(self) -> Path:
        return self.state_dir / "dagster_home"


def load_settings(environ: dict | None = None) -> Settings:
    env = os.environ if environ is None else environ
    home = Path(env.get("MONITORING_HOME") or os.getcwd()).resolve()

    def path(var: str, default: str) -> Path:
        value = Path(env.get(var) or default)
        return value if value.is_absolute() else home / value

    state_dir = path("MONITORING_STATE_DIR", ".state")
    return Settings(
        home=home,
        monitors_dir=path("MONITORING_MONITORS_DIR", "assets/monitors"),
        suites_dir=path("MONITORING_SUITES_DIR", "assets/suites"),
        data_root=path("MONITORING_DATA_ROOT", "."),
        reports_dir=path("MONITORING_REPORTS_DIR", "reports"),
        state_dir=state_dir,
        db_url=env.get("MONITORING_DB_URL") or f"sqlite:///{state_dir / 'metrics.db'}",
        reports_uri=env.get("MONITORING_REPORTS_URI") or None,
    )
