"""Wording shared by the checks: values from the data made safe to show, shares and column lists.

Values taken from the data (offending values, unexpected column names, model versions) end up in
descriptions, Dagster metadata, report rows and alerts. The renderers escape HTML; this module makes
the rest visible instead of acting on it: newlines, tabs and other control or invisible formatting
characters (e.g. a right-to-left override) are written as escapes, backslashes are doubled so an
escape cannot be forged, and values are cut to ``EXAMPLE_CHARS`` characters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

EXAMPLE_LIMIT = 5
EXAMPLE_CHARS = 80
ELLIPSIS = "…"
# Control (Cc), formatting such as bidi overrides and zero-width characters (Cf), line and paragraph
# separators (Zl, Zp), surrogates (Cs) and unassigned code points (Cn) are shown as escapes.
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"}
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def display_safe(value: object, limit: int = EXAMPLE_CHARS) -> str:
    """``str(value)`` with hidden characters escaped repr-style, cut to ``limit`` characters (… marks a cut)."""
    text = "".join(_escape(char) for char in str(value))
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def safe_examples(values: Iterable[object]) -> tuple[str, ...]:
    """The first ``EXAMPLE_LIMIT`` distinct values, each made safe for display."""
    return tuple(dict.fromkeys(display_safe(value) for value in values))[:EXAMPLE_LIMIT]


def names(columns: Iterable[object]) -> str:
    return ", ".join(f"'{display_safe(column)}'" for column in columns)


def share(count: int, rows: int) -> str:
    return f"{count:,} of {rows:,} rows ({percent(count / rows)})" if rows else f"{count} of 0 rows"


def percent(fraction: float) -> str:
    return f"{100 * fraction:.3g}%"


def figure(metric: str, feature: str, value: float | None, threshold: float | None, passed: bool,
           detail: str = "", severity: str | None = None) -> dict:
    """One per-column figure of a check, later a metric-store row; ``severity`` is set on failed figures."""
    found = {"metric": metric, "feature": feature, "value": value, "threshold": threshold, "passed": passed,
             "detail": detail}
    if severity is not None:
        found["severity"] = severity
    return found


def _escape(char: str) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if unicodedata.category(char) not in _HIDDEN_CATEGORIES:
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
