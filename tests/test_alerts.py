"""Alert messages and channels against real loopback servers: an HTTP webhook, an SMTP server (aiosmtpd), a file.

The servers defined here are shared with tests/test_alerts_engine.py.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
import json
import socket
import threading
import time
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitoring_jobs.alerts import (
    AlertMessage,
    CheckLine,
    DeliveryError,
    EmailChannel,
    JsonLinesChannel,
    WebhookChannel,
)
from monitoring_jobs.alerts.message import FAILED, MAX_TITLE_CHARS, RECOVERED

SECRET = "T0001/B0001/s3cr3tT0k3n"
SMTP_PASSWORD = "pa55-w0rd-n0t-to-leak"
HOSTILE = 'He said "hi" <script>alert(1)</script> & left\nline two\r\n\ttab \\ back é 日本 \u2028 😀'
CREATED = dt.datetime(2026, 10, 12, 6, 0, tzinfo=dt.UTC)


def make_message(*checks: CheckLine, kind: str = FAILED, model: str = "credit_default", day: str = "2026-10-11",
                 report_path: str | None = "reports/credit_default/2026-10-11/index.html",
                 run_ids: tuple[str, ...] = ("run-1",), reported_before: tuple[str, ...] = ()) -> AlertMessage:
    checks = checks or (CheckLine("nulls", "ERROR", "income is 12% null (max 5%)"),)
    return AlertMessage(key="k" * 64, kind=kind, model=model, partition_date=day, checks=checks,
                        report_path=report_path, run_ids=run_ids, created_at=CREATED,
                        reported_before=reported_before)


def free_port() -> int:
    """A port nothing listens on (bound and released; fine on loopback in a test)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- loopback servers ---------------------------------------------------------------------------

class FakeWebhook:
    """Records every request; answers each POST with the next scripted (status, delay_s), then 200."""

    def __init__(self, default_delay_s: float = 0.0) -> None:
        self.requests: list[tuple[str, str, bytes]] = []  # (method, path, body)
        self.answers: list[int] = []  # status sent back for each POST, in order
        self.script: list[tuple[int, float]] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with fake._lock:
                    fake.requests.append(("POST", self.path, body))
                    status, delay_s = fake.script.pop(0) if fake.script else (200, default_delay_s)
                    fake.answers.append(status)
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

    @property
    def accepted_texts(self) -> list[str]:
        """Texts of the POSTs answered 200: what the service actually took."""
        return [text for text, status in zip(self.posted_texts, self.answers) if status == 200]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every accepted email.

    ``refuse`` holds addresses answered 550 at RCPT; ``fail_data`` answers the next N DATA with 451;
    with ``password`` set, AUTH PLAIN/LOGIN is offered (without TLS: loopback only) for user "alerts".
    """

    def __init__(self, password: str | None = None) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.received: list[tuple[str, list[str], EmailMessage]] = []  # (MAIL FROM, RCPT TOs, parsed email)
        self.refuse: set[str] = set()
        self.fail_data = 0
        sink = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
                if address in sink.refuse:
                    return "550 5.1.1 no such user here"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                if sink.fail_data:
                    sink.fail_data -= 1
                    return "451 4.3.0 try again later"
                parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
                sink.received.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
                return "250 Message accepted"

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == b"alerts" and auth_data.password == (password or "").encode()
            return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

        extra = {"authenticator": authenticate, "auth_require_tls": False} if password else {}
        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **extra)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


@pytest.fixture
def webhook():
    server = FakeWebhook()
    yield server
    server.close()


@pytest.fixture
def smtp():
    server = SmtpSink()
    yield server
    server.close()


def plain_body(mail: EmailMessage) -> str:
    """The text part, with SMTP's CRLF line ends read as newlines."""
    return mail.get_body(("plain",)).get_content().replace("\r\n", "\n")


# --- messages -----------------------------------------------------------------------------------

