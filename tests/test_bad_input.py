"""Broken inference logs never crash a run or lose data.

Every case below is its own monitor, run through Dagster beside a clean monitor for three days, the
middle one broken. For each: the broken day ends in a failed check or a step error that names the file
or the column; the clean days and the clean monitor complete; the metric store holds no half-written
day and no stale figures for a blocked one; reports escape whatever the logs contained.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from monitoring_jobs.config import load_monitors
from monitoring_jobs.defs.monitors import build_definitions
from monitoring_jobs.defs.runner import run_days
from monitoring_jobs.metric_store import MetricStore
from monitoring_jobs.pipeline import load_outcomes
from monitoring_jobs.settings import load_settings

START = dt.date(2026, 3, 1)
DAYS = [START, START + dt.timedelta(days=1), START + dt.timedelta(days=2)]
BROKEN = DAYS[1]
ROWS = 400
HOSTILE_COLUMN = '<img src=x onerror="alert(1)">'
HOSTILE_VALUES = ["<script>alert(1)</script>", "O'Brien\"; DROP TABLE drift_metrics; --", "línea\nnueva ✓ 日本"]


def clean_day(day: dt.date, rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed + day.toordinal())
    score = rng.uniform(0.02, 0.98, rows)
    start = pd.Timestamp(day.isoformat(), tz="UTC")
    return pd.DataFrame({
        "request_id": [f"{day:%Y%m%d}-{i:06d}" for i in range(rows)],
        "timestamp": start + pd.to_timedelta(np.sort(rng.uniform(0, 86_000, rows)), unit="s"),
        "model_version": "v1",
        "x1": rng.normal(50, 10, rows),
        "x2": rng.lognormal(3, 0.4, rows),
        "segment": rng.choice(["a", "b", "c"], rows),
        "score": score,
        "prediction": (score >= 0.5).astype("int64"),
        "latency_ms": rng.lognormal(4, 0.3, rows),
        "status": "ok",
    })


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue()


def jsonl_gz(frame: pd.DataFrame) -> bytes:
    out = frame.copy()
    out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return gzip.compress(out.to_json(orient="records", lines=True).encode(), mtime=0)


@dataclass(frozen=True)
class Case:
    """How the broken day is written, and what the user must be told."""

    name: str
    fmt: str = "parquet"
    ext: str = "parquet"
    # (check name, words in its description) the broken day must fail; or None when a step error is expected
    failed_check: tuple[str, str] | None = None
    step_error: str | None = None  # words the step failure must contain (file or column)
    blocked: bool = False  # ERROR check: drift, performance and operations must not run
    feature: str = "x1"

    def write(self, folder: Path, day: dt.date) -> None:
        frame = clean_day(day)
        if self.name == "hostile_strings":
            frame = frame.rename(columns={"segment": HOSTILE_COLUMN})
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"part-0000.{self.ext}"
        writer = getattr(self, f"_{self.name}", None)
        if day != BROKEN or writer is None:
            target.write_bytes(jsonl_gz(frame) if self.fmt == "jsonl" else
                               frame.to_csv(index=False).encode() if self.fmt == "csv" else parquet_bytes(frame))
            return
        writer(frame, target)

    # --- the broken days -------------------------------------------------------------------------
    def _empty_file(self, frame, target):
        target.write_bytes(b"")

    def _corrupt_parquet(self, frame, target):
        target.write_bytes(parquet_bytes(frame)[:-300])

    def _truncated_gzip_jsonl(self, frame, target):
        target.write_bytes(jsonl_gz(frame)[:-200])

    def _ragged_csv(self, frame, target):
        target.write_bytes(frame.to_csv(index=False).encode() + b"only,three,fields\n")

    def _missing_column(self, frame, target):
        target.write_bytes(parquet_bytes(frame.drop(columns=["x1"])))

    def _numbers_as_strings(self, frame, target):
        target.write_bytes(parquet_bytes(frame.assign(x1=[f"n/a-{i}" for i in range(len(frame))])))

    def _nan_and_inf(self, frame, target):
        frame.loc[:2, "x1"] = [np.nan, np.inf, -np.inf]
        target.write_bytes(parquet_bytes(frame))

    def _all_null_column(self, frame, target):
        target.write_bytes(parquet_bytes(frame.assign(x2=np.nan)))

    def _duplicate_ids(self, frame, target):
        frame.loc[:9, "request_id"] = frame.loc[0, "request_id"]
        target.write_bytes(parquet_bytes(frame))

    def _naive_timestamps(self, frame, target):
        target.write_bytes(parquet_bytes(frame.assign(timestamp=frame["timestamp"].dt.tz_localize(None))))

    def _other_timezone(self, frame, target):
        # The same instants written at +05:00, plus 20 rows that are really from the previous UTC day.
        local = frame["timestamp"].dt.tz_convert("Asia/Karachi")
        local.iloc[:20] = local.iloc[:20] - pd.Timedelta(days=1)
        target.write_bytes(parquet_bytes(frame.assign(timestamp=local)))

    def _one_row(self, frame, target):
        target.write_bytes(parquet_bytes(frame.head(1)))

    def _unseen_categories(self, frame, target):
        frame.loc[:49, "segment"] = "zz-new"
        target.write_bytes(parquet_bytes(frame))

    def _high_cardinality(self, frame, target):
        big = clean_day(BROKEN, rows=100_000)
        big["segment"] = [f"user-{i}" for i in range(len(big))]
        target.write_bytes(parquet_bytes(big))

    def _hostile_strings(self, frame, target):
        frame.loc[:2, HOSTILE_COLUMN] = HOSTILE_VALUES
        target.write_bytes(parquet_bytes(frame))


CASES = [
    Case("no_files", failed_check=("volume", "no parquet files"), blocked=True),
    Case("empty_file", step_error="part-0000.parquet"),
    Case("corrupt_parquet", step_error="part-0000.parquet"),
    Case("truncated_gzip_jsonl", fmt="jsonl", ext="jsonl.gz", step_error="part-0000.jsonl.gz"),
    Case("ragged_csv", fmt="csv", ext="csv", step_error="part-0000.csv"),
    Case("missing_column", failed_check=("schema", "x1"), blocked=True),
    Case("numbers_as_strings", failed_check=("schema", "x1"), blocked=True),
    Case("nan_and_inf", failed_check=("ranges", "x1")),
    Case("all_null_column", failed_check=("nulls", "x2"), blocked=True),
    Case("duplicate_ids", failed_check=("unique_request_ids", "request_id")),
    Case("naive_timestamps", failed_check=("freshness", "timezone")),
    Case("other_timezone", failed_check=("freshness", "(20 before it, 0 after it)")),
    Case("one_row", failed_check=("volume", "1 row"), blocked=True),
    Case("unseen_categories", failed_check=("categories", "zz-new")),
    Case("high_cardinality", failed_check=("categories", "segment")),
    Case("hostile_strings", failed_check=("categories", HOSTILE_COLUMN), feature=HOSTILE_COLUMN),
]


def monitor_yaml(case: Case) -> str:
    segment = json.dumps(HOSTILE_COLUMN if case.name == "hostile_strings" else "segment")
    return textwrap.dedent(f"""\
        name: {case.name}
        task: binary_classification
        start_date: {START.isoformat()}
        inference: {{uri: "file://data/{{model}}/dt={{date}}/", format: {case.fmt}}}
        columns:
          model_version: model_version
          score: score
          prediction: prediction
          latency_ms: latency_ms
          status: status
          numeric_features: [x1, x2]
          categorical_features: [{segment}]
        reference: {{kind: file, uri: "file://data/{{model}}/reference.parquet"}}
        validation:
          min_rows: 50
          ranges: {{x1: {{min: -1000, max: 1000}}}}
          categories: {{{segment}: [a, b, c]}}
        alerts: [{{channel: log}}]
        """)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """All cases and a clean twin, backfilled for three days in one process, as a user's backfill would."""
    root = tmp_path_factory.mktemp("bad_input")
    monitors_dir = root / "assets" / "monitors"
    monitors_dir.mkdir(parents=True)
    for case in [*CASES, Case("clean_twin")]:
        (monitors_dir / f"{case.name}.yaml").write_text(monitor_yaml(case))
        reference = clean_day(START - dt.timedelta(days=10), rows=2000)
        if case.name == "hostile_strings":
            reference = reference.rename(columns={"segment": HOSTILE_COLUMN})
        (root / "data" / case.name).mkdir(parents=True)
        (root / "data" / case.name / "reference.parquet").write_bytes(parquet_bytes(reference))
        for day in DAYS:
            if case.name == "no_files" and day == BROKEN:
                continue
            case.write(root / "data" / case.name / f"dt={day.isoformat()}", day)

    patch = pytest.MonkeyPatch()
    for var in ("MONITORING_DB_URL", "MONITORING_WEBHOOK_URL", "MONITORING_STATE_DIR", "MONITORING_REPORTS_DIR",
                "MONITORING_DATA_ROOT", "MONITORING_MONITORS_DIR", "MONITORING_SUITES_DIR"):
        patch.delenv(var, raising=False)
    patch.setenv("MONITORING_HOME", str(root))
    try:
        settings = load_settings()
        monitors = load_monitors(settings.monitors_dir)
        defs = build_definitions(monitors, settings)
        home = root / ".state" / "dagster_home"
        home.mkdir(parents=True)
        with dg.instance_for_test(temp_dir=str(home)) as instance:
            outcomes = run_days(defs, instance, monitors, DAYS)
            yield settings, {(o.model, o.day): o for o in outcomes}
    finally:
        patch.undo()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_broken_day_is_reported_clearly_and_contained(corpus, case):
    settings, outcomes = corpus
    store = MetricStore(settings.db_url)
    for day in DAYS:
        assert outcomes[("clean_twin", day)].success
        if day != BROKEN:
            assert outcomes[(case.name, day)].success, outcomes[(case.name, day)].problems
    broken = outcomes[(case.name, BROKEN)]
    rows = store.count_rows(case.name, BROKEN)

    if case.step_error:
        assert not broken.success
        assert any(case.step_error in problem for problem in broken.problems), broken.problems
        assert rows == {"validation": 0, "drift": 0, "performance": 0, "operations": 0}
        return

    check, words = case.failed_check
    failed = {o.name: o for o in load_outcomes(store_workspace(settings), case.name, BROKEN) if not o.passed}
    assert check in failed, {name: o.description for name, o in failed.items()}
    assert words in failed[check].description, failed[check].description
    assert rows["validation"] > 0
    report = settings.reports_dir / case.name / BROKEN.isoformat() / "index.html"
    assert report.exists()
    if case.blocked:
        assert not broken.success
        assert rows["drift"] == rows["performance"] == rows["operations"] == 0
        assert "not computed" in report.read_text(encoding="utf-8")
    else:
        assert broken.success, broken.problems
        assert rows["drift"] > 0 and rows["operations"] > 0


