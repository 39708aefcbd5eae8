"""``run_day`` runs the metric stages of a day side by side and profiles the day while validating it: what it
stores must be what the stages store run one after another, each in a fresh process (nothing kept in memory).

Oracle: the same stages called one at a time on a second state folder over the same demo data, with every
in-memory cache cleared between them.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from monitoring_jobs import pipeline, stages
from monitoring_jobs.config import load_monitors
from monitoring_jobs.demo_data import INCIDENTS
from monitoring_jobs.drift import compute_drift
from monitoring_jobs.drift.engine import SortedColumn, sorted_columns_read
from monitoring_jobs.metric_store import METRIC_TABLES
from monitoring_jobs.pipeline import Workspace, load_outcomes
from monitoring_jobs.profiles import NumericProfile, load_profile, profile_path
from monitoring_jobs.validation import load_suite
from tests.conftest import MONITORS_DIR, SUITES_DIR
from tests.helpers import build_monitor, make_workspace

CREDIT = next(monitor for monitor in load_monitors(MONITORS_DIR) if monitor.name == "credit_default")


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
    # outcomes link to the report, which is under each state folder
    outcomes = repr(load_outcomes(workspace, CREDIT.name, day)).replace(str(workspace.reports_dir), "<reports>")
    return {"figures": figures, "outcomes": outcomes, "labels_read": labels_read, **stored_profile(workspace, day)}


def report_files(workspace: Workspace, day: dt.date) -> dict[str, bytes]:
    """The day's report page and charts, byte for byte (the page with its folder's path left out)."""
    folder = workspace.report_path(CREDIT.name, day).parent
    return {file.name: file.read_bytes().replace(str(workspace.reports_dir).encode(), b"<reports>")
            for file in folder.iterdir()}


def stored_profile(workspace: Workspace, day: dt.date) -> dict:
    """The day's stored profile: its row count and columns without their sketches, and its row sample."""
    profile = load_profile(profile_path(workspace.state_dir, CREDIT.name, day))
    # a KLL sketch compacts at random, so two sketches of the same values differ; everything else is exact
    columns = {name: {key: value for key, value in vars(column).items() if key != "sketch"}
               if isinstance(column, NumericProfile) else column for name, column in profile.columns.items()}
    return {"profile": (profile.rows, columns), "profile_sample": profile.sample}


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
    forget_everything_in_memory()
    stages.publish_stage(apart, CREDIT, day)

    # the report too: run_day draws the drift charts before the last stages are recorded, publish_stage at the end
    assert report_files(together, day) == report_files(apart, day)
    assert len([name for name in report_files(apart, day) if name.startswith("dist_")]) >= 3
    expected, found = stored(apart, day), stored(together, day)
    assert set(found["figures"]) == set(expected["figures"])
    for area, rows in expected["figures"].items():
        assert len(rows) > 0 or area not in {"validation", "drift", "performance", "operations"}, area
        pd.testing.assert_frame_equal(found["figures"][area], rows, check_exact=False, rtol=1e-12, obj=area)
    assert found["outcomes"] == expected["outcomes"]
    assert found["labels_read"] == expected["labels_read"]
    assert found["profile"] == expected["profile"]
    pd.testing.assert_frame_equal(found["profile_sample"], expected["profile_sample"])


def test_the_days_profile_is_stored_when_the_ingesting_block_is_left_even_by_an_error(demo_root, tmp_path):
    """``run_day`` computes the metric stages inside ``ingesting``, beside the end of the day's profile: the stages
    find the snapshot and its outcomes there, and the profile is stored as ``ingest_stage`` stores it, also when
    the work inside fails."""
    day = CREDIT.start_date + dt.timedelta(days=3)
    suite = load_suite(SUITES_DIR / f"{CREDIT.name}.json")
    alone = make_workspace(demo_root, tmp_path / "alone")
    stages.ingest_stage(alone, CREDIT, day, suite)
    forget_everything_in_memory()
    inside = make_workspace(demo_root, tmp_path / "inside")
    with pytest.raises(RuntimeError, match="a stage failed"), stages.ingesting(inside, CREDIT, day, suite):
        assert not profile_path(inside.state_dir, CREDIT.name, day).exists()  # not yet: it is stored on leaving
        assert len(pipeline.read_validated_snapshot(inside, CREDIT, day)) == len(pd.read_parquet(
            alone.snapshot_path(CREDIT.name, day)))
        raise RuntimeError("a stage failed")
    found, expected = stored_profile(inside, day), stored_profile(alone, day)
    assert found["profile"] == expected["profile"]
    pd.testing.assert_frame_equal(found["profile_sample"], expected["profile_sample"])