def test_failed_and_recovered_texts():
    failed = make_message(CheckLine("nulls", "ERROR", "income is 12% null (max 5%)"),
                          CheckLine("ranges", "WARN", "age: 3 values above 120\nexamples: 130, 150"),
                          reported_before=("schema",))
    assert failed.severity == "ERROR"
    assert failed.subject() == "[monitoring] FAILED credit_default 2026-10-11: nulls (ERROR), ranges (WARN)"
    assert failed.body() == (
        "2 checks of credit_default failed for 2026-10-11.\n"
        "Already reported for this day: schema.\n"
        "\n"
        "- nulls (ERROR): income is 12% null (max 5%)\n"
        "- ranges (WARN): age: 3 values above 120\n"
        "    examples: 130, 150\n"
        "\n"
        "Report: reports/credit_default/2026-10-11/index.html\n"
        "Run: run-1")
    recovered = make_message(CheckLine("nulls", "ERROR", failed_days=("2026-10-10", "2026-10-11")),
                             kind=RECOVERED, day="2026-10-12", report_path=None, run_ids=("run-2", "run-3"))
    assert recovered.subject() == "[monitoring] RECOVERED credit_default 2026-10-12: nulls"
    assert recovered.body() == (
        "1 check of credit_default pass again on 2026-10-12.\n"
        "\n"
        "- nulls (ERROR), failed on 2026-10-10, 2026-10-11\n"
        "\n"
        "Report: none written\n"
        "Run: run-2, run-3")
    assert AlertMessage.from_record(json.loads(json.dumps(failed.record()))) == failed


def test_title_stays_one_short_line_whatever_the_names():
    many = make_message(*(CheckLine(f"check_number_{i:02d}", "WARN", "") for i in range(30)))
    title = many.title()
    assert len(title) <= MAX_TITLE_CHARS and title.endswith(" more")
    shown = title.split(": ", 1)[1].rsplit(" and ", 1)
    assert int(shown[1].split()[0]) + len(shown[0].split(", ")) == 30  # every check is shown or counted

    hostile = make_message(CheckLine("x\r\nBcc: evil@example.com\t" + "y" * 400, "ERROR", HOSTILE))
    assert len(hostile.subject()) <= len("[monitoring] ") + MAX_TITLE_CHARS
    assert not any(char in hostile.subject() for char in "\r\n\t\u2028")
    assert "x\\r\\nBcc: evil@example.com\\t" in hostile.subject()


def test_body_keeps_newlines_but_shows_hidden_characters():
    text = make_message(CheckLine("nulls", "ERROR", "a\r\nb\x1b[31mred\u202eevil\x00")).body()
    assert "- nulls (ERROR): a\n    b\\x1b[31mred\\u202eevil\\x00" in text
    assert "\r" not in text and "\x1b" not in text and "\u202e" not in text


# --- JSON-lines log -----------------------------------------------------------------------------

def test_json_lines_round_trips_hostile_strings(tmp_path):
    path = tmp_path / "nested" / "dir" / "alerts.jsonl"
    channel = JsonLinesChannel(path)
    messages = [make_message(CheckLine(f"<b>{HOSTILE}</b>", "ERROR", HOSTILE), report_path=f"reports/{HOSTILE}"),
                make_message(CheckLine("ranges", "WARN", failed_days=("2026-10-10",)), kind=RECOVERED,
                             report_path=None)]
    before = dt.datetime.now(dt.UTC)
    for message in messages:
        channel.send(message, ())

    lines = path.read_text(encoding="utf-8").splitlines()  # splitlines also breaks on U+2028
    assert len(lines) == len(messages)
    for line, message in zip(lines, messages):
        record = json.loads(line)
        assert record["kind"] == message.kind and record["model"] == message.model
        assert record["checks"] == [{"check": c.check, "severity": c.severity, "description": c.description,
                                     "failed_days": list(c.failed_days)} for c in message.checks]
        assert record["report_path"] == message.report_path and record["message_key"] == message.key
        logged_at = dt.datetime.fromisoformat(record["logged_at"])
        assert logged_at.utcoffset() == dt.timedelta(0) and before <= logged_at <= dt.datetime.now(dt.UTC)
    assert "&lt;" not in lines[0] and "\\u003c" not in lines[0] and "<b>" in lines[0]  # raw, JSON-escaped only