def store_workspace(settings):
    from monitoring_jobs.defs.resources import build_resources

    return build_resources(settings, resolve_env=True)["monitoring"].workspace()


def test_hostile_strings_are_escaped_in_reports_and_stored_verbatim(corpus):
    settings, _ = corpus
    html = (settings.reports_dir / "hostile_strings" / BROKEN.isoformat() / "index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "&lt;script&gt;" in html
    drift = MetricStore(settings.db_url).read("drift", "hostile_strings", BROKEN, BROKEN)
    assert HOSTILE_COLUMN in set(drift["feature"])
    index = (settings.reports_dir / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in index


def test_other_timezone_is_converted_not_lost(corpus):
    settings, _ = corpus
    snapshot = pd.read_parquet(settings.snapshot_dir / "other_timezone" / f"{BROKEN.isoformat()}.parquet")
    expected = clean_day(BROKEN)["timestamp"]
    expected.iloc[:20] = expected.iloc[:20] - pd.Timedelta(days=1)
    assert len(snapshot) == ROWS
    assert (snapshot["timestamp"].dt.tz_convert("UTC").to_numpy() == expected.to_numpy()).all()


def test_the_snapshot_later_stages_take_from_memory_is_what_reading_the_file_gives(tmp_path, monkeypatch):
    from monitoring_jobs import pipeline
    from monitoring_jobs.storage import ObjectStore

    workspace = pipeline.Workspace(ObjectStore(tmp_path), MetricStore(f"sqlite:///{tmp_path / 'm.db'}"),
                                   tmp_path / "reports", tmp_path / "state")
    monitor = load_monitors(Path(__file__).parents[1] / "assets" / "monitors")[0]
    frame = clean_day(START, rows=6).assign(**{
        HOSTILE_COLUMN: HOSTILE_VALUES * 2,
        "nullable_int": pd.array([1, None, 3, 4, None, 6], dtype="Int64"),
        "ints_as_objects": pd.Series([1, None, 3, 4, 5, 6], dtype=object),
        "flag": [True, None, False, True, True, None],
        "category": pd.Categorical(["a", "b", None, "a", "b", "a"]),
        "all_null": None,
        "naive_time": pd.Timestamp("2026-03-01 12:00"),
        "decimal_text": ["1.5", "2", "x", None, "1e3", "nan"],
    })
    path = pipeline.write_snapshot(workspace, monitor, START, frame)
    read_back = pq.read_table(path).to_pandas()
    with monkeypatch.context() as patched:
        patched.setattr(pipeline.pq, "read_table", lambda *args, **kwargs: pytest.fail("read the file again"))
        kept = pipeline.read_validated_snapshot(workspace, monitor, START)
    pd.testing.assert_frame_equal(kept, read_back, check_exact=True)
    pd.testing.assert_frame_equal(kept, frame.assign(ints_as_objects=kept["ints_as_objects"]), check_exact=True)


def _one_file_day(tmp_path, frame: pd.DataFrame, files: int = 1):
    """A workspace whose monitor reads ``frame`` for START from ``files`` parquet files of one folder."""
    from monitoring_jobs import pipeline
    from monitoring_jobs.storage import ObjectStore
    from tests.helpers import build_monitor

    workspace = pipeline.Workspace(ObjectStore(tmp_path), MetricStore(f"sqlite:///{tmp_path / 'm.db'}"),
                                   tmp_path / "reports", tmp_path / "state")
    monitor = build_monitor(columns={"numeric_features": ["x1", "x2"], "categorical_features": ["segment"],
                                     "request_id": "request_id", "timestamp": "timestamp"},
                            inference={"uri": "file://data/{date}/"})
    folder = tmp_path / "data" / START.isoformat()
    folder.mkdir(parents=True)
    for index, part in enumerate(np.array_split(np.arange(len(frame)), files)):
        pq.write_table(pa.Table.from_pandas(frame.iloc[part], preserve_index=False), folder / f"part-{index}.parquet")
    return workspace, monitor, folder


def test_a_day_read_as_it_is_from_one_parquet_file_is_snapshotted_as_a_copy_of_the_file(tmp_path, monkeypatch):
    """Normalization changed nothing (UTC timestamps), so the snapshot is the source's bytes, and the rows later
    stages take from memory are what a fresh process reads from it (hostile text, nulls, categories)."""
    from monitoring_jobs import pipeline

    frame = clean_day(START, rows=6).assign(**{
        HOSTILE_COLUMN: HOSTILE_VALUES * 2,
        "nullable_int": pd.array([1, None, 3, 4, None, 6], dtype="Int64"),
        "category": pd.Categorical(["a", "b", None, "a", "b", "a"]),
    })
    workspace, monitor, folder = _one_file_day(tmp_path, frame)
    ingested = pipeline.read_inference(workspace, monitor, START)
    assert ingested.source is not None and ingested.source.path == str(folder / "part-0.parquet")
    path = pipeline.write_snapshot(workspace, monitor, START, ingested.frame, source=ingested.source)
    assert path.read_bytes() == (folder / "part-0.parquet").read_bytes()
    with monkeypatch.context() as patched:
        patched.setattr(pipeline.pq, "read_table", lambda *args, **kwargs: pytest.fail("read the file again"))
        kept = pipeline.read_validated_snapshot(workspace, monitor, START)
    pd.testing.assert_frame_equal(kept, pq.read_table(path).to_pandas(), check_exact=True)


@pytest.mark.parametrize("case", ["naive timestamps", "timestamps with an offset", "two files",
                                  "file rewritten after it was listed"])
def test_a_day_normalized_or_not_read_from_one_unchanged_file_gets_its_validated_rows_written(tmp_path, case):
    """The snapshot holds the rows validated, with UTC timestamps, whenever a copy of the source would not."""
    from monitoring_jobs import pipeline

    frame = clean_day(START, rows=40)
    if case == "naive timestamps":
        frame["timestamp"] = frame["timestamp"].dt.tz_localize(None)
    elif case == "timestamps with an offset":
        frame["timestamp"] = frame["timestamp"].dt.tz_convert("America/New_York")
    workspace, monitor, folder = _one_file_day(tmp_path, frame, files=2 if case == "two files" else 1)
    ingested = pipeline.read_inference(workspace, monitor, START)
    assert (ingested.source is None) == (case != "file rewritten after it was listed")
    if case == "file rewritten after it was listed":  # as an export that runs again would
        pq.write_table(pa.Table.from_pandas(clean_day(START, rows=40, seed=1)), folder / "part-0.parquet")
    path = pipeline.write_snapshot(workspace, monitor, START, ingested.frame, source=ingested.source)
    read_back = pq.read_table(path).to_pandas()
    pd.testing.assert_frame_equal(read_back, ingested.frame, check_exact=True)
    assert str(read_back["timestamp"].dt.tz) == "UTC"
    pd.testing.assert_series_equal(read_back["timestamp"], frame["timestamp"].dt.tz_localize("UTC")
                                   if case == "naive timestamps" else frame["timestamp"].dt.tz_convert("UTC"))


def test_drift_from_the_snapshot_kept_in_memory_equals_drift_from_the_file(tmp_path, monkeypatch):
    """The drift stage takes the rows ingest kept in memory instead of reading the file a column at a time: the
    same figures for every feature, the model output and the multivariate error (text, nulls, few values)."""
    from monitoring_jobs import pipeline
    from monitoring_jobs.drift.engine import compute_drift
    from monitoring_jobs.storage import ObjectStore, ParquetColumns
    from tests.helpers import build_monitor

    workspace = pipeline.Workspace(ObjectStore(tmp_path), MetricStore(f"sqlite:///{tmp_path / 'm.db'}"),
                                   tmp_path / "reports", tmp_path / "state")
    monitor = build_monitor(columns={"numeric_features": ["x1", "x2", "few"], "categorical_features": ["segment"],
                                     "request_id": "request_id"},
                            drift={"multivariate": {"enabled": True}})

    def with_awkward_values(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        frame = frame.assign(few=rng.integers(0, 3, len(frame)).astype(float))
        frame.loc[rng.random(len(frame)) < 0.05, ["x2", "segment"]] = None
        return frame

    reference = with_awkward_values(clean_day(START, rows=3000, seed=7), 1)
    day = START + dt.timedelta(days=1)
    current = with_awkward_values(clean_day(day, rows=2500).assign(x1=lambda f: f["x1"] + 3), 2)
    path = pipeline.write_snapshot(workspace, monitor, day, current)
    with monkeypatch.context() as patched:
        patched.setattr(pipeline.pq, "read_table", lambda *args, **kwargs: pytest.fail("read the file again"))
        kept = pipeline.validated_snapshot_columns(workspace, monitor, day)
    assert isinstance(kept, pd.DataFrame)
    from_memory = compute_drift(reference, kept, monitor).metrics(monitor.drift.severity)
    from_file = compute_drift(reference, ParquetColumns(path), monitor).metrics(monitor.drift.severity)
    assert [(m.metric, m.feature) for m in from_memory] == [(m.metric, m.feature) for m in from_file]
    assert any(m.metric == "multivariate_reconstruction_error" and m.value == m.value for m in from_memory)
    for memory, file in zip(from_memory, from_file, strict=True):
        assert memory.value == pytest.approx(file.value, rel=1e-12, nan_ok=True), (memory.metric, memory.feature)
        assert (memory.status, memory.detail) == (file.status, file.detail)
    pipeline._last_snapshot.clear()  # another process: the file, a column at a time
    assert isinstance(pipeline.validated_snapshot_columns(workspace, monitor, day), ParquetColumns)