def test_a_validation_that_raises_leaves_the_days_earlier_snapshot_and_no_temp_file(demo_root, tmp_path, monkeypatch):
    """The snapshot is written while the day is validated, and replaces the earlier one only once validation
    has finished: a crash in between leaves the earlier snapshot beside the outcomes it was validated with."""
    day = CREDIT.start_date + dt.timedelta(days=3)
    workspace = make_workspace(demo_root, tmp_path)
    suite = load_suite(SUITES_DIR / f"{CREDIT.name}.json")
    stages.ingest_stage(workspace, CREDIT, day, suite)
    path = workspace.snapshot_path(CREDIT.name, day)
    earlier, outcomes = path.read_bytes(), load_outcomes(workspace, CREDIT.name, day)

    def crash(*args, **kwargs):
        raise RuntimeError("validation crashed")

    monkeypatch.setattr(stages, "validate_day", crash)
    monkeypatch.setattr(stages, "read_inference", lambda *args: pipeline.IngestedDay(
        pd.read_parquet(path).iloc[:10]))  # other rows than the earlier snapshot's
    with pytest.raises(RuntimeError, match="validation crashed"):
        stages.ingest_stage(workspace, CREDIT, day, suite)
    assert path.read_bytes() == earlier and load_outcomes(workspace, CREDIT.name, day) == outcomes
    assert sorted(p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")) == []


# --- the reference file's columns, sorted once per state of the file ------------------------------------------

def same_drift(found, expected) -> None:
    """Every drift figure, status and detail alike (NaN equal to NaN)."""
    assert [(m.metric, m.feature) for m in found] == [(m.metric, m.feature) for m in expected]
    for got, want in zip(found, expected, strict=True):
        assert got.value == pytest.approx(want.value, rel=0, abs=0, nan_ok=True), (got.metric, got.feature)
        assert (got.status, got.detail, got.threshold) == (want.status, want.detail, want.threshold)


def test_drift_on_sorted_reference_columns_equals_drift_on_the_reference_rows():
    """Nulls, infinities, text that is not a number, few values, a calibrated column (which reads rows) and the
    model output: the same figures whether the reference's columns come sorted (read-only, as mapped from disk)
    or as rows."""
    rng = np.random.default_rng(5)
    rows = 4000

    def frame(shift: float) -> pd.DataFrame:
        x = rng.normal(shift, 1, rows)
        x[:40] = np.nan
        x[40:43] = [np.inf, -np.inf, np.inf]
        text = pd.Series(rng.normal(0, 1, rows).round(3).astype(str), dtype=object)
        text[:25] = "not a number"
        text[25:30] = None
        return pd.DataFrame({"x": x, "text": text, "few": rng.integers(0, 4, rows).astype(float),
                             "calibrated": rng.gamma(2, 1 + shift, rows), "score": rng.uniform(0, 1, rows),
                             "ts": pd.date_range("2026-10-01", periods=rows, freq="min", tz="UTC")})

    monitor = build_monitor(columns={"numeric_features": ["x", "text", "few", "calibrated"], "timestamp": "ts"},
                            drift={"features": {"calibrated": {"calibrate": True}}, "multivariate": {"enabled": True}})
    reference, current = frame(0.0), frame(0.3)
    assert sorted_columns_read(monitor) == ["x", "text", "few", "score"]
    prepared = {name: SortedColumn.of(reference[name]) for name in sorted_columns_read(monitor)}
    for column in prepared.values():
        column.values.flags.writeable = False
    assert prepared["text"].not_numbers == 25 and prepared["text"].nulls == 30
    assert list(prepared["x"].values) == sorted(reference["x"].dropna())
    with_sorted = compute_drift(reference, current, monitor, sorted_reference=prepared)
    same_drift(with_sorted.metrics(monitor.drift.severity),
               compute_drift(reference, current, monitor).metrics(monitor.drift.severity))
    with pytest.raises(ValueError, match="calibrated column needs the reference's rows"):
        compute_drift(reference, current, monitor, sorted_reference={"calibrated": SortedColumn.of(reference["x"])})


def test_the_reference_is_sorted_on_the_first_day_and_read_back_until_its_file_changes(demo_root, tmp_path,
                                                                                        monkeypatch):
    shutil.copytree(demo_root / "data" / CREDIT.name, tmp_path / "data" / "data" / CREDIT.name)
    workspace = make_workspace(tmp_path / "data", tmp_path / "state")
    spike = next(i for i in INCIDENTS if i.model == CREDIT.name and i.kind == "null_spike").first_day
    day = spike - dt.timedelta(days=2)
    assert not stages.ingest_stage(workspace, CREDIT, day, load_suite(SUITES_DIR / f"{CREDIT.name}.json")).blocking
    kept = workspace.sorted_reference_dir(CREDIT.name)
    reference_file = tmp_path / "data" / "data" / CREDIT.name / "reference" / "reference.parquet"

    def drift_from_rows() -> list:
        """The oracle: drift on the reference rows, nothing sorted in advance."""
        reference, _ = pipeline.load_drift_reference(workspace, CREDIT, day)
        labels, _ = stages.drift_labels(workspace, CREDIT, day, reference, pipeline.read_validated_snapshot(
            workspace, CREDIT, day))
        report = compute_drift(reference, pipeline.read_validated_snapshot(workspace, CREDIT, day), CREDIT)
        return (report if labels is None else report.with_label_drift(labels, CREDIT)).metrics(CREDIT.drift.severity)

    def drift_stage() -> list:
        forget_everything_in_memory()
        return stages.drift_stage(workspace, CREDIT, day).metrics

    first = drift_stage()
    same_drift(first, drift_from_rows())
    [state] = list(kept.iterdir())
    manifest = json.loads((state / "columns.json").read_text())
    assert sorted(manifest) == sorted(sorted_columns_read(CREDIT)) and len(manifest) >= 5

    with monkeypatch.context() as patched:  # later days read the saved columns back
        patched.setattr(SortedColumn, "of", classmethod(lambda cls, values: pytest.fail("sorted again")))
        same_drift(drift_stage(), first)

    damaged = state / manifest["age"]["file"]
    damaged.write_bytes(damaged.read_bytes()[:100])
    same_drift(drift_stage(), first)  # sorted again and saved whole
    assert np.load(damaged).size + manifest["age"]["nulls"] == len(pd.read_parquet(reference_file))

    table = pq.read_table(reference_file)
    pq.write_table(table.slice(0, table.num_rows - 500), reference_file)  # a new state of the reference file
    changed = drift_stage()
    assert [path.name for path in kept.iterdir()] != [state.name] and len(list(kept.iterdir())) == 1
    same_drift(changed, drift_from_rows())
    assert any(m.detail != f.detail for m, f in zip(changed, first, strict=True))  # the shorter reference counts