def test_json_lines_starts_a_fresh_line_after_a_cut_one(tmp_path):
    path = tmp_path / "alerts.jsonl"
    path.write_bytes(b'{"model": "credit_def')  # a write cut short by a crash
    JsonLinesChannel(path).send(make_message(), ())
    lines = path.read_text(encoding="ascii").splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["checks"][0]["check"] == "nulls"


def test_json_lines_unwritable_path_is_a_delivery_error(tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("")
    with pytest.raises(DeliveryError, match="log channel: cannot append") as caught:
        JsonLinesChannel(blocker / "alerts.jsonl").send(make_message(), ())
    assert caught.value.channel_unavailable


# --- webhook ------------------------------------------------------------------------------------

def test_webhook_text_escapes_slack_control_characters(webhook):
    description = "a & b &amp; c <script>alert(1)</script> <!channel>"
    message = make_message(CheckLine("cat_<script>alert(1)</script>", "ERROR", description),
                           report_path="reports/x<y>&z.html")
    WebhookChannel(webhook.url).send(message, ())

    [text] = webhook.posted_texts
    assert "<" not in text and ">" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;!channel&gt;" in text
    unescaped = html.unescape(text)  # independent decoder of the three entities
    for part in (description, "cat_<script>alert(1)</script> (ERROR)", message.model, message.partition_date,
                 message.report_path):
        assert part in unescaped


def test_webhook_errors_name_the_endpoint_not_the_secret(webhook):
    webhook.script = [(500, 0.0), (302, 0.0), (404, 0.0)]
    channel = WebhookChannel(webhook.url, timeout_s=2)
    errors = []
    for _ in range(3):
        with pytest.raises(DeliveryError) as caught:
            channel.send(make_message(), ())
        errors.append(caught.value)
    assert "HTTP 500" in str(errors[0]) and "internal_error" in str(errors[0]) and errors[0].channel_unavailable
    assert "HTTP 302" in str(errors[1]) and not errors[1].channel_unavailable
    assert "HTTP 404" in str(errors[2]) and not errors[2].channel_unavailable
    assert all(SECRET not in str(error) and f"127.0.0.1:{webhook.server.server_address[1]}" in str(error)
               for error in errors)
    assert [method for method, _, _ in webhook.requests] == ["POST"] * 3  # the redirect was not followed


def test_webhook_unreachable_or_slow_is_unavailable():
    port = free_port()
    with pytest.raises(DeliveryError) as caught:
        WebhookChannel(f"http://127.0.0.1:{port}/services/{SECRET}", timeout_s=2).send(make_message(), ())
    assert caught.value.channel_unavailable and SECRET not in str(caught.value)

    slow = FakeWebhook(default_delay_s=10)
    try:
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="no answer within 0.3 s") as caught:
            WebhookChannel(slow.url, timeout_s=0.3).send(make_message(), ())
        assert time.monotonic() - started < 3 and caught.value.channel_unavailable
    finally:
        slow.close()


def test_webhook_rejects_bad_urls_without_echoing_them():
    for bad in (f"ftp://hooks.example/{SECRET}", f"hooks.example/{SECRET}", f"http://host:port/{SECRET}",
                f"https://user:{SECRET}@hooks.example/x"):
        with pytest.raises(ValueError, match="webhook channel") as caught:
            WebhookChannel(bad)
        assert SECRET not in str(caught.value)
    assert SECRET not in repr(WebhookChannel(f"https://hooks.example/{SECRET}"))


# --- email --------------------------------------------------------------------------------------

def test_email_arrives_with_exact_subject_body_and_recipients(smtp):
    channel = EmailChannel("127.0.0.1", smtp.port, "Monitoring <alerts@example.org>", timeout_s=5)
    note = channel.send(make_message(), ["oncall@example.com", "ml-team@example.com"])

    assert note is None
    [(mail_from, recipients, mail)] = smtp.received
    assert mail_from == "alerts@example.org"
    assert recipients == ["oncall@example.com", "ml-team@example.com"]
    assert mail["Subject"] == "[monitoring] FAILED credit_default 2026-10-11: nulls (ERROR)"
    assert mail["To"] == "oncall@example.com, ml-team@example.com"
    assert mail["Message-ID"] == f"<{'k' * 64}@example.org>"
    assert mail.get_content_type() == "text/plain"
    assert plain_body(mail) == ("1 check of credit_default failed for 2026-10-11.\n"
                                "\n"
                                "- nulls (ERROR): income is 12% null (max 5%)\n"
                                "\n"
                                "Report: reports/credit_default/2026-10-11/index.html\n"
                                "Run: run-1\n")


