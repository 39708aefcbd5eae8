"""The alert engine on SQLite and PostgreSQL: incidents, grouping, recovery, cooldown, routing and the outbox
(retries with backoff, exactly-once under concurrency) against real loopback webhook and SMTP servers."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import threading
import uuid

import pytest
import sqlalchemy as sa

from monitoring_jobs.alerts import AlertEngine, CheckEvaluation, EmailChannel, JsonLinesChannel, WebhookChannel
from monitoring_jobs.alerts.engine import STUCK_AFTER_ATTEMPTS, retry_delay
from monitoring_jobs.config import AlertRoute, Severity
from monitoring_jobs.metric_store import create_engine
from tests.test_alerts import HOSTILE, FakeWebhook, SmtpSink, free_port, plain_body

MODEL = "credit_default"
T0 = dt.datetime(2026, 10, 12, 6, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
LOG = AlertRoute(channel="log")
WEBHOOK = AlertRoute(channel="webhook")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """The metric store's kind of engine: a SQLite file, or a throwaway schema on the test PostgreSQL."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'metrics.db'}")
        yield engine, None
        engine.dispose()
        return
    engine = request.getfixturevalue("postgres_engine")
    schema = f"test_alerts_{uuid.uuid4().hex[:12]}"
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield engine, schema
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def make_engine(database):
    """An AlertEngine on the test database; every engine made in one test shares its tables."""
    engine, schema = database

    def make(routes=(LOG,), cooldown_days: int = 2, models=(MODEL,)) -> AlertEngine:
        alerts = AlertEngine(engine, {model: list(routes) for model in models},
                             {model: cooldown_days for model in models}, schema=schema)
        alerts.ensure_schema()
        return alerts

    return make


@pytest.fixture
def evaluation():
    """Builds evaluations with growing record ids, as the Dagster event log hands them out."""
    record_ids = itertools.count(1000)

    def build(check: str, day: str, passed: bool = False, severity: str = "ERROR", *, model: str = MODEL,
              description: str | None = None, run_id: str = "run-1") -> CheckEvaluation:
        return CheckEvaluation(
            model=model, check=check, partition_date=day, passed=passed, severity=severity,
            description=description if description is not None else ("" if passed else f"{check} failed"),
            report_path=f"reports/{model}/{day}/index.html", run_id=run_id, record_id=next(record_ids),
            evaluated_at=T0)

    return build


@pytest.fixture
def webhook():
    server = FakeWebhook()
    yield server
    server.close()


def checks_of(entry) -> list[str]:
    return [line.check for line in entry.message.checks]


def log_records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="ascii").splitlines()]


# --- incidents and messages -----------------------------------------------------------------------

def test_failed_checks_of_a_model_day_group_into_one_message_then_a_follow_up(make_engine, evaluation, tmp_path):
    alerts = make_engine()
    log = JsonLinesChannel(tmp_path / "alerts.jsonl")
    first = [evaluation("nulls", "2026-10-11"), evaluation("schema", "2026-10-11"),
             evaluation("volume", "2026-10-11", severity="WARN"), evaluation("ranges", "2026-10-11", passed=True)]

    report = alerts.ingest(first, T0)
    assert sorted(report.opened) == [(MODEL, c, "2026-10-11") for c in ("nulls", "schema", "volume")]
    [entry] = report.enqueued
    assert checks_of(entry) == ["nulls", "schema", "volume"] and entry.message.severity == "ERROR"
    assert len(alerts.deliver_due({"log": log}, T0).sent) == 1

    later = alerts.ingest([evaluation("ranges", "2026-10-11", run_id="run-2"),
                           evaluation("nulls", "2026-10-11", run_id="run-2")], T0 + MINUTE)
    assert later.opened == [(MODEL, "ranges", "2026-10-11")] and later.still_failing == 1
    [follow_up] = later.enqueued
    assert checks_of(follow_up) == ["ranges"]
    assert follow_up.message.reported_before == ("nulls", "schema", "volume")
    assert follow_up.message.run_ids == ("run-2",)
    alerts.deliver_due({"log": log}, T0 + MINUTE)

    records = log_records(tmp_path / "alerts.jsonl")
    assert [[c["check"] for c in r["checks"]] for r in records] == [["nulls", "schema", "volume"], ["ranges"]]
    assert [(row["model"], row["partition_date"], row["kind"]) for row in alerts.sent()] == [
        (MODEL, "2026-10-11", "FAILED")] * 2


