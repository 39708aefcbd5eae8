"""Drift benchmark: our ``compute_drift`` against Evidently's ``DataDriftPreset`` on the same two days.

Per size, a seeded reference day and current day (10 numeric features of mixed shapes, 5 categorical
ones of 3 to 50 values, a few of them shifted in the current day) are written once as parquet under
``bench/.data/``. Each contender then runs as a whole separate process (read both files, judge every
feature, write the decisions as JSON), ``repeat`` times, interleaved so that load from other work on
the machine hits every contender alike; the table holds the medians. Contenders:

- ``ours``: the drift engine with Evidently's rules (``auto``, no multiple-testing correction), the
  same work as Evidently;
- ``ours+multivariate``: the same plus the PCA reconstruction error, which Evidently does not compute;
- ``evidently``: Evidently 0.7 ``Report([DataDriftPreset()]).run`` in its own venv, without HTML.

Every contender's per-feature method and verdict are compared with Evidently's.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench import CONTENDERS_DIR
from bench.measure import (
    MB,
    ProcessRun,
    contender_pythons,
    generated_apart,
    machine,
    median_run,
    process_environment,
    run_process,
    write_csv,
)
from bench.peers import EVIDENTLY, EVIDENTLY_METHODS, Peer

GENERATOR_VERSION = 1
"""Part of the data folder's name: change it when the generator changes, so stale files are not reused."""
DRIFT_SHARE = 0.5
SMOKE_ROWS = (800, 5000)
"""Smoke sizes: a reference of at most 1000 values is judged by tests (KS, chi-square), a larger one by distances."""


# --- data ----------------------------------------------------------------------------------------

def _mixture(rng: np.random.Generator, rows: int, share_high: float) -> np.ndarray:
    high = rng.random(rows) < share_high
    return np.where(high, rng.normal(3.0, 1.0, rows), rng.normal(-3.0, 1.0, rows))


