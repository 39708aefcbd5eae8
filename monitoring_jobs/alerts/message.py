"""The message one route receives for one model-day: which checks failed, or which pass again.

Text is rendered here once for every channel: a one-line title (the email subject after a prefix,
the webhook's first line) and a plain-text body. Values from the data reach these texts (check
descriptions quote offending values), so hidden characters are written as visible escapes; the
webhook additionally escapes Slack's three control characters, the log keeps the raw values.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from monitoring_jobs.alerts.evaluation import SEVERITY_RANK

FAILED = "FAILED"
RECOVERED = "RECOVERED"
KINDS = (FAILED, RECOVERED)
SUBJECT_PREFIX = "[monitoring]"

# Slack renders at most 40,000 characters and mail clients cut long subjects; a runaway
# description or a long list of checks is cut well below either.
MAX_DESCRIPTION_CHARS = 3000
MAX_TITLE_CHARS = 180
ELLIPSIS = "…"

# Control characters (Cc), invisible formatting such as bidi overrides (Cf), line/paragraph
# separators (Zl, Zp), surrogates (Cs) and unassigned code points (Cn) are shown as escapes.
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"}
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: str, *, multiline: bool = False) -> str:
    """``text`` with hidden characters escaped; ``multiline`` keeps newlines and tabs (CR/CRLF become LF).

    Backslashes are left alone: descriptions arrive already made display-safe by the checks, and
    doubling them here would garble those escapes.
    """
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(char if (multiline and char in "\n\t") or unicodedata.category(char) not in _HIDDEN_CATEGORIES
                   else _escape(char) for char in text)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def slack_escape(text: str) -> str:
    """Escape the three characters Slack mrkdwn gives meaning to (& first, so it is not escaped twice)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class CheckLine:
    """One check in a message: why it failed (FAILED) or which failed days it closes (RECOVERED)."""

    check: str
    severity: str
    description: str = ""
    failed_days: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertMessage:
    """What one route receives. ``key`` is the outbox key: stable across retries, so receivers that
    see a message twice (the rare crash between a confirmed send and its record) can tell.

    ``reported_before`` lists checks of the same model-day this route already heard of (a follow-up
    FAILED message lists only the new checks).
    """

    key: str
    kind: str
    model: str
    partition_date: str
    checks: tuple[CheckLine, ...]
    report_path: str | None
    run_ids: tuple[str, ...]
    created_at: dt.datetime
    reported_before: tuple[str, ...] = ()

    @property
    def severity(self) -> str:
        """The worst severity among the checks."""
        return max((line.severity for line in self.checks), key=SEVERITY_RANK.__getitem__)

    def title(self) -> str:
        """One line: kind, model, day and as many checks as fit in ``MAX_TITLE_CHARS``."""
        head = f"{self.kind} {visible(self.model)} {self.partition_date}: "
        names = [visible(line.check) + (f" ({line.severity})" if self.kind == FAILED else "")
                 for line in self.checks]
        for shown in range(len(names), 0, -1):
            more = f" and {len(names) - shown} more" if shown < len(names) else ""
            title = head + ", ".join(names[:shown])
            if len(title) + len(more) <= MAX_TITLE_CHARS or shown == 1:
                return _cut(title, MAX_TITLE_CHARS - len(more)) + more
        raise ValueError("a message names at least one check")

    def subject(self) -> str:
        return f"{SUBJECT_PREFIX} {self.title()}"

    def body(self) -> str:
        """Plain text: one line per check, then the report link and the run(s)."""
        count = f"{len(self.checks)} check{'s' if len(self.checks) != 1 else ''}"
        model = visible(self.model)
        lines: list[str] = []
        if self.kind == FAILED:
            lines.append(f"{count} of {model} failed for {self.partition_date}.")
            if self.reported_before:
                lines.append("Already reported for this day: "
                             f"{', '.join(visible(name) for name in self.reported_before)}.")
            lines.append("")
            for line in self.checks:
                description = visible(_cut(line.description, MAX_DESCRIPTION_CHARS), multiline=True)
                description = description.strip().replace("\n", "\n    ") or "(no description)"
                lines.append(f"- {visible(line.check)} ({line.severity}): {description}")
        else:
            lines.append(f"{count} of {model} pass again on {self.partition_date}.")
            lines.append("")
            for line in self.checks:
                lines.append(f"- {visible(line.check)} ({line.severity}), failed on {', '.join(line.failed_days)}")
        lines.append("")
        lines.append(f"Report: {visible(self.report_path)}" if self.report_path else "Report: none written")
        if self.run_ids:
            lines.append(f"Run: {', '.join(visible(run_id) for run_id in self.run_ids)}")
        return "\n".join(lines)

    def webhook_text(self) -> str:
        return slack_escape(f"{self.title()}\n{self.body()}")

    def record(self) -> dict:
        """The raw values (no escaping): the JSON-lines log and the outbox payload."""
        return {
            "message_key": self.key,
            "kind": self.kind,
            "model": self.model,
            "partition_date": self.partition_date,
            "severity": self.severity,
            "checks": [{"check": line.check, "severity": line.severity, "description": line.description,
                        "failed_days": list(line.failed_days)} for line in self.checks],
            "reported_before": list(self.reported_before),
            "report_path": self.report_path,
            "run_ids": list(self.run_ids),
            "created_at": self.created_at.astimezone(dt.UTC).isoformat(),
        }

    @classmethod
    def from_record(cls, record: dict) -> AlertMessage:
        return cls(
            key=record["message_key"], kind=record["kind"], model=record["model"],
            partition_date=record["partition_date"],
            checks=tuple(CheckLine(check=item["check"], severity=item["severity"], description=item["description"],
                                   failed_days=tuple(item["failed_days"])) for item in record["checks"]),
            report_path=record["report_path"], run_ids=tuple(record["run_ids"]),
            created_at=dt.datetime.fromisoformat(record["created_at"]),
            reported_before=tuple(record["reported_before"]),
        )