def test_the_same_evaluations_ingested_again_change_nothing(make_engine, evaluation):
    alerts = make_engine(routes=(LOG, WEBHOOK))
    batch = [evaluation("nulls", "2026-10-11"), evaluation("nulls", "2026-10-12"),
             evaluation("nulls", "2026-10-12", passed=True), evaluation("schema", "2026-10-12", passed=True)]

    first = alerts.ingest(batch, T0)
    assert len(first.enqueued) == 6  # FAILED 11, FAILED 12, RECOVERED 12 (closing both days), for two routes
    state = (alerts.pending(), alerts.incidents())

    again = alerts.ingest(batch + batch[:1], T0 + MINUTE)  # the sensor lost its cursor, and a duplicate
    assert again.already_ingested == len(batch) + 1
    assert (again.opened, again.recovered, again.enqueued) == ([], [], [])
    assert (alerts.pending(), alerts.incidents()) == state


def test_a_passing_evaluation_sends_one_recovery_to_the_routes_of_the_failure(make_engine, evaluation, webhook,
                                                                               tmp_path):
    alerts = make_engine(routes=(LOG, AlertRoute(channel="webhook", min_severity=Severity.ERROR)))
    channels = {"log": JsonLinesChannel(tmp_path / "alerts.jsonl"), "webhook": WebhookChannel(webhook.url)}
    alerts.ingest([evaluation("nulls", "2026-10-11"), evaluation("ranges", "2026-10-11", severity="WARN")], T0)
    passed = evaluation("nulls", "2026-10-11", passed=True, run_id="run-2")

    report = alerts.ingest([passed], T0 + MINUTE)
    assert report.recovered == [(MODEL, "nulls", "2026-10-11")]
    assert sorted((e.channel, e.message.kind, tuple(checks_of(e))) for e in report.enqueued) == [
        ("log", "RECOVERED", ("nulls",)), ("webhook", "RECOVERED", ("nulls",))]
    assert alerts.ingest([passed], T0 + 2 * MINUTE).enqueued == []  # the same pass again
    rerun = alerts.ingest([evaluation("nulls", "2026-10-11", passed=True, run_id="run-3")], T0 + 3 * MINUTE)
    assert rerun.enqueued == [] and rerun.recovered == []  # a newer pass: nothing left to close

    ranges_recovered = alerts.ingest([evaluation("ranges", "2026-10-11", passed=True)], T0 + 4 * MINUTE)
    assert [e.channel for e in ranges_recovered.enqueued] == ["log"]  # the webhook never heard of it
    alerts.deliver_due(channels, T0 + 5 * MINUTE)

    assert [(r["kind"], [c["check"] for c in r["checks"]]) for r in log_records(tmp_path / "alerts.jsonl")] == [
        ("FAILED", ["nulls", "ranges"]), ("RECOVERED", ["nulls"]), ("RECOVERED", ["ranges"])]
    assert [text.splitlines()[0] for text in webhook.posted_texts] == [
        "FAILED credit_default 2026-10-11: nulls (ERROR)", "RECOVERED credit_default 2026-10-11: nulls"]


def test_a_later_day_passing_closes_every_earlier_failed_day(make_engine, evaluation):
    alerts = make_engine()
    alerts.ingest([evaluation("nulls", "2026-10-10"), evaluation("nulls", "2026-10-11"),
                   evaluation("nulls", "2026-10-13")], T0)

    earlier = alerts.ingest([evaluation("nulls", "2026-10-09", passed=True)], T0)
    assert earlier.recovered == [] and earlier.enqueued == []  # an older day passing proves nothing newer

    report = alerts.ingest([evaluation("nulls", "2026-10-12", passed=True, run_id="run-12")], T0)
    assert report.recovered == [(MODEL, "nulls", "2026-10-10"), (MODEL, "nulls", "2026-10-11")]
    [entry] = report.enqueued
    message = entry.message
    assert (message.kind, message.partition_date, message.run_ids) == ("RECOVERED", "2026-10-12", ("run-12",))
    assert [(line.check, line.failed_days) for line in message.checks] == [("nulls", ("2026-10-10", "2026-10-11"))]
    assert [i["status"] for i in alerts.incidents()] == ["recovered", "recovered", "open"]


