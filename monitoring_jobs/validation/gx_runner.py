"""Runs expectations with Great Expectations Core 1.x on in-memory pandas frames.

GX is imported lazily because importing it takes seconds. One ephemeral context is kept per process;
the pandas datasource is added before and deleted after every run, because its execution engine caches
the last batch and would otherwise keep the whole day's frame alive until the next run. A lock
serialises runs: the context and its datasource registry are shared mutable state.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

DATASOURCE_NAME = "monitoring_jobs_day"
SUITE_NAME = "monitoring_jobs_validation"
# Enough unexpected values to find a few distinct examples even when one bad value repeats.
PARTIAL_UNEXPECTED_COUNT = 100

_lock = threading.Lock()
_context: Any = None


@dataclass(frozen=True)
class Rule:
    """One expectation: its GX class name (``great_expectations.expectations``) and keyword arguments."""

    expectation: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleResult:
    """GX's verdict on one rule. ``error`` is GX's message when it could not evaluate the rule at all."""

    success: bool
    result: dict
    error: str | None = None


def run_rules(batches: Sequence[tuple[pd.DataFrame, Sequence[Rule]]]) -> list[list[RuleResult]]:
    """Validate each frame against its rules (one suite per frame); results line up with the rules."""
    with _lock:
        context = _get_context()
        datasource = context.data_sources.add_pandas(DATASOURCE_NAME)
        try:
            batch_definition = datasource.add_dataframe_asset("day").add_batch_definition_whole_dataframe("whole")
            return [_validate(batch_definition, frame, rules) for frame, rules in batches]
        finally:
            context.data_sources.delete(DATASOURCE_NAME)


def _get_context() -> Any:
    """The process's ephemeral context, created on first use (callers hold the lock)."""
    global _context
    if _context is None:
        os.environ["GX_ANALYTICS_ENABLED"] = "false"
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        # Progress bars would print a line per run to stderr of every job.
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        _context = context
    return _context


def _validate(batch_definition: Any, frame: pd.DataFrame, rules: Sequence[Rule]) -> list[RuleResult]:
    if not rules:
        return []
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name=SUITE_NAME)
    for position, rule in enumerate(rules):
        expectation_class = getattr(gxe, rule.expectation)
        suite.add_expectation(expectation_class(**rule.kwargs, meta={"rule": position}))
    if len(suite.expectations) != len(rules):
        # GX silently drops an expectation equal to one already in the suite.
        raise ValueError("duplicate validation rules; each rule must be unique within one frame")
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    suite_result = batch.validate(
        suite,
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": PARTIAL_UNEXPECTED_COUNT},
    )
    # GX does not return results in suite order; the meta tag maps them back.
    by_position = {
        result.expectation_config.meta["rule"]: RuleResult(
            success=bool(result.success), result=dict(result.result), error=_error_message(result.exception_info)
        )
        for result in suite_result.results
    }
    return [by_position[position] for position in range(len(rules))]


def _error_message(exception_info: Mapping | None) -> str | None:
    """GX reports errors flat for one expectation, or keyed by metric when a metric failed in a suite."""
    if not exception_info:
        return None
    if "raised_exception" in exception_info:
        infos = [exception_info]
    else:
        infos = [info for info in exception_info.values() if isinstance(info, Mapping)]
    messages = [str(info.get("exception_message")) for info in infos if info.get("raised_exception")]
    return "; ".join(dict.fromkeys(messages)) or None
