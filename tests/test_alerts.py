"""Alert delivery against a real loopback HTTP server, a real file and real databases (SQLite, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import html
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from monitoring_jobs.alerts import (
    Alert,
    AlertLedger,
    DeliveryError,
    JsonLinesChannel,
    WebhookChannel,
    deliver,
)
from monitoring_jobs.config import AlertRoute, Severity

SECRET = "T0001/B0001/s3cr3tT0k3n"
HOSTILE = 'He said "hi" <script>alert(1)</script> & left\nline two\r\n\ttab \\ back é 日本 \u2028 😀'


def make_alert(check: str = "nulls", severity: str = "ERROR", *, model: str = "credit_default",
               day: str = "2026-10-03", description: str = "income is 12% null (max 5%)",
               report_path: str | None = "reports/credit_default/2026-10-03/index.html") -> Alert:
    return Alert(model=model, check=check, partition_date=day, severity=severity,
                 description=description, report_path=report_path, run_id="run-1")


# --- loopback webhook ---------------------------------------------------------------------------

class FakeWebhook:
    """Records every request; answers each POST with the next scripted (status, delay_s), then 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []  # (method, path, body)
        self.script: list[tuple[int, float]] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with fake._lock:
                    fake.requests.append(("POST", self.path, body))
                    status, delay_s = fake.script.pop(0) if fake.script else (200, 0.0)
                if delay_s:
                    fake.release.wait(delay_s)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/redirected")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"internal_error")

            def do_GET(self) -> None:  # noqa: N802
                with fake._lock:
                    fake.requests.append(("GET", self.path, b""))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        class QuietServer(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                pass  # the client hung up on a slow answer: expected in the timeout test

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/{SECRET}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def posted_texts(self) -> list[str]:
        return [json.loads(body)["text"] for method, _, body in self.requests if method == "POST"]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    server = FakeWebhook()
    yield server
    server.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- ledgers --------------------------------------------------------------------------------------

@pytest.fixture
def sqlite_ledger(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger = AlertLedger(engine)
    ledger.ensure_schema()
    yield ledger
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request):
    """The same tests on SQLite and, when a driver and server are there, in a throwaway PostgreSQL schema."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_ledger")
        return
    engine = request.getfixturevalue("postgres_engine")
    schema = f"test_alerts_{uuid.uuid4().hex[:12]}"
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        ledger = AlertLedger(engine, schema=schema)
        ledger.ensure_schema()
        yield ledger
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


ROUTES = {"credit_default": [AlertRoute(channel="log"),
                             AlertRoute(channel="webhook", min_severity=Severity.ERROR)]}


def keys(pairs) -> list[tuple]:
    return sorted((item[0].dedup_key(), item[1]) for item in pairs)


# --- deliver --------------------------------------------------------------------------------------

def test_deliver_twice_sends_each_alert_once_per_channel(ledger, webhook, tmp_path):
    log_path = tmp_path / "alerts" / "alerts.jsonl"
    channels = {"log": JsonLinesChannel(log_path), "webhook": WebhookChannel(webhook.url, timeout_s=2)}
    alerts = [make_alert("nulls", "ERROR"), make_alert("schema", "ERROR", day="2026-10-04")]

    first = deliver(alerts, ROUTES, channels, ledger)
    second = deliver(alerts, ROUTES, channels, ledger)

    expected = sorted((a.dedup_key(), c) for a in alerts for c in ("log", "webhook"))
    assert keys(first.sent) == expected and not first.failed and not first.duplicates
    assert keys(second.duplicates) == expected and not second.sent and not second.failed
    assert len(webhook.posted_texts) == 2
    assert len(log_path.read_text(encoding="ascii").splitlines()) == 2
    recorded = sorted(((r["model"], r["check_name"], r["partition_date"]), r["channel"]) for r in ledger.sent())
    assert recorded == expected
    assert first.summary().startswith("4 sent")


@pytest.mark.parametrize("first_answer", [200, 400])
def test_same_alert_twice_in_one_batch_is_tried_once(sqlite_ledger, webhook, first_answer):
    webhook.script = [(first_answer, 0.0)]
    channels = {"webhook": WebhookChannel(webhook.url, timeout_s=2)}
    routes = {"credit_default": [AlertRoute(channel="webhook")]}
    report = deliver([make_alert(), make_alert()], routes, channels, sqlite_ledger)
    assert (len(report.sent), len(report.failed), len(report.duplicates)) == (int(first_answer == 200),
                                                                              int(first_answer == 400), 1)
    assert len(webhook.posted_texts) == 1


def test_server_error_is_reported_then_retried_on_next_call(ledger, webhook):
    webhook.script = [(500, 0.0)]
    channels = {"webhook": WebhookChannel(webhook.url, timeout_s=2)}
    routes = {"credit_default": [AlertRoute(channel="webhook")]}
    alert = make_alert()

    first = deliver([alert], routes, channels, ledger)
    assert [(a, c) for a, c, _ in first.failed] == [(alert, "webhook")]
    assert "HTTP 500" in first.failed[0][2] and "internal_error" in first.failed[0][2]
    assert not first.sent and ledger.sent() == []

    second = deliver([alert], routes, channels, ledger)
    assert second.sent == [(alert, "webhook")] and not second.failed
    assert len(ledger.sent()) == 1

    third = deliver([alert], routes, channels, ledger)
    assert third.duplicates == [(alert, "webhook")] and not third.sent
    assert len(webhook.posted_texts) == 2  # the failed attempt and the retry, nothing more


def test_unreachable_webhook_fails_without_stopping_the_log_or_leaking_the_url(sqlite_ledger, tmp_path):
    port = closed_port()
    channels = {"log": JsonLinesChannel(tmp_path / "alerts.jsonl"),
                "webhook": WebhookChannel(f"http://127.0.0.1:{port}/services/{SECRET}", timeout_s=2)}
    alerts = [make_alert("nulls"), make_alert("volume")]

    report = deliver(alerts, ROUTES, channels, sqlite_ledger)

    assert keys(report.sent) == sorted((a.dedup_key(), "log") for a in alerts)
    assert keys(report.failed) == sorted((a.dedup_key(), "webhook") for a in alerts)
    messages = [message for _, _, message in report.failed]
    assert all(f"http://127.0.0.1:{port}" in m and SECRET not in m and "services" not in m for m in messages)
    assert "not attempted" in messages[1]  # a dead channel costs one attempt per batch, not one per alert
    assert {r["channel"] for r in sqlite_ledger.sent()} == {"log"}


def test_slow_webhook_times_out_and_fails(sqlite_ledger, webhook):
    webhook.script = [(200, 10.0)]
    channels = {"webhook": WebhookChannel(webhook.url, timeout_s=0.3)}
    routes = {"credit_default": [AlertRoute(channel="webhook")]}

    started = time.monotonic()
    report = deliver([make_alert()], routes, channels, sqlite_ledger)

    assert time.monotonic() - started < 3
    assert len(report.failed) == 1 and "0.3 s" in report.failed[0][2]
    assert sqlite_ledger.sent() == []


def test_redirect_is_not_followed_as_a_bodiless_get(sqlite_ledger, webhook):
    webhook.script = [(302, 0.0)]
    channels = {"webhook": WebhookChannel(webhook.url, timeout_s=2)}
    report = deliver([make_alert()], {"credit_default": [AlertRoute(channel="webhook")]}, channels, sqlite_ledger)
    assert len(report.failed) == 1 and "HTTP 302" in report.failed[0][2]
    assert [method for method, _, _ in webhook.requests] == ["POST"]


def test_routing_follows_min_severity(sqlite_ledger, webhook, tmp_path):
    channels = {"log": JsonLinesChannel(tmp_path / "alerts.jsonl"), "webhook": WebhookChannel(webhook.url)}
    warn, error = make_alert("ranges", "WARN"), make_alert("schema", "ERROR")

    report = deliver([warn, error], ROUTES, channels, sqlite_ledger)

    assert keys(report.sent) == sorted([(warn.dedup_key(), "log"), (error.dedup_key(), "log"),
                                        (error.dedup_key(), "webhook")])
    assert len(webhook.posted_texts) == 1 and "schema" in webhook.posted_texts[0]


def test_unconfigured_channel_and_unknown_monitor_are_reported_unrouted(sqlite_ledger, tmp_path):
    channels = {"log": JsonLinesChannel(tmp_path / "alerts.jsonl")}  # webhook route but no URL given
    known, unknown = make_alert(), make_alert(model="house_price")

    report = deliver([known, unknown], ROUTES, channels, sqlite_ledger)

    assert report.sent == [(known, "log")]
    assert [(a, c) for a, c, _ in report.unrouted] == [(known, "webhook"), (unknown, "")]
    assert "not configured" in report.unrouted[0][2] and "house_price" in report.unrouted[1][2]


# --- channels -------------------------------------------------------------------------------------

def test_json_lines_round_trips_hostile_strings(tmp_path):
    path = tmp_path / "nested" / "dir" / "alerts.jsonl"
    channel = JsonLinesChannel(path)
    alerts = [make_alert(description=HOSTILE, report_path=f"reports/{HOSTILE}"),
              make_alert("ranges", "WARN", description="", report_path=None)]
    before = dt.datetime.now(dt.UTC)
    for alert in alerts:
        channel.send(alert)

    lines = path.read_text(encoding="utf-8").splitlines()  # splitlines also breaks on U+2028
    assert len(lines) == len(alerts)
    for line, alert in zip(lines, alerts):
        record = json.loads(line)
        assert {k: record[k] for k in ("model", "check", "partition_date", "severity", "description",
                                       "report_path", "run_id")} == {
            "model": alert.model, "check": alert.check, "partition_date": alert.partition_date,
            "severity": alert.severity, "description": alert.description, "report_path": alert.report_path,
            "run_id": alert.run_id}
        sent_at = dt.datetime.fromisoformat(record["sent_at"])
        assert sent_at.utcoffset() == dt.timedelta(0) and before <= sent_at <= dt.datetime.now(dt.UTC)


def test_json_lines_starts_a_fresh_line_after_a_cut_one(tmp_path):
    path = tmp_path / "alerts.jsonl"
    path.write_bytes(b'{"model": "credit_def')  # a write cut short by a crash
    JsonLinesChannel(path).send(make_alert())
    lines = path.read_text(encoding="ascii").splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["check"] == "nulls"


def test_json_lines_unwritable_path_is_a_delivery_error(tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("")
    with pytest.raises(DeliveryError, match="log channel: cannot append") as caught:
        JsonLinesChannel(blocker / "alerts.jsonl").send(make_alert())
    assert caught.value.channel_unavailable


def test_webhook_text_escapes_slack_control_characters(webhook):
    description = "a & b &amp; c <script>alert(1)</script> <!channel>"
    alert = make_alert(description=description, report_path="reports/x<y>&z.html")
    WebhookChannel(webhook.url).send(alert)

    [text] = webhook.posted_texts
    assert "<" not in text and ">" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;!channel&gt;" in text
    unescaped = html.unescape(text)  # independent decoder of the three entities
    for part in (description, alert.model, alert.check, alert.partition_date, alert.severity,
                 alert.report_path):
        assert part in unescaped


def test_webhook_rejects_bad_urls_without_echoing_them():
    for bad in (f"ftp://hooks.example/{SECRET}", f"hooks.example/{SECRET}", f"http://host:port/{SECRET}",
                f"https://user:{SECRET}@hooks.example/x"):
        with pytest.raises(ValueError, match="webhook channel") as caught:
            WebhookChannel(bad)
        assert SECRET not in str(caught.value)


def test_alert_validates_its_fields():
    assert make_alert(severity=Severity.WARN).severity == "WARN"
    assert make_alert().dedup_key() == ("credit_default", "nulls", "2026-10-03")
    for bad in ({"severity": "CRITICAL"}, {"day": "2026-13-01"}, {"day": "20261001"}, {"model": " "},
                {"check": "x\x00y"}):
        kwargs = {"check": bad.get("check", "nulls"), "severity": bad.get("severity", "ERROR"),
                  "model": bad.get("model", "credit_default"), "day": bad.get("day", "2026-10-03")}
        with pytest.raises(ValueError, match="Alert\\."):
            make_alert(**kwargs)


# --- ledger ---------------------------------------------------------------------------------------

def test_ledger_record_is_idempotent(ledger):
    alert = make_alert()
    before = dt.datetime.now(dt.UTC)
    ledger.record(alert, "webhook")
    ledger.record(alert, "webhook")  # second record of the same key: no error, no row

    [row] = ledger.sent()
    assert {k: v for k, v in row.items() if k != "sent_at"} == {
        "model": "credit_default", "check_name": "nulls", "partition_date": "2026-10-03", "channel": "webhook",
        "severity": "ERROR", "description": alert.description, "run_id": "run-1"}
    assert row["sent_at"].utcoffset() == dt.timedelta(0)
    assert before - dt.timedelta(seconds=1) <= row["sent_at"] <= dt.datetime.now(dt.UTC)
    assert ledger.already_sent(alert, "webhook")
    assert not ledger.already_sent(alert, "log")
    assert not ledger.already_sent(make_alert(day="2026-10-04"), "webhook")


def test_ledger_unique_key_is_enforced_by_the_database(ledger):
    ledger.ensure_schema()  # a second call is harmless
    row = {"model": "m", "check_name": "c", "partition_date": dt.date(2026, 10, 1), "channel": "log",
           "severity": "WARN", "description": "", "sent_at": dt.datetime.now(dt.UTC)}
    with ledger.engine.begin() as connection:
        connection.execute(sa.insert(ledger.table).values(row))
    with pytest.raises(sa.exc.IntegrityError):
        with ledger.engine.begin() as connection:
            connection.execute(sa.insert(ledger.table).values(row))


def test_ledger_keeps_hostile_text_filters_by_model_and_stores_utc(ledger):
    hostile = make_alert(description=HOSTILE + "\x00end")
    other = make_alert(model="house_price")
    ledger.record(hostile, "log", sent_at=dt.datetime(2026, 10, 3, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    ledger.record(other, "log", sent_at=dt.datetime(2026, 10, 3, 7, 0, tzinfo=dt.UTC))

    assert [r["model"] for r in ledger.sent()] == ["credit_default", "house_price"]  # 06:00 UTC before 07:00
    [row] = ledger.sent(model="credit_default")
    assert row["description"] == HOSTILE + "\ufffdend"  # PostgreSQL text cannot hold NUL
    assert row["sent_at"] == dt.datetime(2026, 10, 3, 6, 0, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        ledger.record(other, "webhook", sent_at=dt.datetime(2026, 10, 3))


def test_ensure_schema_refuses_a_table_without_the_unique_key(ledger):
    foreign = sa.MetaData(schema=ledger.table.schema)
    sa.Table("alert_deliveries", foreign, *(sa.Column(c.name, c.type) for c in ledger.table.columns))
    with ledger.engine.begin() as connection:
        ledger.table.drop(connection)
        foreign.create_all(connection)
    with pytest.raises(RuntimeError, match="no unique constraint"):
        ledger.ensure_schema()