def test_cooldown_suppresses_a_failure_near_an_announced_recovery_until_it_expires(make_engine, evaluation):
    alerts = make_engine(cooldown_days=2)
    steps = [evaluation("nulls", "2026-10-10"),                 # opens and pages
             evaluation("nulls", "2026-10-11", passed=True),    # announced recovery on the 11th
             evaluation("nulls", "2026-10-12"),                 # 1 day from it: suppressed
             evaluation("ranges", "2026-10-12"),                # another check: not affected
             evaluation("nulls", "2026-10-13", passed=True),    # closes the suppressed one silently
             evaluation("nulls", "2026-10-13")]                 # 2 days from the 11th: pages again
    reports = [alerts.ingest([step], T0) for step in steps]

    assert [len(r.opened) for r in reports] == [1, 0, 0, 1, 0, 1]
    assert [len(r.enqueued) for r in reports] == [1, 1, 0, 1, 0, 1]
    [(suppressed, reason)] = reports[2].suppressed
    assert suppressed == (MODEL, "nulls", "2026-10-12")
    assert "recovered on 2026-10-11" in reason and "2-day cooldown" in reason
    assert reports[4].recovered == [(MODEL, "nulls", "2026-10-12")]
    incident = next(i for i in alerts.incidents() if i["partition_date"] == "2026-10-12" and i["check_name"] == "nulls")
    assert incident["suppressed_reason"] == reason and incident["notified_routes"] == []


def test_cooldown_zero_pages_every_failure(make_engine, evaluation):
    alerts = make_engine(cooldown_days=0)
    reports = [alerts.ingest([evaluation("nulls", "2026-10-11", passed=passed)], T0)
               for passed in (False, True, False)]
    assert [[e.message.kind for e in r.enqueued] for r in reports] == [["FAILED"], ["RECOVERED"], ["FAILED"]]
    assert [i["generation"] for i in alerts.incidents()] == [0, 1]


def test_routes_follow_min_severity(make_engine, evaluation, webhook, tmp_path):
    alerts = make_engine(routes=(LOG, AlertRoute(channel="webhook", min_severity=Severity.ERROR)))
    report = alerts.ingest([evaluation("ranges", "2026-10-11", severity="WARN"),
                            evaluation("nulls", "2026-10-11", severity="ERROR"),
                            evaluation("volume", "2026-10-12", severity="WARN")], T0)

    assert sorted((e.channel, e.message.partition_date, tuple(checks_of(e))) for e in report.enqueued) == [
        ("log", "2026-10-11", ("ranges", "nulls")), ("log", "2026-10-12", ("volume",)),
        ("webhook", "2026-10-11", ("nulls",))]
    alerts.deliver_due({"log": JsonLinesChannel(tmp_path / "a.jsonl"), "webhook": WebhookChannel(webhook.url)}, T0)
    [text] = webhook.posted_texts
    assert "nulls" in text and "ranges" not in text


def test_a_model_without_routes_is_tracked_and_reported(make_engine, evaluation):
    alerts = make_engine()
    report = alerts.ingest([evaluation("nulls", "2026-10-11", model="house_price")], T0)
    assert report.models_without_routes == ["house_price"] and report.enqueued == []
    assert [i["model"] for i in alerts.incidents()] == ["house_price"]
    assert "no alert routes for house_price" in report.summary()


# --- delivery -------------------------------------------------------------------------------------

