"""Scale-out with Dagster's celery executor: two workers started as users start them (`dagster-celery worker
start` with assets/dagster/celery.yaml) share a multi-day backfill; both do work and every partition lands once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest

from monitoring_jobs.config import ConfigError
from monitoring_jobs.defs.monitors import build_definitions
from tests.backfills import ASSETS, BIN, MODEL, assert_each_day_once, backfill_env, clean_days, run_backfill
from tests.conftest import REPO, service_unavailable

CELERY_YAML = REPO / "assets" / "dagster" / "celery.yaml"
BROKERS = {
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672//", "rpc://", 5672),
    "redis": ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1", 6379),
}


def require_broker(name: str, port: int) -> None:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
    except OSError as exc:
        service_unavailable(f"{name} not reachable at 127.0.0.1:{port}: {exc}")
    if name == "redis":
        try:
            import redis  # noqa: F401
        except ModuleNotFoundError:
            service_unavailable("Celery's Redis transport needs the redis client: pip install 'celery[redis]'")


def start_worker(name: str, queue: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """One worker in a process group of its own (dagster-celery runs `celery`, which forks its pool)."""
    with log.open("w") as out:
        return subprocess.Popen([BIN / "dagster-celery", "worker", "start", "-A", "dagster_celery.app",
                                 "-y", CELERY_YAML, "-q", queue, "-n", name, "--", "--concurrency", "1"],
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def wait_until_ready(workers: dict[str, tuple[subprocess.Popen, Path]], timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    waiting = dict(workers)
    while waiting and time.monotonic() < deadline:
        for name, (process, log) in list(waiting.items()):
            text = log.read_text()
            assert process.poll() is None, f"worker {name} exited:\n{text[-3000:]}"
            if f"{name}@" in text and " ready." in text:
                del waiting[name]
        time.sleep(1)
    assert not waiting, f"workers not ready after {timeout_s}s: {', '.join(waiting)}"


def stop(process: subprocess.Popen) -> None:
    """Warm shutdown of the whole group, then kill whatever is left."""
    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def delete_queue(broker: str, queue: str) -> None:
    """The per-test queue and its exchange, so test runs leave nothing behind on the broker."""
    from kombu import Connection

    with Connection(broker, connect_timeout=5) as conn:
        channel = conn.default_channel
        channel.queue_delete(queue)
        channel.exchange_delete(queue)


@pytest.mark.parametrize("broker_name", BROKERS)
def test_two_celery_workers_share_a_backfill_and_each_partition_lands_once(project, tmp_path, broker_name):
    broker, backend, port = BROKERS[broker_name]
    require_broker(broker_name, port)
    days = clean_days(MODEL, 4)
    queue = f"monitoring-test-{uuid.uuid4().hex[:10]}"  # stray workers elsewhere listen on other queues
    env = backfill_env(MONITORING_CELERY_BROKER=broker, MONITORING_CELERY_BACKEND=backend,
                       MONITORING_CELERY_QUEUE=queue)
    # The documented first step: the instance's tables exist before two workers open it at once.
    subprocess.run([BIN / "monitoring-jobs", "dagster-home"], env=env, check=True, capture_output=True)
    names = [f"w{i}-{queue}" for i in (1, 2)]
    workers = {}
    try:
        for name in names:
            log = tmp_path / f"{name}.log"
            workers[name] = (start_worker(name, queue, env, log), log)
        wait_until_ready(workers)
        run_backfill(MODEL, days, "celery", env)
    finally:
        for process, _log in workers.values():
            stop(process)
        delete_queue(broker, queue)

    with dg.DagsterInstance.get() as instance:
        run_ids = assert_each_day_once(instance, MODEL, days)
        # Each step's engine event names the worker that ran it (dagster-celery's task reports its hostname).
        ran_on = [e.dagster_event.engine_event_data.metadata["Celery worker"].value
                  for run_id in run_ids for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
                  if "Celery worker" in e.dagster_event.engine_event_data.metadata]
    assert len(ran_on) == len(days) * len(ASSETS)  # every step of every day went through a worker
    assert {worker.split("@")[0] for worker in ran_on} == set(names)
    for name in names:  # and the workers' own logs agree
        assert "Task execute_plan[" in workers[name][1].read_text()


@pytest.mark.parametrize(("setting", "expected"), [("celery", "celery"), ("in-process", "in_process"),
                                                   ("multiprocess", "multi_or_in_process_executor")])
def test_monitoring_executor_picks_every_jobs_executor_without_code(project, monkeypatch, setting, expected):
    monkeypatch.setenv("MONITORING_EXECUTOR", setting)
    monkeypatch.setenv("MONITORING_CELERY_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
    monkeypatch.setenv("MONITORING_CELERY_BACKEND", "rpc://")
    defs = build_definitions()
    assert {defs.resolve_job_def(f"{m}_daily").executor_def.name for m in ("credit_default", "house_price")} \
        == {expected}


def test_celery_without_a_broker_setting_or_with_an_unknown_executor_says_what_to_set(project, monkeypatch):
    monkeypatch.setenv("MONITORING_EXECUTOR", "celery")
    monkeypatch.delenv("MONITORING_CELERY_BROKER", raising=False)
    monkeypatch.setenv("MONITORING_CELERY_BACKEND", "rpc://")
    with pytest.raises(ConfigError, match="needs MONITORING_CELERY_BROKER: the broker URL"):
        build_definitions()
    monkeypatch.setenv("MONITORING_EXECUTOR", "dask")
    with pytest.raises(ConfigError, match="'dask' is not an executor; use one of in-process, multiprocess, celery"):
        build_definitions()


def test_a_broker_out_of_reach_stops_the_run_with_the_brokers_error(project):
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = backfill_env(MONITORING_CELERY_BROKER=f"amqp://guest:guest@127.0.0.1:{port}//",
                       MONITORING_CELERY_BACKEND="rpc://")
    result = run_backfill(MODEL, clean_days(MODEL, 1), "celery", env)
    [stopped] = [line for line in result.stdout.splitlines() if MODEL in line and "run:" in line]
    assert "celery task submission" in stopped and "Connection refused" in stopped
