"""Late labels: fingerprints of arrival partitions, matching label ids to prediction days, unknown ids, and the
late_labels sensor re-running exactly the days whose labels changed (plain module, then through Dagster)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from monitoring_jobs import pipeline, stages
from monitoring_jobs.config import load_monitors
from monitoring_jobs.defs.monitors import build_definitions
from monitoring_jobs.late_labels import (
    LabelsRead,
    list_arrivals,
    load_labels_read,
    match_arrival,
    read_arrival,
    read_labels,
    record_labels,
    snapshot_request_ids,
    watch_labels,
)
from monitoring_jobs.metric_store import MetricStore
from monitoring_jobs.metrics import CheckOutcome
from monitoring_jobs.performance.labels import join_labels
from monitoring_jobs.pipeline import Workspace, save_outcomes, validated_snapshot_path, write_snapshot
from monitoring_jobs.settings import load_settings
from monitoring_jobs.stages import performance_stage
from monitoring_jobs.storage import ObjectStore, ParquetColumns
from tests.helpers import build_monitor, by_key

TODAY = dt.datetime.now(dt.UTC).date()
START = TODAY - dt.timedelta(days=20)


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def ids(n: int, count: int = 40) -> list[str]:
    return [f"d{n}-{i}" for i in range(count)]


@pytest.fixture()
def workspace(tmp_path) -> Workspace:
    return Workspace(ObjectStore(tmp_path), MetricStore(f"sqlite:///{tmp_path / 'metrics.db'}"),
                     tmp_path / "reports", tmp_path / "state")


@pytest.fixture()
def monitor():
    return build_monitor(start_date=START.isoformat(),
                         labels={"uri": "file://labels/dt={date}/", "max_delay_days": 3})


def ingest(workspace, monitor, n: int) -> None:
    rng = np.random.default_rng(n)
    write_snapshot(workspace, monitor, day(n), pd.DataFrame({"request_id": ids(n), "score": rng.uniform(size=40),
                                                             "x": 1.0}))


def write_labels(workspace, arrival: dt.date, name: str, request_ids: list[str], values=None) -> Path:
    values = [int(i.endswith(("1", "3", "5", "7", "9"))) for i in request_ids] if values is None else values
    path = workspace.objects.base_dir / "labels" / f"dt={arrival.isoformat()}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"request_id": request_ids, "label": values}), path)
    return path


def run_performance(workspace, monitor, *days: int) -> None:
    for n in days:
        performance_stage(workspace, monitor, day(n))


def requested(result) -> list[dt.date]:
    return [refresh.day for refresh in result.refreshes]


# --- plain module -------------------------------------------------------------------------------

def test_fingerprint_changes_exactly_when_the_partition_files_change(workspace, monitor):
    arrival = day(2)
    first = write_labels(workspace, arrival, "part-0.parquet", ids(1))

    def fingerprint():
        return list_arrivals(workspace, monitor, [arrival])[arrival].fingerprint

    before = fingerprint()
    assert fingerprint() == before  # listing again changes nothing
    hidden = first.parent / ".part-1.parquet.tmp"
    hidden.write_bytes(b"half-written upload")
    assert fingerprint() == before  # hidden temporary files are not part of the partition
    second = write_labels(workspace, arrival, "part-1.parquet", ids(0, 5))
    with_second = fingerprint()
    assert with_second != before
    write_labels(workspace, arrival, "part-1.parquet", ids(0, 6))  # rewritten with other content
    assert fingerprint() != with_second
    second.unlink()
    os.utime(first, ns=(first.stat().st_atime_ns, first.stat().st_mtime_ns + 10**9))  # touched, same size
    assert fingerprint() not in (before, with_second)
    first.unlink()
    assert list_arrivals(workspace, monitor, [arrival]) == {}


def test_match_arrival_splits_labels_by_prediction_day(monitor):
    days = {day(1): pa.array(["a1", "a2", "101"]), day(2): pa.array(["b1", "b2"])}
    labels = pd.DataFrame({"request_id": ["a1", "b1", "ghost", None, "a2", "ghost"], "label": [1, 0, 1, 1, 0, 0],
                           "batch": "first export"})
    found = match_arrival(labels, monitor, days)
    assert set(found.digests) == {day(1), day(2)}
    assert found.unknown_ids == ("ghost",)  # distinct ids; a row without an id belongs to no day
    more_for_day_2 = pd.concat([labels, pd.DataFrame({"request_id": ["b2"], "label": [1]})], ignore_index=True)
    again = match_arrival(more_for_day_2, monitor, days)
    assert again.digests[day(1)] == found.digests[day(1)] and again.digests[day(2)] != found.digests[day(2)]
    edited = labels.assign(label=[0, 0, 1, 1, 0, 0])  # a1's label flipped
    assert match_arrival(edited, monitor, days).digests[day(1)] != found.digests[day(1)]
    relabelled = labels.assign(labeled_at=pd.Timestamp("2026-10-05", tz="UTC"))  # the join orders by it
    assert match_arrival(relabelled, monitor, days).digests[day(1)] != found.digests[day(1)]
    other_columns = labels.assign(batch="second export")  # not used by the join: the day's labels are the same
    assert match_arrival(other_columns, monitor, days).digests == found.digests
    numeric = match_arrival(pd.DataFrame({"request_id": [101], "label": [1]}), monitor, days)
    assert set(numeric.digests) == {day(1)} and numeric.unknown_ids == ()  # ids compare as text, as in the join
    assert match_arrival(pd.DataFrame({"id": ["a1"], "label": [1]}), monitor, days).digests == {}
    # the ids' texts, not just their bytes run together: "a1" + "a2" is not "a" + "1a2"
    split_differently = labels.assign(request_id=["a", "b1", "ghost", None, "1a2", "ghost"])
    shifted = match_arrival(split_differently, monitor, {day(1): pa.array(["a", "1a2"]), day(2): days[day(2)]})
    assert shifted.digests[day(1)] != found.digests[day(1)]
    # the same rows give the same digest however Arrow holds them (a slice, several chunks, with nulls elsewhere)
    padded = pd.concat([pd.DataFrame({"request_id": ["pad"], "label": [0]}), labels], ignore_index=True).iloc[1:]
    padded = padded.assign(request_id=pd.array(pa.chunked_array([["a1", "b1"], ["ghost", None, "a2", "ghost"]]),
                                                dtype=pd.ArrowDtype(pa.string())))
    assert match_arrival(padded.reset_index(drop=True), monitor, days).digests == found.digests


@pytest.mark.parametrize("request_ids", [["a1", None, "  b\n<i>", "a1", ""], [7, None, 101, 7, 0]],
                         ids=["text", "numbers"])
def test_snapshot_request_ids_from_memory_equal_the_file_read(workspace, monitor, request_ids):
    frame = pd.DataFrame({"request_id": pd.array(request_ids, dtype="string" if isinstance(request_ids[0], str)
                                                 else "Int64"), "score": 0.5})
    write_snapshot(workspace, monitor, day(1), frame)  # this process keeps the snapshot it wrote
    kept = snapshot_request_ids(workspace, monitor, day(1))
    pipeline._last_snapshot.clear()  # another process: the file
    read = snapshot_request_ids(workspace, monitor, day(1))
    assert kept.equals(read) and read.to_pylist() == [str(i) for i in request_ids if i is not None]


def test_load_labels_reads_the_window_and_counts_unknown_ids_of_its_own_arrival_day(workspace, monitor):
    for n in (1, 2, 3):
        ingest(workspace, monitor, n)
    write_labels(workspace, day(3), "part-0.parquet", ids(1, 5) + ids(3, 4) + ["ghost\n<b>", "ghost\n<b>", "g2"])
    write_labels(workspace, day(0), "part-0.parquet", ids(3, 4))  # before the window of day 3: not read
    late = workspace.objects.base_dir / "labels" / f"dt={day(5).isoformat()}" / "part-0.parquet"
    late.parent.mkdir(parents=True)
    pq.write_table(pa.table({"request_id": ids(3, 40)[10:20], "label": [1] * 10,  # dated: a column of its own
                             "labeled_at": pa.array([dt.datetime(2026, 1, 1, tzinfo=dt.UTC)] * 10)}), late)
    write_labels(workspace, day(7), "part-0.parquet", ids(3, 40)[20:30])  # after day 3 + 3 days: not read
    labels = record_labels(workspace, monitor, day(3), read_labels(workspace, monitor, day(3), TODAY))
    assert sorted(labels.frame["request_id"]) == sorted(ids(1, 5) + ids(3, 4) + ["ghost\n<b>"] * 2 + ["g2"]
                                                       + ids(3, 40)[10:20])
    assert set(labels.read.arrivals) == {day(3), day(5)} and set(labels.read.digests) == {day(3), day(5)}
    unknown = by_key(labels.metrics())[("unknown_label_ids", "")]
    assert unknown.value == 2  # distinct ids; the labels of days 1 and 3 are known
    assert "ghost\\n<b>" in unknown.detail and "\n" not in unknown.detail  # shown escaped
    assert f"not compared with {day(0)}" in unknown.detail  # possible day 0 was never ingested
    # the day's rows found by the label join, not by hashing its ids again: the same record
    read = read_labels(workspace, monitor, day(3), TODAY)
    joined = join_labels(pipeline.read_validated_snapshot(workspace, monitor, day(3)), read.frame, monitor)
    from_join = record_labels(workspace, monitor, day(3), read, joined.matched_labels)
    assert (from_join.read, from_join.unknown) == (labels.read, labels.unknown)
    # each digest is what the sensor finds in that partition alone (its own columns, not those of the others)
    day_ids = {day(3): snapshot_request_ids(workspace, monitor, day(3))}
    for arrival, partition in list_arrivals(workspace, monitor, [day(3), day(5)]).items():
        fresh = match_arrival(read_arrival(workspace, monitor, partition), monitor, day_ids)
        assert labels.read.digests[arrival] == fresh.digests[day(3)]


def test_label_drift_and_performance_share_one_label_join_until_the_labels_change(workspace, monitor, monkeypatch):
    ingest(workspace, monitor, 1)
    write_labels(workspace, day(1), "part-0.parquet", ids(1)[:30])
    joins, join = [], stages.join_labels
    monkeypatch.setattr(stages, "join_labels", lambda *args: joins.append(args) or join(*args))
    snapshot = ParquetColumns(validated_snapshot_path(workspace, monitor, day(1)))
    arrived = read_labels(workspace, monitor, day(1), TODAY)
    drift_side = stages.day_label_join(workspace, monitor, day(1), snapshot, arrived)  # what label drift reads
    assert drift_side.labeled_rows == 30
    labeled = by_key(stages.performance_stage(workspace, monitor, day(1)).metrics)[("labeled_rows", "")]
    assert labeled.value == 30 and len(joins) == 1  # the performance stage took the join label drift made
    write_labels(workspace, day(2), "part-0.parquet", ids(1)[30:])  # the rest arrive a day late
    labeled = by_key(stages.performance_stage(workspace, monitor, day(1)).metrics)[("labeled_rows", "")]
    assert labeled.value == 40 and len(joins) == 2  # new label files: joined again


def test_sensor_logic_requests_exactly_the_days_whose_labels_changed(workspace, monitor):
    for n in range(5):
        ingest(workspace, monitor, n)
    for n in range(1, 6):  # each arrival day brings labels for the two days before it
        write_labels(workspace, day(n), "part-0.parquet", ids(n - 1, 20) + (ids(n - 2, 40)[20:30] if n > 1 else []))
    run_performance(workspace, monitor, 0, 1, 2, 3, 4)

    first = watch_labels(workspace, [monitor], TODAY)
    assert requested(first) == [] and first.problems == []

    # Labels for rows of day 1 that had none, landing in the partition of day 3 (in the windows of days 0-3).
    write_labels(workspace, day(3), "late.parquet", ids(1, 40)[30:35])
    found = watch_labels(workspace, [monitor], TODAY, first.cursor)
    assert requested(found) == [day(1)] and found.refreshes[0].arrivals == (day(3),)
    again = watch_labels(workspace, [monitor], TODAY, found.cursor)
    assert requested(again) == []  # already requested, its run has not happened yet
    # Labels of day 3 arriving on day 4 (also in day 1's window) request day 3, and still not day 1 again.
    write_labels(workspace, day(4), "late.parquet", ids(3, 40)[30:])
    other = watch_labels(workspace, [monitor], TODAY, again.cursor)
    assert requested(other) == [day(3)]
    run_performance(workspace, monitor, 1, 3)
    settled = watch_labels(workspace, [monitor], TODAY, other.cursor)
    assert requested(settled) == [] and '"requested": {}' in settled.cursor

    # A file removed: the day whose labels it held is re-run, not the others of its window.
    (workspace.objects.base_dir / "labels" / f"dt={day(2).isoformat()}" / "part-0.parquet").unlink()
    write_labels(workspace, day(2), "part-0.parquet", ids(1, 20))  # day 0's labels are gone, day 1's remain
    assert requested(watch_labels(workspace, [monitor], TODAY, settled.cursor)) == [day(0)]
    run_performance(workspace, monitor, 0)

    # Unknown ids arriving on day 4 change only day 4's figures.
    write_labels(workspace, day(4), "ghosts.parquet", ["ghost-1", "ghost-2"])
    ghosts = watch_labels(workspace, [monitor], TODAY, settled.cursor)
    assert [(r.day, r.arrivals) for r in ghosts.refreshes] == [(day(4), (day(4),))]
    run_performance(workspace, monitor, 4)
    assert load_labels_read(workspace, monitor.name, day(4)).unknown_label_ids == 2


def test_days_without_a_record_blocked_days_and_unreadable_files(workspace, monitor):
    for n in range(4):
        ingest(workspace, monitor, n)
    write_labels(workspace, day(1), "part-0.parquet", ids(0, 10))
    write_labels(workspace, day(2), "part-0.parquet", ids(1, 10))
    # Nothing recorded yet: due are the days with labels in their window, or with labels arriving on them
    # (their unknown_label_ids); day 3 has neither.
    assert requested(watch_labels(workspace, [monitor], TODAY)) == [day(0), day(1), day(2)]

    save_outcomes(workspace, monitor.name, day(0), "ingest", [CheckOutcome("nulls", False, "ERROR", "broken")])
    run_performance(workspace, monitor, 1, 2, 3)
    assert requested(watch_labels(workspace, [monitor], TODAY)) == []  # day 0 is blocked until re-ingested

    broken = workspace.objects.base_dir / "labels" / f"dt={day(2).isoformat()}" / "part-1.parquet"
    broken.write_bytes(b"not parquet")  # in the windows of days 0 to 2
    result = watch_labels(workspace, [monitor], TODAY)
    assert requested(result) == [] and len(result.problems) == 1 and str(broken) in result.problems[0]


def test_labels_read_round_trips():
    read = LabelsRead({day(1): "aa", day(2): "bb"}, {day(2): "cc"}, 3)
    assert LabelsRead.from_json(read.to_json().decode()) == read


# --- through Dagster ----------------------------------------------------------------------------

MODEL = "credit_default"


@pytest.fixture()
def own_data(project, demo_root, monkeypatch) -> Path:
    """A private copy of credit_default's demo data, since the test writes label files into it."""
    root = project / "own_data"
    shutil.copytree(demo_root / "data" / MODEL, root / "data" / MODEL)
    monkeypatch.setenv("MONITORING_DATA_ROOT", str(root))
    return root / "data" / MODEL