def test_webhook_answering_500_twice_gets_each_message_exactly_once(make_engine, evaluation, webhook):
    alerts = make_engine(routes=(WEBHOOK,))
    alerts.ingest([evaluation("nulls", "2026-10-11"), evaluation("volume", "2026-10-12")], T0)
    channels = {"webhook": WebhookChannel(webhook.url, timeout_s=2)}
    webhook.script = [(500, 0.0), (500, 0.0)]

    first = alerts.deliver_due(channels, T0)
    assert [(e.message.partition_date, when) for e, _, when in first.failed] == [("2026-10-11", T0 + MINUTE)]
    assert "HTTP 500" in first.failed[0][1] and first.waiting == 1  # the 12th waits behind the 11th

    early = alerts.deliver_due(channels, T0 + MINUTE - dt.timedelta(seconds=1))
    assert (early.sent, early.failed, early.waiting) == ([], [], 2) and len(webhook.requests) == 1

    second = alerts.deliver_due(channels, T0 + MINUTE)
    assert [when for _, _, when in second.failed] == [T0 + 3 * MINUTE]  # 1 min, then 2 min

    assert alerts.deliver_due(channels, T0 + 3 * MINUTE - dt.timedelta(seconds=1)).sent == []
    third = alerts.deliver_due(channels, T0 + 3 * MINUTE)
    assert [e.message.partition_date for e in third.sent] == ["2026-10-11", "2026-10-12"]
    assert alerts.deliver_due(channels, T0 + dt.timedelta(hours=5)).sent == []

    assert webhook.answers == [500, 500, 200, 200]
    assert [text.splitlines()[0] for text in webhook.accepted_texts] == [
        "FAILED credit_default 2026-10-11: nulls (ERROR)", "FAILED credit_default 2026-10-12: volume (ERROR)"]
    assert [(r["partition_date"], r["attempts"], r["sent_at"]) for r in alerts.sent()] == [
        ("2026-10-11", 3, T0 + 3 * MINUTE), ("2026-10-12", 1, T0 + 3 * MINUTE)]
    assert alerts.pending() == []


