"""The metric store: long-format rows, replaced per model-day, read back exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import math

import pytest
import sqlalchemy as sa

from monitoring_jobs.metric_store import MetricStore
from monitoring_jobs.metrics import Metric, Status

DAY = dt.date(2026, 10, 3)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> MetricStore:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.db'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    store = MetricStore(url)
    store.ensure_schema()
    yield store
    store.engine.dispose()


def day_metrics(value: float = 0.3) -> list[Metric]:
    return [
        Metric("drift", "wasserstein_normed", value, feature="income", threshold=0.1, status=Status.WARN),
        Metric("drift", "wasserstein_normed", 0.01, feature="age", threshold=0.1, status=Status.OK),
        Metric("performance", "roc_auc", 0.81, segment="region=north", status=Status.INFO),
        Metric("operations", "latency_p95_ms", math.nan, status=Status.MISSING, detail="no latency column"),
    ]


def test_rows_round_trip_with_nan_as_null(store):
    store.replace_day("credit", DAY, day_metrics(), run_id="r1")
    drift = store.read("drift", "credit")
    assert list(drift["feature"]) == ["income", "age"]
    assert list(drift["value"]) == [0.3, 0.01]
    assert drift["partition_date"].tolist() == [DAY, DAY]
    operations = store.read("operations", "credit")
    assert operations["value"].isna().all() and operations["detail"].tolist() == ["no latency column"]


def test_replacing_a_day_never_duplicates(store):
    for run in range(3):
        store.replace_day("credit", DAY, day_metrics(0.3 + run), run_id=f"r{run}")
    store.replace_day("credit", DAY + dt.timedelta(days=1), day_metrics())
    assert store.count_rows("credit", DAY) == {"validation": 0, "drift": 2, "performance": 1, "operations": 1}
    drift = store.read("drift", "credit", DAY, DAY)
    assert drift["value"].max() == pytest.approx(2.3) and set(drift["run_id"]) == {"r2"}


def test_explicit_areas_clear_stale_rows(store):
    store.replace_day("credit", DAY, day_metrics())
    store.replace_day("credit", DAY, [], areas=["drift"])
    assert store.count_rows("credit", DAY)["drift"] == 0
    assert store.count_rows("credit", DAY)["performance"] == 1


def test_metric_outside_the_named_areas_is_refused(store):
    with pytest.raises(ValueError, match="not in \\['drift'\\]"):
        store.replace_day("credit", DAY, day_metrics(), areas=["drift"])
    assert store.count_rows("credit", DAY)["drift"] == 0


def test_hostile_strings_are_stored_verbatim(store):
    name = "x'); DROP TABLE drift_metrics; --<script>"
    store.replace_day("credit", DAY, [Metric("drift", "psi", 1.0, feature=name)])
    assert store.read("drift", "credit")["feature"].tolist() == [name]
    assert sa.inspect(store.engine).has_table("drift_metrics")


def test_history_and_day_status(store):
    for offset in range(5):
        store.replace_day("credit", DAY + dt.timedelta(days=offset), day_metrics(offset))
    history = store.history("credit", DAY + dt.timedelta(days=4), days=2)
    assert sorted(set(history["partition_date"])) == [DAY + dt.timedelta(days=2), DAY + dt.timedelta(days=3)]
    assert set(history["area"]) == {"drift", "performance", "operations"}
    store.set_day_status("credit", DAY, status="warn", summary="1 check failed", row_count=10, report_path="a")
    store.set_day_status("credit", DAY, status="ok", summary="all checks passed", row_count=10, report_path="a")
    statuses = store.day_statuses()
    assert statuses[["model", "status"]].values.tolist() == [["credit", "ok"]]


def test_whole_day_history_leaves_out_feature_and_segment_rows(store):
    rows = day_metrics() + [Metric("performance", "roc_auc", 0.8, status=Status.OK)]
    store.replace_day("credit", DAY, rows)
    history = store.whole_day_history("credit")
    assert sorted(history["metric"]) == ["latency_p95_ms", "roc_auc"]
    assert (history["feature"] == "").all() and (history["segment"] == "").all()


def _write_days(url: str, model: str, days: list[str], rounds: int) -> None:
    """Worker process: replace each of its days ``rounds`` times, as repeated backfills would."""
    writer = MetricStore(url)
    for round_ in range(rounds):
        for day in days:
            writer.replace_day(model, dt.date.fromisoformat(day), day_metrics(float(round_)), run_id=f"r{round_}")
    writer.engine.dispose()


def test_two_processes_writing_different_days_neither_deadlock_nor_duplicate(store):
    import multiprocessing

    url = store.engine.url.render_as_string(hide_password=False)
    days = [(DAY + dt.timedelta(days=offset)).isoformat() for offset in range(6)]
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_days, args=(url, "credit", days[i::2], 15)) for i in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    for day in days:
        assert store.count_rows("credit", dt.date.fromisoformat(day)) == {
            "validation": 0, "drift": 2, "performance": 1, "operations": 1}
    assert set(store.read("drift", "credit")["run_id"]) == {"r14"}


def test_two_processes_replacing_the_same_day_leave_one_copy(store):
    import multiprocessing

    url = store.engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_days, args=(url, "credit", [DAY.isoformat()], 40)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    assert store.count_rows("credit", DAY) == {"validation": 0, "drift": 2, "performance": 1, "operations": 1}