def test_email_hostile_values_stay_plain_text_and_cannot_inject_headers(smtp):
    message = make_message(CheckLine("nulls\r\nBcc: evil@example.com", "ERROR", HOSTILE))
    EmailChannel("127.0.0.1", smtp.port, "alerts@example.org").send(message, ["oncall@example.com"])

    [(_, recipients, mail)] = smtp.received
    assert recipients == ["oncall@example.com"] and mail["Bcc"] is None
    assert "\n" not in mail["Subject"] and "nulls\\r\\nBcc: evil@example.com (ERROR)" in mail["Subject"]
    body = plain_body(mail)
    assert mail.get_content_type() == "text/plain"
    assert "<script>alert(1)</script>" in body and "&lt;" not in body  # plain text: nothing to escape
    assert "日本" in body and "😀" in body and "\\u2028" in body


def test_email_refusals(smtp):
    channel = EmailChannel("127.0.0.1", smtp.port, "alerts@example.org")
    smtp.refuse = {"gone@example.com"}

    note = channel.send(make_message(), ["oncall@example.com", "gone@example.com"])
    assert "gone@example.com" in note and "550" in note  # delivered to the other one, so not an error
    assert [recipients for _, recipients, _ in smtp.received] == [["oncall@example.com"]]

    with pytest.raises(DeliveryError, match="refused every recipient") as caught:
        channel.send(make_message(), ["gone@example.com"])
    assert f"127.0.0.1:{smtp.port}" in str(caught.value) and not caught.value.channel_unavailable

    smtp.fail_data = 1
    with pytest.raises(DeliveryError, match="451") as caught:
        channel.send(make_message(), ["oncall@example.com"])
    assert caught.value.channel_unavailable and len(smtp.received) == 1


def test_email_login_and_its_refusal_never_show_the_password():
    server = SmtpSink(password=SMTP_PASSWORD)
    try:
        good = EmailChannel("127.0.0.1", server.port, "alerts@example.org", username="alerts",
                            password=SMTP_PASSWORD)
        good.send(make_message(), ["oncall@example.com"])
        assert len(server.received) == 1
        assert SMTP_PASSWORD not in repr(good)

        bad = EmailChannel("127.0.0.1", server.port, "alerts@example.org", username="alerts", password="wrong-one")
        with pytest.raises(DeliveryError, match="refused the login") as caught:
            bad.send(make_message(), ["oncall@example.com"])
        assert "wrong-one" not in str(caught.value) and f"127.0.0.1:{server.port}" in str(caught.value)
        assert caught.value.channel_unavailable and len(server.received) == 1
    finally:
        server.close()


def test_email_server_down_or_without_starttls_is_unavailable(smtp):
    port = free_port()
    with pytest.raises(DeliveryError, match=f"SMTP server 127.0.0.1:{port} failed") as caught:
        EmailChannel("127.0.0.1", port, "alerts@example.org", password=None, timeout_s=2).send(
            make_message(), ["oncall@example.com"])
    assert caught.value.channel_unavailable

    with pytest.raises(DeliveryError, match="STARTTLS") as caught:
        EmailChannel("127.0.0.1", smtp.port, "alerts@example.org", starttls=True).send(
            make_message(), ["oncall@example.com"])
    assert caught.value.channel_unavailable and smtp.received == []


def test_email_channel_validates_its_settings():
    for kwargs in ({"host": "", "port": 25, "sender": "a@b"}, {"host": "h", "port": 0, "sender": "a@b"},
                   {"host": "h", "port": 25, "sender": "no-at-sign"},
                   {"host": "h", "port": 25, "sender": "a@b\r\nBcc: x@y"},
                   {"host": "h", "port": 25, "sender": "a@b", "password": SMTP_PASSWORD}):
        with pytest.raises(ValueError, match="email channel") as caught:
            EmailChannel(**kwargs)
        assert SMTP_PASSWORD not in str(caught.value)
