"""`monitoring-jobs demo` end to end in a fresh folder, as `make demo` runs it (small sizes)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from tests.conftest import MONITORS_DIR, SUITES_DIR

BIN = Path(sys.executable).parent


def test_demo_runs_end_to_end_and_prints_the_report_path(tmp_path):
    shutil.copytree(MONITORS_DIR, tmp_path / "assets" / "monitors")
    shutil.copytree(SUITES_DIR, tmp_path / "assets" / "suites")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("MONITORING_", "DAGSTER_"))} | {"GX_ANALYTICS_ENABLED": "false"}
    result = subprocess.run([BIN / "monitoring-jobs", "--home", tmp_path, "demo", "--days", "3",
                             "--rows-per-day", "300", "--quiet"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    index = tmp_path / "reports" / "index.html"
    assert result.stdout.rstrip().splitlines()[-1] == f"Reports: {index}"
    assert index.exists()
    for model in ("credit_default", "house_price", "llm_assistant"):
        for day in ("2026-10-01", "2026-10-02", "2026-10-03"):
            assert (tmp_path / "reports" / model / day / "index.html").exists()
            assert f"{model:<16} {day}" in result.stdout
    engine = sa.create_engine(f"sqlite:///{tmp_path / '.state' / 'metrics.db'}")
    with engine.connect() as conn:
        per_model = dict(conn.execute(sa.text(
            "select model, count(distinct partition_date) from drift_metrics group by model")).all())
        days = conn.execute(sa.text("select count(*) from model_days")).scalar_one()
    # house's rolling reference starts on day 2; the others have a reference file
    assert per_model == {"credit_default": 3, "house_price": 2, "llm_assistant": 3}
    assert days == 9
    assert (tmp_path / ".state" / "dagster_home" / "dagster.yaml").exists()

    again = subprocess.run([BIN / "monitoring-jobs", "--home", tmp_path, "demo", "--days", "3",
                            "--rows-per-day", "300", "--quiet"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "Using the demo data already in" in again.stdout
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from model_days")).scalar_one() == 9
