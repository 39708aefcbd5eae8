"""The Dagster layer on the demo data: incident days are caught, clean days are not, blocked days stop
downstream assets, re-runs are idempotent and the alert sensor notifies once per incident."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from monitoring_jobs.config import load_monitors
from monitoring_jobs.defs.monitors import build_definitions
from monitoring_jobs.defs.runner import evaluate_alert_sensor
from monitoring_jobs.demo_data import DEMO_START, INCIDENTS
from monitoring_jobs.metric_store import MetricStore
from monitoring_jobs.settings import load_settings


def incident(model: str, kind: str):
    return next(i for i in INCIDENTS if i.model == model and i.kind == kind)


def run_day(defs, instance, model: str, day: dt.date):
    job = defs.resolve_job_def(f"{model}_daily")
    return job.execute_in_process(partition_key=day.isoformat(), instance=instance, raise_on_error=False)


def check_evaluations(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.event_specific_data.asset_check_key.name: e.event_specific_data
            for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def materialized(result) -> set[str]:
    return {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}


@pytest.fixture()
def defs(project):
    return build_definitions()


def test_drift_day_flags_exactly_the_drifted_features(defs, instance):
    drift = incident("credit_default", "drift")
    day = drift.first_day + dt.timedelta(days=5)
    result = run_day(defs, instance, "credit_default", day)
    checks = check_evaluations(result)
    assert not checks["feature_drift"].passed
    flagged = checks["feature_drift"].metadata["drifted_features"].value
    assert sorted(flagged) == sorted(drift.columns)
    assert not checks["prediction_drift"].passed  # the score follows the drifted inputs
    store = MetricStore(load_settings().db_url)
    rows = store.read("drift", "credit_default", day, day)
    detected = rows[(rows["metric"] == "drift_detected") & (rows["value"] == 1)]
    assert sorted(detected["feature"]) == sorted(drift.columns)
    prediction = rows[rows["metric"] == "prediction_drift"]
    assert prediction[["feature", "value"]].values.tolist() == [["score", 1.0]]


@pytest.mark.parametrize("model", ["credit_default", "house_price", "llm_assistant"])
def test_clean_day_flags_nothing(defs, instance, model):
    day = DEMO_START + dt.timedelta(days=3)
    assert not any(i.first_day <= day <= i.last_day for i in INCIDENTS if i.model == model)
    job = defs.resolve_job_def(f"{model}_daily")
    for earlier in range(3):  # a rolling reference is made of the profiles of the days ingested before
        ingest = job.execute_in_process(partition_key=(DEMO_START + dt.timedelta(days=earlier)).isoformat(),
                                        instance=instance, asset_selection=[dg.AssetKey([model, "inference_logs"])])
        assert ingest.success
    result = run_day(defs, instance, model, day)
    assert result.success
    failed = {name: e.description for name, e in check_evaluations(result).items() if not e.passed}
    assert failed == {}
    assert materialized(result) == {"inference_logs", "drift_metrics", "performance_metrics",
                                    "operational_metrics", "monitoring_report"}
    judged = MetricStore(load_settings().db_url).read("drift", model, day, day)
    share = judged[judged["metric"] == "drifted_feature_share"]["value"]
    assert len(share) == 1 and share.iloc[0] == 0.0  # drift was judged, and nothing drifted


def test_null_spike_fails_validation_and_blocks_drift(defs, instance, project):
    spike = incident("credit_default", "null_spike")
    result = run_day(defs, instance, "credit_default", spike.first_day)
    checks = check_evaluations(result)
    assert not checks["nulls"].passed and checks["nulls"].severity == dg.AssetCheckSeverity.ERROR
    assert spike.columns[0] in checks["nulls"].description
    assert not result.success
    assert materialized(result) == {"inference_logs"}
    skipped = {e.step_key for e in result.all_events if e.event_type_value in ("STEP_SKIPPED", "STEP_FAILURE")}
    assert any("drift_metrics" in step for step in skipped) or "drift_metrics" not in materialized(result)
    store = MetricStore(load_settings().db_url)
    assert store.count_rows("credit_default", spike.first_day)["drift"] == 0
    report = project / "reports" / "credit_default" / spike.first_day.isoformat() / "index.html"
    assert "not computed" in report.read_text(encoding="utf-8")


def test_latency_spike_fails_operational_check(defs, instance):
    spike = incident("house_price", "latency_error_spike")
    checks = check_evaluations(run_day(defs, instance, "house_price", spike.first_day))
    assert not checks["operational_thresholds"].passed
    assert "error_rate" in checks["operational_thresholds"].description


def test_rerunning_a_day_leaves_the_same_rows(defs, instance):
    day = DEMO_START + dt.timedelta(days=9)
    store = MetricStore(load_settings().db_url)
    assert run_day(defs, instance, "credit_default", day).success
    first = store.count_rows("credit_default", day)
    assert all(first[area] > 0 for area in ("validation", "drift", "performance", "operations"))
    assert run_day(defs, instance, "credit_default", day).success
    assert store.count_rows("credit_default", day) == first
    assert len(store.day_statuses("credit_default")) == 1


class _Webhook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture()
def webhook(monkeypatch):
    _Webhook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("MONITORING_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/hooks/secret")
    yield _Webhook.received
    server.shutdown()
    server.server_close()


def test_alert_sensor_sends_each_alert_once_then_a_recovery(project, instance, webhook):
    defs = build_definitions()  # after the webhook URL is in the environment
    spike = incident("credit_default", "null_spike")
    run_day(defs, instance, "credit_default", spike.first_day)

    message, cursor = evaluate_alert_sensor(defs, instance)
    assert "1 sent" in message or "sent" in message, message
    # The webhook route takes ERROR only: one message for the model-day, naming the blocking check.
    texts = [item["text"] for item in webhook]
    assert len(texts) == 1 and "nulls" in texts[0] and spike.first_day.isoformat() in texts[0]
    assert "FAILED" in texts[0] or "failed" in texts[0].lower()

    evaluate_alert_sensor(defs, instance, cursor)  # same failures, cursor advanced
    evaluate_alert_sensor(defs, instance)  # same failures, cursor lost: the engine still knows them
    assert len(webhook) == 1

    log = [json.loads(line) for line in load_settings().alert_log.read_text(encoding="utf-8").splitlines()]
    keys = [entry["message_key"] for entry in log]
    assert len(keys) == len(set(keys)) == 1

    # The next day's data is clean: its passing nulls check recovers the incident, once.
    run_day(defs, instance, "credit_default", spike.first_day + dt.timedelta(days=1))
    evaluate_alert_sensor(defs, instance, cursor)
    evaluate_alert_sensor(defs, instance)
    assert len(webhook) == 2
    assert "RECOVERED" in webhook[1]["text"].upper() and "nulls" in webhook[1]["text"]


def test_definitions_cover_every_monitor(defs, project):
    monitors = load_monitors(load_settings().monitors_dir)
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    for monitor in monitors:
        for asset in ("inference_logs", "drift_metrics", "performance_metrics", "operational_metrics",
                      "monitoring_report"):
            assert f"{monitor.name}/{asset}" in keys
        assert defs.resolve_job_def(f"{monitor.name}_daily") is not None
        assert defs.resolve_schedule_def(f"{monitor.name}_daily_schedule") is not None
    assert defs.resolve_sensor_def("monitoring_alerts") is not None


def test_materializations_carry_schema_row_count_and_drift_table(defs, instance):
    day = DEMO_START + dt.timedelta(days=4)
    result = run_day(defs, instance, "credit_default", day)
    by_asset = {e.asset_key.path[-1]: e.materialization.metadata for e in result.get_asset_materialization_events()}
    ingest = by_asset["inference_logs"]
    columns = {column.name for column in ingest["dagster/column_schema"].schema.columns}
    assert {"request_id", "income", "score"} <= columns
    snapshot = pd.read_parquet(load_settings().snapshot_dir / "credit_default" / f"{day.isoformat()}.parquet")
    assert ingest["dagster/row_count"].value == len(snapshot)
    table = by_asset["drift_metrics"]["features"].value
    assert table.count("\n") == 1 + 7 + 2  # header, separator, 7 features, the score and the reference's label
    report = by_asset["monitoring_report"]
    assert Path(report["report"].value).exists() and Path(report["model_page"].value).exists()
    assert Path(report["key_chart"].value).name == "drift_scores.png"
    assert report["key_chart_preview"].value.startswith("![key chart](data:image/png;base64,iVBOR")


def test_a_downstream_asset_alone_refuses_a_day_that_failed_validation(defs, instance):
    spike = incident("credit_default", "null_spike")
    run_day(defs, instance, "credit_default", spike.first_day)
    job = defs.resolve_job_def("credit_default_daily")
    result = job.execute_in_process(partition_key=spike.first_day.isoformat(), instance=instance,
                                    raise_on_error=False,
                                    asset_selection=[dg.AssetKey(["credit_default", "drift_metrics"])])
    assert not result.success
    failures = [e.event_specific_data for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert len(failures) == 1
    assert "failed ERROR check(s) nulls at ingest" in failures[0].user_failure_data.description
    store = MetricStore(load_settings().db_url)
    assert store.count_rows("credit_default", spike.first_day)["drift"] == 0
