"""Where messages go: an append-only JSON-lines log, a Slack-compatible webhook and email over SMTP.

Every channel turns each way it can fail into a ``DeliveryError`` so one broken channel never stops
the others, and the outbox marks a message sent only when ``send`` returned. Secrets (the webhook
URL, whose path is the token, and the SMTP password) never appear in errors or reprs.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from monitoring_jobs.alerts.message import AlertMessage

# How much of an error answer is quoted in a DeliveryError (Slack and SMTP servers explain refusals there).
MAX_ERROR_BODY_CHARS = 200
RETRY_LATER = "the message stays in the outbox and is retried with backoff"


class DeliveryError(Exception):
    """One channel could not deliver one message; the text names the channel, the cause and the remedy.

    ``channel_unavailable`` is true when the channel itself is down (connection refused, timeout,
    5xx, disk error, login refused) rather than refusing this one message, so the rest of the tick
    does not try it again and wait out one timeout per message.
    """

    def __init__(self, message: str, *, channel_unavailable: bool = False) -> None:
        super().__init__(message)
        self.channel_unavailable = channel_unavailable


class Channel(Protocol):
    """Delivers a message or raises DeliveryError; may return a note for the report (delivered with caveats).

    ``recipients`` are the route's addresses (email); the other channels get an empty tuple.
    """

    name: str

    def send(self, message: AlertMessage, recipients: Sequence[str]) -> str | None: ...


class JsonLinesChannel:
    """Appends one JSON object per message to a file, durably (fsync per line).

    Lines are ASCII-only JSON: newlines, quotes and U+2028 inside values are escaped, so one message
    is always exactly one line for any reader. Values are kept raw (no HTML/Slack escaping).
    Appending (not write-then-replace) is deliberate: the log only grows, and rewriting it per message
    would be quadratic and lose lines written concurrently by another process.
    """

    name = "log"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def send(self, message: AlertMessage, recipients: Sequence[str] = ()) -> None:
        record = {**message.record(), "logged_at": dt.datetime.now(dt.UTC).isoformat()}
        line = (json.dumps(record, ensure_ascii=True) + "\n").encode("ascii")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a+b") as log:
                # A line cut short by an earlier crash or full disk must not swallow this one.
                if log.seek(0, os.SEEK_END) > 0:
                    log.seek(-1, os.SEEK_END)
                    if log.read(1) != b"\n":
                        line = b"\n" + line
                log.write(line)
                log.flush()
                os.fsync(log.fileno())
        except OSError as exc:
            raise DeliveryError(
                f"log channel: cannot append to {self.path} ({exc.strerror or exc}); {RETRY_LATER}; "
                "check that the folder is writable and the disk is not full",
                channel_unavailable=True,
            ) from None


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """urllib turns a redirected POST into a bodiless GET, which a 2xx would then report as delivered."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 (urllib signature)
        return None


