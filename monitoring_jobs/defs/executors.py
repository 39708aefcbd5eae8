"""Where a run's steps execute, chosen per environment by ``MONITORING_EXECUTOR`` without code changes:
in the run's own process, in subprocesses beside it (Dagster's default), or on Celery workers on any
number of machines (broker and result backend from ``MONITORING_CELERY_BROKER`` / ``_BACKEND``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from monitoring_jobs.config import ConfigError

if TYPE_CHECKING:  # Dagster is imported on use, so that the CLI can list the executors quickly
    import dagster as dg

EXECUTORS = ("in-process", "multiprocess", "celery")
DEFAULT_EXECUTOR = "multiprocess"
CELERY_DEFAULT_QUEUE = "dagster"
CELERY_SETTINGS = {"broker": "MONITORING_CELERY_BROKER", "backend": "MONITORING_CELERY_BACKEND"}


def executor_name(name: str | None = None) -> str:
    """``name``, else ``MONITORING_EXECUTOR``, else Dagster's default (multiprocess); a ConfigError if unknown."""
    chosen = name or os.environ.get("MONITORING_EXECUTOR") or DEFAULT_EXECUTOR
    if chosen not in EXECUTORS:
        raise ConfigError(f"MONITORING_EXECUTOR={chosen!r} is not an executor; use one of {', '.join(EXECUTORS)}")
    return chosen


def build_executor(name: str | None = None) -> dg.ExecutorDefinition | None:
    """The executor of every monitor job; None keeps Dagster's default (multiprocess, or in-process by run config).

    The Celery broker and backend stay environment variables that Dagster reads when a run starts, so the
    definitions carry no URL or password. ``MONITORING_CELERY_QUEUE`` routes the steps to the workers started
    with ``-q`` that name (default ``dagster``, the queue ``dagster-celery worker start`` listens on).
    """
    import dagster as dg

    name = executor_name(name)
    if name == "in-process":
        return dg.in_process_executor
    if name == "multiprocess":
        return None
    missing = [var for var in CELERY_SETTINGS.values() if not os.environ.get(var)]
    if missing:
        raise ConfigError(f"the celery executor needs {' and '.join(missing)}: the broker URL "
                          "(amqp://... or redis://...) and result backend (rpc:// or redis://...) that the "
                          "workers use too (see assets/dagster/celery.yaml)")
    try:
        from dagster_celery import celery_executor
    except ModuleNotFoundError:
        raise ConfigError("the celery executor needs dagster-celery: "
                          "pip install 'monitoring-jobs[celery]'") from None
    return celery_executor.configured({
        **{field: {"env": var} for field, var in CELERY_SETTINGS.items()},
        "config_source": {"task_default_queue": os.environ.get("MONITORING_CELERY_QUEUE") or CELERY_DEFAULT_QUEUE},
    }, name="celery")
