"""Backfill benchmark: 30 consecutive days of a rolling-reference monitor through the daily pipeline (no
Dagster), oldest first, in one process, against the cost of one of those days.

Each day's drift reference is the merge of the previous 7 days' stored profiles, never their logs, so a day
should cost the same whether it is the 8th or the 30th: the backfill should take about 30 times one day.
The table gives the whole process's wall time, the median day (timed inside it), their ratio, and the mean
of the last 5 days over the mean of days 8 to 12 (the first days with a full 7-day window): 1.0 is linear.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from bench import CONTENDERS_DIR
from bench.logs import MODEL, generate_logs, monitor_config, write_parquet
from bench.measure import (
    MB,
    ProcessRun,
    generated_apart,
    machine,
    median_run,
    process_environment,
    run_process,
    write_csv,
)

GENERATOR_VERSION = 1
DAYS = 30
WINDOW_DAYS = 7
FIRST_DAY = dt.date(2026, 2, 1)
SMOKE_ROWS = (1000,)


@dataclass(frozen=True)
class Contender:
    name: str
    days: int


CONTENDERS = {"ours-backfill": Contender("ours-backfill", DAYS)}


def backfill_folder(rows: int, seed: int, data_dir: Path) -> Path:
    """``DAYS`` days of logs and labels with a rolling-reference monitor, generated once (``meta.json`` last)."""
    home = data_dir / f"backfill-{rows}-seed{seed}-v{GENERATOR_VERSION}"
    if not (home / "meta.json").exists():
        for offset in range(DAYS):
            day = FIRST_DAY + dt.timedelta(offset)
            logs = generate_logs(rows, seed * 1000 + offset, current=False, day=day)
            folder = home / "data" / MODEL
            partition = f"dt={day.isoformat()}/part-0000.parquet"
            write_parquet(logs.drop_columns(["label"]), folder / "inference" / partition)
            write_parquet(logs.select(["request_id", "label"]), folder / "labels" / partition)
        config = monitor_config(rows) | {"start_date": FIRST_DAY.isoformat(),
                                         "reference": {"kind": "rolling", "window_days": WINDOW_DAYS}}
        (home / "monitors").mkdir(parents=True, exist_ok=True)
        (home / "monitors" / f"{MODEL}.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        (home / "meta.json").write_text(json.dumps({"rows": rows, "seed": seed, "days": DAYS}))
    return home


def run_benchmark(rows: list[int], repeats: int, names: list[str], seed: int, data_dir: Path,
                  results_dir: Path, build_peers: bool = True) -> Path:
    started = dt.datetime.now().astimezone()
    out_dir = results_dir / f"backfill-{started:%Y%m%d-%H%M%S}"
    out_dir.mkdir(parents=True, exist_ok=True)
    table = []
    for size in rows:
        home = generated_apart(backfill_folder, size, seed, data_dir)
        env = process_environment(None, MONITORING_HOME=str(home), MONITORING_MONITORS_DIR=str(home / "monitors"),
                                  MONITORING_SUITES_DIR=str(home / "suites"))
        for name in names:
            runs: list[ProcessRun] = []
            outputs: list[dict] = []
            for repeat in range(repeats):
                for folder in (".state", "reports"):  # every run is a whole backfill from nothing
                    shutil.rmtree(home / folder, ignore_errors=True)
                out = out_dir / f"{name}-{size}.json"
                runs.append(run_process([sys.executable, str(CONTENDERS_DIR / "ours_backfill.py"),
                                         FIRST_DAY.isoformat(), str(CONTENDERS[name].days), str(out)],
                                        out.with_suffix(".log"), env=env, warm=(home / "data",)))
                outputs.append(json.loads(out.read_text()))
                print(f"  {name} {size:,} rows x {DAYS} days, run {repeat + 1}/{repeats}: {runs[-1].wall_s:.1f} s",
                      file=sys.stderr)
            table.append(_row(name, size, runs, outputs, started))
    csv_path = results_dir / f"{out_dir.name}.csv"
    write_csv(table, csv_path)
    print(render_table(table))
    print(f"\n{machine()}\nCSV: {csv_path}\noutputs and logs: {out_dir}")
    return csv_path


def _row(name: str, size: int, runs: list[ProcessRun], outputs: list[dict], started: dt.datetime) -> dict:
    per_day = np.median([output["per_day_s"] for output in outputs], axis=0)  # each day's median over the runs
    one_day = float(statistics.median(per_day[WINDOW_DAYS:]))
    early = float(per_day[WINDOW_DAYS:WINDOW_DAYS + 5].mean())
    median = median_run(runs)
    return {"started": started.isoformat(timespec="seconds"), "method": name, "rows_per_day": size, "days": DAYS,
            "repeats": len(runs), "wall_s": round(median.wall_s, 2), "one_day_s": round(one_day, 3),
            "wall_over_one_day": round(median.wall_s / one_day, 1),
            "last_5_over_days_8_to_12": round(float(per_day[-5:].mean()) / early, 3),
            "peak_rss_mb": round(median.peak_rss_bytes / MB, 1), "statuses": " ".join(outputs[-1]["statuses"]),
            "per_day_s": " ".join(f"{value:.2f}" for value in per_day), "cpus": os.cpu_count(),
            "load_average_1m": round(median.load_average, 2)}


def render_table(rows: list[dict]) -> str:
    header = ["method", "rows/day", "days", "wall s", "one day s (median)", "wall / one day",
              "last 5 days / days 8-12", "peak RSS MB"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    for row in rows:
        lines.append("| " + " | ".join([row["method"], f"{row['rows_per_day']:,}", str(row["days"]),
                                        f"{row['wall_s']:.1f}", f"{row['one_day_s']:.2f}",
                                        f"{row['wall_over_one_day']:.1f}", f"{row['last_5_over_days_8_to_12']:.2f}",
                                        f"{row['peak_rss_mb']:,.0f}"]) + " |")
    return "\n".join(lines)
