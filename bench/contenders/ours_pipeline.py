"""Our daily pipeline for one model-day without Dagster (``monitoring_jobs.stages``), or one stage of it.

Runs in the project's venv, from a benchmark folder made by ``bench/logs.py`` (``MONITORING_HOME``):

    python ours_pipeline.py <stage> <day> out.json [validation engine]

``pipeline`` runs everything a scheduled run does (``stages.run_day``: ingest with GX validation and the
day's profile, drift, performance, operations, metric-store writes, the HTML report with its charts);
``ingest``, ``drift``, ``performance``, ``operations`` and ``report`` run that stage alone, on the state the
earlier stages left (the benchmark runs ``ingest`` first). A fourth argument overrides the monitor's
``validation.engine`` (``direct``: the same checks without Great Expectations).
"""

import datetime as dt
import sys
import time

from contender_io import resident_bytes, write_json
from ours_deployment import open_deployment

from monitoring_jobs.stages import STAGES, ingest_stage, publish_stage, record_stage, run_day


def main(stage: str, day_text: str, out_path: str, engine: str | None = None) -> None:
    imports_rss = resident_bytes()
    started = time.perf_counter()
    workspace, monitor, suite = open_deployment()
    if engine is not None:
        monitor = monitor.model_copy(update={"validation": monitor.validation.model_copy(update={"engine": engine})})
    day = dt.date.fromisoformat(day_text)
    if stage == "pipeline":
        outcome = run_day(workspace, monitor, day, suite).status
    elif stage == "ingest":
        outcome = f"{len(ingest_stage(workspace, monitor, day, suite).blocking)} blocking check(s) failed"
    elif stage == "report":
        outcome = publish_stage(workspace, monitor, day).status
    else:
        outcome = f"{record_stage(workspace, monitor, day, stage, STAGES[stage](workspace, monitor, day))} rows"
    write_json(out_path, {"stage": stage, "outcome": outcome, "validation_engine": monitor.validation.engine,
                          "rss": {"imports": imports_rss}, "seconds": {"work": time.perf_counter() - started}})


if __name__ == "__main__":
    main(*sys.argv[1:])
