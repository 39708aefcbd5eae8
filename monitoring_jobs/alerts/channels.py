"""Where alerts go: an append-only JSON-lines log and a Slack-compatible webhook.

Every channel turns each way it can fail into a ``DeliveryError`` so one broken channel never
stops the others, and nothing is marked sent unless ``send`` returned.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from monitoring_jobs.alerts.alert import Alert, DeliveryError

# Slack renders at most 40,000 characters of text; a runaway description is cut well below that.
MAX_DESCRIPTION_CHARS = 3000
# How much of an error response body is quoted in a DeliveryError (Slack explains errors there).
MAX_ERROR_BODY_CHARS = 200


class Channel(Protocol):
    """Anything with a ``name`` and a ``send`` that either delivers the alert or raises DeliveryError."""

    name: str

    def send(self, alert: Alert) -> None: ...


def _utc_now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class JsonLinesChannel:
    """Appends one JSON object per alert to a file, durably (fsync per line).

    Lines are ASCII-only JSON: newlines, quotes and U+2028 inside values are escaped, so one alert
    is always exactly one line for any reader. Values are kept raw (no HTML/Slack escaping).
    Appending (not write-then-replace) is deliberate: the log only grows, and rewriting it per alert
    would be quadratic and lose lines written concurrently by another process.
    """

    name = "log"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def send(self, alert: Alert) -> None:
        record = {
            "model": alert.model,
            "check": alert.check,
            "partition_date": alert.partition_date,
            "severity": alert.severity,
            "description": alert.description,
            "report_path": alert.report_path,
            "run_id": alert.run_id,
            "sent_at": _utc_now_iso(),
        }
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
                f"log channel: cannot append to {self.path} ({exc.strerror or exc}); "
                "the alert stays unsent and is retried on the next evaluation; check that the folder "
                "is writable and the disk is not full",
                channel_unavailable=True,
            ) from None


def slack_escape(text: str) -> str:
    """Escape the three characters Slack mrkdwn gives meaning to (& first, so it is not escaped twice)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_text(alert: Alert) -> str:
    """The human-readable message: severity, model, check, day, description and report path."""
    description = alert.description
    if len(description) > MAX_DESCRIPTION_CHARS:
        description = description[:MAX_DESCRIPTION_CHARS] + " … (truncated; see the report)"
    lines = [f"[{alert.severity}] {alert.model}: check {alert.check} failed for {alert.partition_date}",
             description]
    if alert.report_path:
        lines.append(f"Report: {alert.report_path}")
    if alert.run_id:
        lines.append(f"Run: {alert.run_id}")
    return slack_escape("\n".join(lines))


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

    def send(self, alert: Alert) -> None:
        body = json.dumps({"text": webhook_text(alert)}, ensure_ascii=True).encode("ascii")
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
                remedy = "the service is failing or throttling; it is retried on the next evaluation"
            elif 300 <= exc.code < 400:
                remedy = "the URL redirects (not followed for a POST); configure the final webhook URL"
            else:
                remedy = "the service refused this alert; check the webhook URL and that it is still enabled"
            raise DeliveryError(
                f"webhook channel: POST to {self.endpoint} answered HTTP {exc.code} {exc.reason}"
                f"{f' ({answer})' if answer else ''}; the alert stays unsent; {remedy}",
                channel_unavailable=retry_later,
            ) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            if isinstance(cause, TimeoutError):
                cause = f"no answer within {self.timeout_s:g} s"
            raise DeliveryError(
                f"webhook channel: POST to {self.endpoint} failed: {self._redact(str(cause))}; "
                "the alert stays unsent and is retried on the next evaluation; check that the webhook "
                "service is reachable from this host",
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