def test_an_undeliverable_message_backs_off_to_hourly_is_reported_and_never_dropped(make_engine, evaluation,
                                                                                   webhook):
    assert [retry_delay(n) // MINUTE for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    alerts = make_engine(routes=(WEBHOOK,))
    alerts.ingest([evaluation("nulls", "2026-10-11")], T0)
    dead = {"webhook": WebhookChannel(f"http://127.0.0.1:{free_port()}/hook", timeout_s=1)}

    now = T0
    for _ in range(STUCK_AFTER_ATTEMPTS):
        report = alerts.deliver_due(dead, now)
        [(_, error, now)] = report.failed
        assert "127.0.0.1" in error
    assert now == T0 + sum((retry_delay(n) for n in range(1, STUCK_AFTER_ATTEMPTS + 1)), dt.timedelta())
    report = alerts.deliver_due(dead, now - dt.timedelta(seconds=1))
    [stuck] = report.stuck
    assert stuck.attempts == STUCK_AFTER_ATTEMPTS and "1 stuck" in report.summary()
    assert any("still undelivered after 8 attempts" in line and "127.0.0.1" in line for line in report.problems())
    [pending] = alerts.pending()
    assert pending["attempts"] == STUCK_AFTER_ATTEMPTS and pending["next_attempt_at"] == now

    fixed = alerts.deliver_due({"webhook": WebhookChannel(webhook.url)}, now)  # the URL was corrected
    assert len(fixed.sent) == 1 and alerts.pending() == [] and len(webhook.posted_texts) == 1


def test_a_dead_channel_costs_one_attempt_per_tick_while_the_others_deliver(make_engine, evaluation, tmp_path):
    alerts = make_engine(routes=(LOG, WEBHOOK), models=("model_a", "model_b"))
    alerts.ingest([evaluation("nulls", "2026-10-11", model=model) for model in ("model_a", "model_b")], T0)
    channels = {"log": JsonLinesChannel(tmp_path / "alerts.jsonl"),
                "webhook": WebhookChannel(f"http://127.0.0.1:{free_port()}/hook", timeout_s=1)}

    report = alerts.deliver_due(channels, T0)
    assert sorted((e.channel, e.message.model) for e in report.sent) == [("log", "model_a"), ("log", "model_b")]
    assert [e.message.model for e, _, _ in report.failed] == ["model_a"]
    assert report.problems()[0].startswith("#") and "FAILED model_a 2026-10-11: nulls (ERROR) via webhook not " \
        "delivered (attempt 1), next attempt at 2026-10-12 06:01:00 UTC: webhook channel" in report.problems()[0]
    [(deferred, reason)] = report.deferred
    assert deferred.message.model == "model_b" and "channel unavailable in this call" in reason
    assert [(r["model"], r["attempts"]) for r in alerts.pending()] == [("model_a", 1), ("model_b", 0)]


def test_a_message_for_an_unconfigured_channel_waits_until_it_is_configured(make_engine, evaluation, webhook,
                                                                           tmp_path):
    alerts = make_engine(routes=(LOG, WEBHOOK))
    alerts.ingest([evaluation("nulls", "2026-10-11")], T0)
    only_log = {"log": JsonLinesChannel(tmp_path / "alerts.jsonl")}

    first = alerts.deliver_due(only_log, T0)
    assert [e.channel for e in first.sent] == ["log"] and first.unrouted == {"webhook": 1}
    assert "1 for unconfigured channel(s) webhook" in first.summary()
    assert ["channel 'webhook', which is not configured" in line for line in first.problems()] == [True]
    second = alerts.deliver_due(only_log, T0 + dt.timedelta(days=1))
    assert second.sent == [] and second.unrouted == {"webhook": 1}  # reported on every tick
    assert [(r["channel"], r["attempts"]) for r in alerts.pending()] == [("webhook", 0)]

    configured = alerts.deliver_due({**only_log, "webhook": WebhookChannel(webhook.url)}, T0 + dt.timedelta(days=2))
    assert [e.channel for e in configured.sent] == ["webhook"] and configured.unrouted == {}
    assert len(webhook.posted_texts) == 1 and alerts.pending() == []


def test_a_recovery_never_overtakes_its_undelivered_failure(make_engine, evaluation, webhook):
    alerts = make_engine(routes=(WEBHOOK,))
    channels = {"webhook": WebhookChannel(webhook.url)}
    alerts.ingest([evaluation("nulls", "2026-10-11")], T0)
    webhook.script = [(500, 0.0)]
    alerts.deliver_due(channels, T0)
    alerts.ingest([evaluation("nulls", "2026-10-12", passed=True)], T0)

    waiting = alerts.deliver_due(channels, T0 + dt.timedelta(seconds=30))
    assert waiting.sent == [] and waiting.waiting == 2
    retried = alerts.deliver_due(channels, T0 + MINUTE)
    assert [e.message.kind for e in retried.sent] == ["FAILED", "RECOVERED"]
    assert [text.split()[0] for text in webhook.accepted_texts] == ["FAILED", "RECOVERED"]


def test_hostile_values_are_escaped_for_the_webhook_and_raw_in_the_log(make_engine, evaluation, webhook, tmp_path):
    alerts = make_engine(routes=(LOG, WEBHOOK))
    description = f"region: unexpected categories '<script>alert(1)</script>', '{HOSTILE}'"
    alerts.ingest([evaluation("categories", "2026-10-11", description=description)], T0)
    alerts.deliver_due({"log": JsonLinesChannel(tmp_path / "alerts.jsonl"), "webhook": WebhookChannel(webhook.url)},
                       T0)

    [text] = webhook.posted_texts
    assert "<" not in text and ">" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "unexpected categories '<script>alert(1)</script>'" in html.unescape(text)
    [record] = log_records(tmp_path / "alerts.jsonl")
    assert record["checks"][0]["description"] == description  # raw: the JSON escaping is all there is


def test_racing_deliverers_send_each_message_once(make_engine, evaluation):
    models, days = [f"model_{i}" for i in range(4)], ("2026-10-11", "2026-10-12")
    alerts = make_engine(routes=(WEBHOOK,), models=models)
    alerts.ingest([evaluation("nulls", day, model=model) for day in days for model in models], T0)
    slow = FakeWebhook(default_delay_s=0.15)  # long enough for the two callers to overlap
    try:
        channels = {"webhook": WebhookChannel(slow.url, timeout_s=5)}
        start = threading.Barrier(2)
        reports = [None, None]

        def deliver(index: int) -> None:
            start.wait()
            reports[index] = alerts.deliver_due(channels, T0)

        threads = [threading.Thread(target=deliver, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        titles = [text.splitlines()[0] for text in slow.posted_texts]
    finally:
        slow.close()

    expected = sorted(f"FAILED {model} {day}: nulls (ERROR)" for model in models for day in days)
    assert sorted(titles) == expected  # every message once, none twice
    assert all(len(report.sent) > 0 for report in reports)  # both callers really delivered
    assert sum(len(report.sent) for report in reports) == len(expected)
    for model in models:  # and each model's days in order
        assert [t for t in titles if f" {model} " in t] == sorted(t for t in titles if f" {model} " in t)
    assert len(alerts.sent()) == len(expected) and alerts.pending() == []


def test_concurrent_ingests_queue_each_message_once(make_engine, evaluation):
    alerts = make_engine(routes=(LOG, WEBHOOK))
    batch = [evaluation(check, day) for check in ("nulls", "schema") for day in ("2026-10-11", "2026-10-12")]
    start = threading.Barrier(3)
    reports = []

    def ingest() -> None:
        start.wait()
        reports.append(alerts.ingest(batch, T0))

    threads = [threading.Thread(target=ingest) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(len(r.enqueued) for r in reports) == [0, 0, 4]
    assert len(alerts.pending()) == 4 and len(alerts.incidents()) == 4


def test_a_crashed_deliverers_claim_expires_and_the_message_goes_out_once(make_engine, evaluation, tmp_path):
    alerts = make_engine()
    alerts.ingest([evaluation("nulls", "2026-10-11")], T0)

    class Crashing:
        name = "log"

        def send(self, message, recipients):
            raise SystemExit("the sensor process died mid-send")

    with pytest.raises(SystemExit):
        alerts.deliver_due({"log": Crashing()}, T0)
    log = {"log": JsonLinesChannel(tmp_path / "alerts.jsonl")}
    assert alerts.deliver_due(log, T0 + 14 * MINUTE).sent == []  # still claimed by the dead caller
    assert len(alerts.deliver_due(log, T0 + 15 * MINUTE).sent) == 1
    assert alerts.deliver_due(log, T0 + 30 * MINUTE).sent == []
    assert len(log_records(tmp_path / "alerts.jsonl")) == 1


def test_a_channel_bug_is_a_failed_attempt_not_a_crash(make_engine, evaluation, tmp_path):
    alerts = make_engine()
    alerts.ingest([evaluation("nulls", "2026-10-11")], T0)

    class Broken:
        name = "log"

        def send(self, message, recipients):
            raise KeyError("oops")

    report = alerts.deliver_due({"log": Broken()}, T0)
    [(_, error, retry_at)] = report.failed
    assert "KeyError" in error and "a bug in the channel" in error and retry_at == T0 + MINUTE
    assert len(alerts.deliver_due({"log": JsonLinesChannel(tmp_path / "a.jsonl")}, retry_at).sent) == 1


def test_email_route_end_to_end_with_a_retried_recovery(make_engine, evaluation):
    alerts = make_engine(routes=(AlertRoute(channel="email", to=["oncall@example.com", "ml@example.com"]),))
    server = SmtpSink()
    try:
        channels = {"email": EmailChannel("127.0.0.1", server.port, "alerts@example.org", timeout_s=5)}
        alerts.ingest([evaluation("nulls", "2026-10-11", description="income is 12% null (max 5%)")], T0)
        assert len(alerts.deliver_due(channels, T0).sent) == 1

        alerts.ingest([evaluation("nulls", "2026-10-11", passed=True, run_id="run-2")], T0 + MINUTE)
        server.fail_data = 1
        assert len(alerts.deliver_due(channels, T0 + MINUTE).failed) == 1
        assert len(alerts.deliver_due(channels, T0 + 2 * MINUTE).sent) == 1
        received = list(server.received)
    finally:
        server.close()

    assert [(sender, recipients) for sender, recipients, _ in received] == [
        ("alerts@example.org", ["ml@example.com", "oncall@example.com"])] * 2
    failed, recovered = (mail for _, _, mail in received)
    assert failed["Subject"] == "[monitoring] FAILED credit_default 2026-10-11: nulls (ERROR)"
    assert plain_body(failed) == ("1 check of credit_default failed for 2026-10-11.\n\n"
                                  "- nulls (ERROR): income is 12% null (max 5%)\n\n"
                                  "Report: reports/credit_default/2026-10-11/index.html\nRun: run-1\n")
    assert recovered["Subject"] == "[monitoring] RECOVERED credit_default 2026-10-11: nulls"
    assert plain_body(recovered) == ("1 check of credit_default pass again on 2026-10-11.\n\n"
                                     "- nulls (ERROR), failed on 2026-10-11\n\n"
                                     "Report: reports/credit_default/2026-10-11/index.html\nRun: run-2\n")
    assert [(r["kind"], r["recipients"]) for r in alerts.sent()] == [
        ("FAILED", ["ml@example.com", "oncall@example.com"]), ("RECOVERED", ["ml@example.com", "oncall@example.com"])]


# --- schema and inputs ----------------------------------------------------------------------------

def test_ensure_schema_is_repeatable_and_refuses_a_table_without_its_unique_key(make_engine, database, evaluation):
    alerts = make_engine()
    alerts.ensure_schema()
    alerts.ingest([evaluation("nulls", "2026-10-11")], T0)
    assert len(alerts.pending()) == 1  # a second ensure_schema kept the data

    outbox = alerts.tables.outbox
    foreign = sa.MetaData(schema=outbox.schema)
    sa.Table(outbox.name, foreign, *(sa.Column(c.name, c.type) for c in outbox.columns))
    with alerts.engine.begin() as connection:
        outbox.drop(connection)
        foreign.create_all(connection)
    with pytest.raises(RuntimeError, match="no unique key on message_key"):
        alerts.ensure_schema()


def test_ingest_before_ensure_schema_says_what_to_do(database, evaluation):
    engine, schema = database
    alerts = AlertEngine(engine, {MODEL: [LOG]}, {MODEL: 2}, schema=schema)
    alerts.tables.metadata.create_all(engine)  # tables made by hand, without the lock row
    with pytest.raises(RuntimeError, match="ensure_schema"):
        alerts.ingest([evaluation("nulls", "2026-10-11")], T0)


def test_ingest_and_deliver_refuse_naive_times_and_bad_evaluations(make_engine, evaluation):
    alerts = make_engine()
    with pytest.raises(ValueError, match="timezone-aware"):
        alerts.ingest([], dt.datetime(2026, 10, 12))
    with pytest.raises(ValueError, match="timezone-aware"):
        alerts.deliver_due({}, dt.datetime(2026, 10, 12))
    with pytest.raises(TypeError, match="CheckEvaluation"):
        alerts.ingest([{"model": MODEL}], T0)
    good = {"model": MODEL, "check": "nulls", "partition_date": "2026-10-11", "passed": False, "severity": "ERROR",
            "description": "", "report_path": None, "run_id": "r", "record_id": 1, "evaluated_at": T0}
    assert CheckEvaluation(**{**good, "severity": Severity.WARN}).severity == "WARN"
    for bad in ({"severity": "CRITICAL"}, {"partition_date": "2026-13-01"}, {"partition_date": "unpartitioned"},
                {"model": " "}, {"check": "x\x00y"}, {"check": "c" * 256}, {"passed": "no"}, {"record_id": -1},
                {"record_id": True}, {"evaluated_at": dt.datetime(2026, 10, 12)}, {"description": None}):
        with pytest.raises(ValueError, match="CheckEvaluation\\."):
            CheckEvaluation(**{**good, **bad})


def test_nul_and_hostile_text_survive_storage(make_engine, evaluation, tmp_path):
    alerts = make_engine()
    alerts.ingest([evaluation("nulls", "2026-10-11", description=HOSTILE + "\x00end")], T0)
    alerts.deliver_due({"log": JsonLinesChannel(tmp_path / "alerts.jsonl")}, T0)
    # PostgreSQL text cannot hold NUL: it becomes U+FFFD in storage and so in every message; the rest stays raw
    assert alerts.incidents()[0]["description"] == HOSTILE + "\ufffdend"
    [record] = log_records(tmp_path / "alerts.jsonl")
    assert record["checks"][0]["description"] == HOSTILE + "\ufffdend"