def evaluate(defs, instance, cursor):
    sensor = defs.resolve_sensor_def("late_labels")
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources) as context:
        result = sensor(context)
    return result.run_requests, result.cursor


def execute(defs, instance, request: dg.RunRequest):
    """What the daemon does with a run request: the job's selected assets for the partition, with the tags."""
    return defs.resolve_job_def(request.job_name).execute_in_process(
        partition_key=request.partition_key, asset_selection=request.asset_selection, tags=request.tags,
        instance=instance, raise_on_error=False)


def label_files_read(data: Path, arrivals: list[dt.date]) -> pd.DataFrame:
    frames = [pd.read_parquet(path) for arrival in arrivals
              for path in sorted((data / "labels" / f"dt={arrival.isoformat()}").glob("*.parquet"))]
    return pd.concat(frames, ignore_index=True)


def runs(store: MetricStore, on: dt.date) -> set[str]:
    return set(store.read("performance", MODEL, on, on)["run_id"])


def stored(store: MetricStore, on: dt.date) -> dict[str, float]:
    rows = store.read("performance", MODEL, on, on, whole_day_only=True)
    return dict(zip(rows["metric"], rows["value"], strict=True))


def test_a_late_label_file_re_runs_exactly_its_day_through_the_sensor(project, own_data, instance):
    settings = load_settings()
    monitor = next(m for m in load_monitors(settings.monitors_dir) if m.name == MODEL)
    defs = build_definitions([monitor], settings)
    start = monitor.start_date
    days = [start + dt.timedelta(days=n) for n in (1, 2, 3)]
    job = defs.resolve_job_def(f"{MODEL}_daily")
    for run_day in days:
        assert job.execute_in_process(partition_key=run_day.isoformat(), instance=instance,
                                      raise_on_error=False).success
    requests, cursor = evaluate(defs, instance, None)
    assert requests == []  # every day's performance read the labels as they are

    target, arrival = days[1], days[2]
    inference = pd.read_parquet(own_data / "inference" / f"dt={target.isoformat()}")
    window = [target + dt.timedelta(days=n) for n in range(monitor.labels.max_delay_days + 1)]
    labelled = set(label_files_read(own_data, window)["request_id"])
    unlabelled = inference[inference["score"].notna() & ~inference["request_id"].isin(labelled)]
    late = unlabelled.head(60)
    late_labels = pd.DataFrame({"request_id": late["request_id"], "label": (late["score"] > 0.5).astype("int64"),
                                "labeled_at": pd.Timestamp(arrival, tz="UTC")})
    late_labels.to_parquet(own_data / "labels" / f"dt={arrival.isoformat()}" / "late-0001.parquet", index=False)

    store = MetricStore(settings.db_url)
    before = stored(store, target)
    untouched = {other: runs(store, other) for other in days if other != target}
    requests, cursor = evaluate(defs, instance, cursor)
    assert [(r.partition_key, r.job_name) for r in requests] == [(target.isoformat(), f"{MODEL}_daily")]
    request = requests[0]
    assert sorted(key.path[-1] for key in request.asset_selection) == \
        ["drift_metrics", "monitoring_report", "performance_metrics"]  # what reads the day's labels, and the report
    assert request.tags["monitoring/label_partitions"] == arrival.isoformat()
    assert evaluate(defs, instance, cursor)[0] == []  # requested once, even before its run

    result = execute(defs, instance, request)
    assert result.success
    assert {e.asset_key for e in result.get_asset_materialization_events()} == set(request.asset_selection)
    checks = {e.event_specific_data.asset_check_key for e in result.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert {check.asset_key for check in checks} <= set(request.asset_selection)  # inference_logs is not re-run
    assert "performance_thresholds" in {check.name for check in checks}  # judged again: alerts see late news

    joined = inference.merge(label_files_read(own_data, window), on="request_id").dropna(subset=["score", "label"])
    after = stored(store, target)
    assert after["labeled_rows"] == before["labeled_rows"] + len(late) == len(joined)
    assert after["label_coverage"] == pytest.approx(len(joined) / inference["score"].notna().sum())
    assert after["label_coverage"] > before["label_coverage"]
    assert after["roc_auc"] == pytest.approx(roc_auc_score(joined["label"], joined["score"]), abs=1e-12)
    assert {other: runs(store, other) for other in untouched} == untouched  # no other day was re-run
    assert evaluate(defs, instance, cursor)[0] == []

    # Labels for requests of no day arriving on the last day: counted for that day, not dropped.
    ghosts = pd.DataFrame({"request_id": ["ghost-1", "ghost-2", "<ghost-3>"], "label": [1, 0, 1],
                           "labeled_at": pd.Timestamp(arrival, tz="UTC")})
    ghosts.to_parquet(own_data / "labels" / f"dt={arrival.isoformat()}" / "late-0002.parquet", index=False)
    requests, cursor = evaluate(defs, instance, cursor)
    assert [r.partition_key for r in requests] == [arrival.isoformat()]
    assert execute(defs, instance, requests[0]).success
    arrived = label_files_read(own_data, [arrival])
    known = set().union(*(pd.read_parquet(own_data / "inference" / f"dt={d.isoformat()}")["request_id"]
                          for d in days))  # the ingested days the labels of that arrival day can belong to
    expected_unknown = arrived.loc[~arrived["request_id"].isin(known), "request_id"].nunique()
    assert stored(store, arrival)["unknown_label_ids"] == expected_unknown
    assert expected_unknown >= len(ghosts)
    assert evaluate(defs, instance, cursor)[0] == []
