"""Turning plain CheckOutcomes into Dagster check specs and results."""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from monitoring_jobs.metrics import CheckOutcome

_SEVERITY = {"WARN": dg.AssetCheckSeverity.WARN, "ERROR": dg.AssetCheckSeverity.ERROR}


def metadata_values(values: dict) -> dict:
    """Plain values as Dagster metadata: containers as JSON, None dropped, MetadataValues kept."""
    out = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, dg.MetadataValue):
            out[str(key)] = value
        elif isinstance(value, (list, tuple, dict)):
            out[str(key)] = dg.MetadataValue.json(list(value) if isinstance(value, tuple) else value)
        elif isinstance(value, (bool, int, float, str)):
            out[str(key)] = value
        else:
            out[str(key)] = str(value)
    return out


def check_result(outcome: CheckOutcome) -> dg.AssetCheckResult:
    metadata = metadata_values(outcome.metadata)
    if outcome.examples:
        metadata["examples"] = dg.MetadataValue.json(list(outcome.examples))
    return dg.AssetCheckResult(
        check_name=outcome.name,
        passed=outcome.passed,
        severity=_SEVERITY[outcome.severity],
        description=outcome.description,
        metadata=metadata,
    )


def check_results(outcomes: Iterable[CheckOutcome]) -> list[dg.AssetCheckResult]:
    return [check_result(outcome) for outcome in outcomes]
