"""``run_day`` runs the metric stages of a day side by side and profiles the day while validating it: what it
stores must be what the stages store run one after another, each in a fresh process (nothing kept in memory).

Oracle: the same stages called one at a time on a second state folder over the same demo data, with every
in-memory cache cleared between them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from monitoring_jobs import pipeline, stages
from monitoring_jobs.config import load_monitors
from monitoring_jobs.demo_data import INCIDENTS
from monitoring_jobs.metric_store import METRIC_TABLES, MetricStore
from monitoring_jobs.pipeline import Workspace, load_outcomes
from monitoring_jobs.profiles import NumericProfile, load_profile, profile_path
from monitoring_jobs.storage import ObjectStore
from monitoring_jobs.validation import load_suite
from tests.conftest import MONITORS_DIR, SUITES_DIR

CREDIT = next(monitor for monitor in load_monitors(MONITORS_DIR) if monitor.name == "credit_default")


def make_workspace(data_root: Path, state: Path) -> Workspace:
    metrics = MetricStore(f"sqlite:///{state / 'metrics.db'}")
    metrics.ensure_schema()
    return Workspace(objects=ObjectStore(data_root), metrics=metrics, reports_dir=state / "reports",
                     state_dir=state / ".state")


def forget_everything_in_memory() -> None:
    """What a new process starts with: no snapshot, reference or label join kept from an earlier stage."""
    pipeline._last_snapshot.clear()
    pipeline._last_reference.clear()
    stages._last_label_join.clear()


def stored(workspace: Workspace, day: dt.date) -> dict:
    """Every figure, outcome and state file the day's stages leave, without run times."""
    figures = {}
    for area in METRIC_TABLES:
        rows = workspace.metrics.read(area, CREDIT.name, day, day).drop(columns=["id", "run_id", "computed_at"])
        figures[area] = rows.sort_values(["metric", "feature", "segment"]).reset_index(drop=True)
    labels_read = json.loads(workspace.labels_read_path(CREDIT.name, day).read_text(encoding="utf-8"))
    profile = load_profile(profile_path(workspace.state_dir, CREDIT.name, day))
    # a KLL sketch compacts at random, so two sketches of the same values differ; everything else is exact
    columns = {name: {key: value for key, value in vars(column).items() if key != "sketch"}
               if isinstance(column, NumericProfile) else column for name, column in profile.columns.items()}
    # outcomes link to the report, which is under each state folder
    outcomes = repr(load_outcomes(workspace, CREDIT.name, day)).replace(str(workspace.reports_dir), "<reports>")
    return {"figures": figures, "outcomes": outcomes, "labels_read": labels_read,
            "profile": (profile.rows, columns), "profile_sample": profile.sample}


@pytest.fixture(autouse=True)
def fresh_memory():
    forget_everything_in_memory()
    yield
    forget_everything_in_memory()


def test_run_day_stores_what_the_stages_store_one_after_another_in_fresh_processes(demo_root, tmp_path):
    spike = next(i for i in INCIDENTS if i.model == CREDIT.name and i.kind == "null_spike").first_day
    day = spike - dt.timedelta(days=2)  # labelled, not blocked, with a reference file to compare with
    suite = load_suite(SUITES_DIR / f"{CREDIT.name}.json")

    together = make_workspace(demo_root, tmp_path / "together")
    assert stages.run_day(together, CREDIT, day, suite).status in {"ok", "warn", "fail"}

    forget_everything_in_memory()
    apart = make_workspace(demo_root, tmp_path / "apart")
    assert not stages.ingest_stage(apart, CREDIT, day, suite).blocking
    for area, stage in stages.STAGES.items():
        forget_everything_in_memory()
        stages.record_stage(apart, CREDIT, day, area, stage(apart, CREDIT, day))

    expected, found = stored(apart, day), stored(together, day)
    assert set(found["figures"]) == set(expected["figures"])
    for area, rows in expected["figures"].items():
        assert len(rows) > 0 or area not in {"validation", "drift", "performance", "operations"}, area
        pd.testing.assert_frame_equal(found["figures"][area], rows, check_exact=False, rtol=1e-12, obj=area)
    assert found["outcomes"] == expected["outcomes"]
    assert found["labels_read"] == expected["labels_read"]
    assert found["profile"] == expected["profile"]
    pd.testing.assert_frame_equal(found["profile_sample"], expected["profile_sample"])