def _with_nulls(values: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    values[rng.random(values.size) < share] = np.nan
    return values


def _zipf(values: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, values + 1)
    return weights / weights.sum()


NumericColumn = Callable[[np.random.Generator, int, bool], np.ndarray]
NUMERIC: dict[str, NumericColumn] = {  # (rng, rows, is the current day) -> values
    "normal_shifted": lambda rng, rows, current: rng.normal(0.15 if current else 0.0, 1.0, rows),
    "normal": lambda rng, rows, current: rng.normal(50.0, 10.0, rows),
    "lognormal": lambda rng, rows, current: rng.lognormal(3.0, 0.6, rows),
    "lognormal_nudged": lambda rng, rows, current: rng.lognormal(0.0, 0.5, rows) * (1.05 if current else 1.0),
    "uniform": lambda rng, rows, current: rng.uniform(0.0, 100.0, rows),
    "bimodal_reweighted": lambda rng, rows, current: _mixture(rng, rows, 0.6 if current else 0.5),
    "counts": lambda rng, rows, current: rng.poisson(4.0, rows),
    "few_values": lambda rng, rows, current: rng.choice(4, rows, p=[0.35, 0.3, 0.2, 0.15] if current
                                                        else [0.4, 0.3, 0.2, 0.1]),
    "exponential_with_nulls": lambda rng, rows, current: _with_nulls(rng.exponential(10.0, rows), rng, 0.05),
    "heavy_tailed": lambda rng, rows, current: rng.standard_t(3, rows),
}


@dataclass(frozen=True)
class CategoricalColumn:
    reference_shares: np.ndarray
    current_shares: np.ndarray
    unseen_in_current: float = 0.0
    """Share of the current day taken by a category the reference never saw."""


CATEGORICAL: dict[str, CategoricalColumn] = {
    "cat3": CategoricalColumn(np.array([0.5, 0.3, 0.2]), np.array([0.5, 0.3, 0.2])),
    "cat5_shifted": CategoricalColumn(np.array([0.3, 0.25, 0.2, 0.15, 0.1]), np.array([0.15, 0.2, 0.2, 0.2, 0.25])),
    "cat10": CategoricalColumn(np.full(10, 0.1), np.full(10, 0.1)),
    "cat20_new_value": CategoricalColumn(_zipf(20), _zipf(20), unseen_in_current=0.01),
    "cat50": CategoricalColumn(_zipf(50), np.roll(_zipf(50), 1) * 0.2 + _zipf(50) * 0.8),
}


def _categorical(rng: np.random.Generator, column: CategoricalColumn, rows: int, current: bool) -> pa.Array:
    shares = column.current_shares if current else column.reference_shares
    labels = [f"v{index:02d}" for index in range(shares.size)]  # short codes, as logs often hold
    if current and column.unseen_in_current:
        shares = np.append(shares * (1 - column.unseen_in_current), column.unseen_in_current)
        labels.append("new")
    codes = rng.choice(shares.size, rows, p=shares).astype(np.int32)
    return pa.DictionaryArray.from_arrays(codes, pa.array(labels)).dictionary_decode()  # plain strings


def generate_day(rows: int, seed: int, current: bool) -> pa.Table:
    """One day of ``rows`` rows: the numeric features, then the categorical ones (as strings)."""
    rng = np.random.default_rng([seed, rows, int(current)])
    columns = {name: pa.array(make(rng, rows, current)) for name, make in NUMERIC.items()}
    columns |= {name: _categorical(rng, column, rows, current) for name, column in CATEGORICAL.items()}
    return pa.table(columns)


@dataclass(frozen=True)
class Days:
    rows: int
    reference: Path
    current: Path
    arrow_bytes: int
    """Both days' size as Arrow tables in memory, the yardstick for peak memory."""


def benchmark_days(rows: int, seed: int, data_dir: Path) -> Days:
    """The reference and current day of ``rows`` rows each, generated on first use and reused after."""
    folder = data_dir / f"drift-{rows}-seed{seed}-v{GENERATOR_VERSION}"
    meta = folder / "meta.json"
    if not meta.exists():  # written last: its presence means both files are complete
        folder.mkdir(parents=True, exist_ok=True)
        arrow_bytes = 0
        for name, current in (("reference", False), ("current", True)):
            table = generate_day(rows, seed, current)
            arrow_bytes += table.nbytes
            pq.write_table(table, folder / f"{name}.parquet.tmp")
            os.replace(folder / f"{name}.parquet.tmp", folder / f"{name}.parquet")
        meta.write_text(json.dumps({"rows": rows, "seed": seed, "arrow_bytes": arrow_bytes}))
    return Days(rows, folder / "reference.parquet", folder / "current.parquet",
                json.loads(meta.read_text())["arrow_bytes"])


# --- contenders ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Contender:
    name: str
    script: Path
    peer: Peer | None = None
    """None: runs in the project's venv (the Python running the benchmark)."""
    multivariate: bool = False


CONTENDERS = {contender.name: contender for contender in (
    Contender("ours", CONTENDERS_DIR / "ours_drift.py"),
    Contender("ours+multivariate", CONTENDERS_DIR / "ours_drift.py", multivariate=True),
    Contender("evidently", EVIDENTLY.script, peer=EVIDENTLY),
)}
BASELINE = "evidently"


# --- decisions -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Agreement:
    compared: int
    differences: list[str]
    max_score_difference: float
    """Largest absolute difference of a column's decision figure (p-value or distance)."""

    @property
    def same(self) -> bool:
        return not self.differences


def compare_with_evidently(ours: dict, evidently: dict) -> Agreement:
    """Same columns, same method (by Evidently's display name), same verdict per column and for the dataset."""
    differences = [f"{name}: only in {side}" for side, columns, other in (("ours", ours, evidently),
                                                                          ("evidently", evidently, ours))
                   for name in columns["columns"] if name not in other["columns"]]
    score_differences = [0.0]
    for name, theirs in evidently["columns"].items():
        mine = ours["columns"].get(name)
        if mine is None:
            continue
        method = EVIDENTLY_METHODS.get(theirs["method"], theirs["method"])
        if mine["method"] != method:
            differences.append(f"{name}: method {mine['method']} here, {method} in Evidently")
        if mine["drifted"] != theirs["drifted"]:
            differences.append(f"{name}: drifted={mine['drifted']} here, {theirs['drifted']} in Evidently "
                               f"({mine['score']:.6g} vs {theirs['score']:.6g})")
        score_differences.append(abs(mine["score"] - theirs["score"]))
    if ours["dataset_drift"] != evidently["dataset_drift"]:
        differences.append(f"dataset drift: {ours['dataset_drift']} here, {evidently['dataset_drift']} in Evidently")
    return Agreement(len(evidently["columns"]), differences, max(score_differences))


# --- the run -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Result:
    contender: str
    days: Days
    runs: list[ProcessRun]
    outputs: list[dict]
    """Each run's JSON: decisions, ``seconds`` inside the process (reading, the drift computation) and
    ``rss`` (resident bytes after the imports and after reading)."""

    @property
    def decisions(self) -> dict:
        return self.outputs[-1]

    @property
    def median(self) -> ProcessRun:
        return median_run(self.runs)

    def median_inside(self, part: str) -> float:
        return statistics.median(output["seconds"][part] for output in self.outputs)

    def median_rss(self, after: str) -> int:
        return int(statistics.median(output["rss"][after] for output in self.outputs))

    @property
    def rows_per_second(self) -> float:
        """Rows of both days per second of the whole process."""
        return 2 * self.days.rows / self.median.wall_s


def run_benchmark(rows: list[int], repeats: int, names: list[str], seed: int, data_dir: Path,
                  results_dir: Path, build_peers: bool = True) -> Path:
    """Measure every contender at every size; print the table and return the CSV written under ``results_dir``."""
    pythons = contender_pythons({name: CONTENDERS[name].peer for name in names}, build_peers, "drift")
    started = dt.datetime.now().astimezone()
    out_dir = results_dir / f"drift-{started:%Y%m%d-%H%M%S}"
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = {"numerical": list(NUMERIC), "categorical": list(CATEGORICAL), "drift_share": DRIFT_SHARE}
    results: list[Result] = []
    for size in rows:
        days = generated_apart(benchmark_days, size, seed, data_dir)
        print(f"{size:,} rows per day: Arrow size {days.arrow_bytes / MB:,.1f} MB (both days)", file=sys.stderr)
        runs: dict[str, list[ProcessRun]] = {name: [] for name in pythons}
        outputs: dict[str, list[dict]] = {name: [] for name in pythons}
        for repeat in range(repeats):
            for name, python in pythons.items():  # interleaved: load from elsewhere hits every contender alike
                contender = CONTENDERS[name]
                stem = out_dir / f"{name}-{size}"
                spec_path = stem.with_suffix(".spec.json")
                spec_path.write_text(json.dumps(spec | {"multivariate": contender.multivariate}))
                run = run_process([str(python), str(contender.script), str(days.reference), str(days.current),
                                   str(spec_path), str(stem.with_suffix(".json"))],
                                  stem.with_suffix(".log"), env=process_environment(contender.peer),
                                  warm=(days.reference, days.current))
                runs[name].append(run)
                outputs[name].append(json.loads(stem.with_suffix(".json").read_text()))
                print(f"  {name} run {repeat + 1}/{repeats}: {run.wall_s:.2f} s, "
                      f"{run.peak_rss_bytes / MB:,.0f} MB", file=sys.stderr)
        results += [Result(name, days, runs[name], outputs[name]) for name in pythons]
    csv_path = results_dir / f"{out_dir.name}.csv"
    rows_out = _table_rows(results, repeats, started)
    write_csv(rows_out, csv_path)
    print(render_table(rows_out))
    print(f"\n{machine()}\nCSV: {csv_path}\ndecisions, specs and logs: {out_dir}")
    return csv_path


def _table_rows(results: list[Result], repeats: int, started: dt.datetime) -> list[dict]:
    baselines = {result.days.rows: result for result in results if result.contender == BASELINE}
    rows = []
    for result in results:
        baseline = None if result.contender == BASELINE else baselines.get(result.days.rows)
        agreement = None if baseline is None else compare_with_evidently(result.decisions, baseline.decisions)
        median = result.median
        rows.append({
            "started": started.isoformat(timespec="seconds"),
            "contender": result.contender,
            "rows_per_day": result.days.rows,
            "repeats": repeats,
            "wall_s": round(median.wall_s, 3),
            "wall_s_min": round(min(run.wall_s for run in result.runs), 3),
            "wall_s_max": round(max(run.wall_s for run in result.runs), 3),
            "read_s": round(result.median_inside("read"), 3),
            "drift_s": round(result.median_inside("drift"), 3),
            "rows_per_s": round(result.rows_per_second),
            "peak_rss_mb": round(median.peak_rss_bytes / MB, 1),
            "imports_rss_mb": round(result.median_rss("imports") / MB, 1),
            "read_rss_mb": round(result.median_rss("read") / MB, 1),
            "arrow_mb": round(result.days.arrow_bytes / MB, 1),
            "rss_to_arrow": round(median.peak_rss_bytes / result.days.arrow_bytes, 2),
            "rss_above_imports_to_arrow": round((median.peak_rss_bytes - result.median_rss("imports"))
                                                / result.days.arrow_bytes, 2),
            "speedup_vs_evidently": "" if baseline is None else round(baseline.median.wall_s / median.wall_s, 2),
            "same_decisions": "" if agreement is None else agreement.same,
            "columns_compared": "" if agreement is None else agreement.compared,
            "differences": "" if agreement is None else "; ".join(agreement.differences),
            "max_score_difference": "" if agreement is None else f"{agreement.max_score_difference:.3g}",
            "load_average_1m": round(median.load_average, 2),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "evidently": result.decisions.get("version", ""),
        })
    return rows


def render_table(rows: list[dict]) -> str:
    """The table as GitHub markdown (readable in a terminal too)."""
    header = ["method", "rows/day", "wall s", "drift s", "rows/s", "peak RSS MB", "after imports MB", "RSS / Arrow",
              "(RSS - imports) / Arrow", "speed vs Evidently", "same decisions", "load avg"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    for row in rows:
        speedup = f"{row['speedup_vs_evidently']:.1f}x" if row["speedup_vs_evidently"] != "" else "-"
        same = "-" if row["same_decisions"] == "" else \
            f"{'yes' if row['same_decisions'] else 'NO'} ({row['columns_compared']} features)"
        cells = [row["contender"], f"{row['rows_per_day']:,}", f"{row['wall_s']:.2f}", f"{row['drift_s']:.2f}",
                 f"{row['rows_per_s']:,}", f"{row['peak_rss_mb']:,.0f}", f"{row['imports_rss_mb']:,.0f}",
                 f"{row['rss_to_arrow']:.2f}", f"{row['rss_above_imports_to_arrow']:.2f}", speedup, same,
                 f"{row['load_average_1m']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    arrow = {row["rows_per_day"]: row["arrow_mb"] for row in rows}
    lines.append("\nArrow size of both days: " + ", ".join(f"{mb:,.1f} MB at {size:,} rows per day"
                                                           for size, mb in arrow.items()))
    differences = [f"{row['contender']} at {row['rows_per_day']:,} rows: {row['differences']}"
                   for row in rows if row["differences"]]
    if differences:
        lines.append("Decisions that differ from Evidently's:\n  " + "\n  ".join(differences))
    return "\n".join(lines)