class WebhookChannel:
    """POSTs ``{"text": ...}`` to a Slack-compatible incoming webhook; any non-2xx answer is a failure.

    The URL is a secret (the path is the token), so errors name only ``scheme://host[:port]``.
    """

    name = "webhook"

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        parts = urlsplit(url)
        try:
            port = parts.port
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:  # a port that is not a number
            valid = False
        if not valid:
            shown = f"{parts.scheme}://…" if parts.scheme else "a value without scheme"
            raise ValueError(f"webhook channel: the URL must be http(s)://host[:port]/path, got {shown}; "
                             "check the webhook URL setting")
        if parts.username is not None:
            raise ValueError("webhook channel: credentials in the URL (user:password@host) are not supported; "
                             "use a webhook whose token is in the path")
        if not timeout_s > 0:
            raise ValueError(f"webhook channel: timeout_s must be positive, got {timeout_s}")
        self._url = url
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        self.endpoint = f"{parts.scheme}://{host}{f':{port}' if port else ''}"
        self.timeout_s = timeout_s
        self._opener = urllib.request.build_opener(_RefuseRedirects)

    def __repr__(self) -> str:
        return f"WebhookChannel(endpoint={self.endpoint!r}, timeout_s={self.timeout_s})"

    def send(self, message: AlertMessage, recipients: Sequence[str] = ()) -> None:
        body = json.dumps({"text": message.webhook_text()}, ensure_ascii=True).encode("ascii")
        request = urllib.request.Request(
            self._url, data=body, method="POST",
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                response.read(MAX_ERROR_BODY_CHARS)
        except urllib.error.HTTPError as exc:
            answer = self._error_body(exc)
            retry_later = exc.code >= 500 or exc.code == 429
            if retry_later:
                remedy = "the service is failing or throttling"
            elif 300 <= exc.code < 400:
                remedy = "the URL redirects (not followed for a POST); configure the final webhook URL"
            else:
                remedy = "the service refused this message; check the webhook URL and that it is still enabled"
            raise DeliveryError(
                f"webhook channel: POST to {self.endpoint} answered HTTP {exc.code} {exc.reason}"
                f"{f' ({answer})' if answer else ''}; {RETRY_LATER}; {remedy}",
                channel_unavailable=retry_later,
            ) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            if isinstance(cause, TimeoutError):
                cause = f"no answer within {self.timeout_s:g} s"
            raise DeliveryError(
                f"webhook channel: POST to {self.endpoint} failed: {self._redact(str(cause))}; {RETRY_LATER}; "
                "check that the webhook service is reachable from this host",
                channel_unavailable=True,
            ) from None

    def _error_body(self, error: urllib.error.HTTPError) -> str:
        """Slack explains refusals in the body (``invalid_token``, ``no_text``); quote its start."""
        try:
            return self._redact(" ".join(error.read(MAX_ERROR_BODY_CHARS).decode("utf-8", "replace").split()))
        except (OSError, http.client.HTTPException):
            return ""

    def _redact(self, text: str) -> str:
        return text.replace(self._url, self.endpoint)


class EmailChannel:
    """Sends each message as a plain-text email to the route's recipients through an SMTP server.

    One email per route (all recipients in ``To``), so a retry never re-sends to some recipients
    only. A server that accepts some recipients and refuses others has delivered the message: it is
    not retried (that would repeat it to the others) and the refusal is returned as a note.
    ``starttls`` upgrades the connection before logging in; the Message-ID is derived from the
    outbox key, so a message delivered twice after a crash is recognisable as one.
    """

    name = "email"

    def __init__(self, host: str, port: int, sender: str, *, username: str | None = None,
                 password: str | None = None, starttls: bool = False, timeout_s: float = 10.0) -> None:
        if not host or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"email channel: give the SMTP host and a port in 1..65535, got {host!r}:{port!r}")
        _, address = email.utils.parseaddr(sender)
        if "@" not in address or any(char in sender for char in "\r\n"):
            raise ValueError(f"email channel: the sender must be an address such as alerts@example.com, "
                             f"got {sender!r}")
        if password and not username:
            raise ValueError("email channel: a password was given without a username")
        if not timeout_s > 0:
            raise ValueError(f"email channel: timeout_s must be positive, got {timeout_s}")
        self.host, self.port, self.sender = host, port, sender
        self.username, self._password = username, password
        self.starttls, self.timeout_s = starttls, timeout_s
        self._domain = address.rpartition("@")[2]

    def __repr__(self) -> str:
        return (f"EmailChannel(host={self.host!r}, port={self.port}, sender={self.sender!r}, "
                f"username={self.username!r}, starttls={self.starttls})")

    def compose(self, message: AlertMessage, recipients: Sequence[str]) -> EmailMessage:
        mail = EmailMessage(policy=SMTP_POLICY)
        mail["Subject"] = message.subject()
        mail["From"] = self.sender
        mail["To"] = ", ".join(recipients)
        mail["Date"] = email.utils.formatdate(usegmt=True)
        mail["Message-ID"] = f"<{message.key}@{self._domain}>"
        mail.set_content(message.body())
        return mail

    def send(self, message: AlertMessage, recipients: Sequence[str]) -> str | None:
        if not recipients:
            raise DeliveryError("email channel: the route names no recipients; add them under 'to'")
        mail = self.compose(message, recipients)
        server = f"SMTP server {self.host}:{self.port}"
        connection: smtplib.SMTP | None = None
        try:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            if self.starttls:
                connection.starttls(context=ssl.create_default_context())
            if self.username:
                connection.login(self.username, self._password or "")
            refused = connection.send_message(mail, from_addr=self.sender, to_addrs=list(recipients))
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"email channel: {server} refused every recipient "
                                f"({self._describe_refusals(exc.recipients)}); {RETRY_LATER}; "
                                "check the addresses under 'to'") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"email channel: {server} refused the login of {self.username!r} "
                                f"({self._answer(exc.smtp_code, exc.smtp_error)}); {RETRY_LATER}; "
                                "check the SMTP username and password settings", channel_unavailable=True) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"email channel: {server} answered {self._answer(exc.smtp_code, exc.smtp_error)}; "
                                f"{RETRY_LATER}; check the sender address and the server's limits",
                                channel_unavailable=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            timed_out = isinstance(exc, TimeoutError)
            cause = f"no answer within {self.timeout_s:g} s" if timed_out else str(exc) or type(exc).__name__
            raise DeliveryError(f"email channel: {server} failed: {self._redact(cause)}; {RETRY_LATER}; check that "
                                "the server is reachable from this host (and supports STARTTLS if enabled)",
                                channel_unavailable=True) from None
        finally:
            if connection is not None:
                _close_quietly(connection)
        if refused:
            return (f"email channel: {server} refused {self._describe_refusals(refused)}; the other recipients "
                    "received the message, which is not sent again")
        return None

    def _answer(self, code: int, text: bytes | str) -> str:
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return self._redact(f"{code} {' '.join(text.split())}"[:MAX_ERROR_BODY_CHARS])

    def _describe_refusals(self, refusals: dict) -> str:
        return "; ".join(f"{address}: {self._answer(code, text)}" for address, (code, text) in refusals.items())

    def _redact(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text


def _close_quietly(connection: smtplib.SMTP) -> None:
    """QUIT after the server accepted the message; a failure here must not turn a delivery into a retry."""
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()
