"""Pipeline benchmark: our daily pipeline, each of its stages, the same through Dagster, the scan floor and
the peers (Evidently, NannyML), on the same generated day of inference logs.

Per size, ``bench/logs.py`` writes a benchmark folder once (a monitor config, a labeled reference, one day
of logs and its labels). Every contender then runs as a whole separate process, ``repeat`` times,
interleaved so that load from other work hits all alike; the table holds the medians of wall time and peak
RSS, each also as a multiple of the scan floor and against the Evidently run doing the same work.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import CONTENDERS_DIR
from bench.drift import CATEGORICAL, DRIFT_SHARE, NUMERIC, compare_with_evidently
from bench.logs import DAY, MODEL, Workspace, benchmark_workspace
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
from bench.peers import EVIDENTLY, NANNYML, Peer

SMOKE_ROWS = (3000,)


@dataclass(frozen=True)
class Run:
    """What a contender's command needs: the benchmark folder, the spec, its Python and where to write."""

    workspace: Workspace
    spec: Path
    python: Path
    out: Path


@dataclass(frozen=True)
class Contender:
    name: str
    description: str
    command: Callable[[Run], list[str]]
    peer: Peer | None = None
    compare_with: str | None = None
    """The Evidently contender doing the same work, for the "Evidently / this" column."""


def _script(name: str, *inputs: str) -> Callable[[Run], list[str]]:
    """A contender script run on ``inputs`` (``spec`` or a file of the benchmark folder), then its output."""
    def command(run: Run) -> list[str]:
        paths = [run.spec if part == "spec" else getattr(run.workspace, part) for part in inputs]
        return [str(run.python), str(CONTENDERS_DIR / name), *map(str, paths), str(run.out)]
    return command


def _stage(stage: str, *engine: str) -> Callable[[Run], list[str]]:
    return lambda run: [str(run.python), str(CONTENDERS_DIR / "ours_pipeline.py"), stage, DAY.isoformat(),
                        str(run.out), *engine]


def _dagster(run: Run) -> list[str]:
    return [str(run.python.with_name("dagster")), "asset", "materialize", "-m", "monitoring_jobs.definitions",
            "--select", f"group:{MODEL}", "--partition", DAY.isoformat()]


DRIFT_INPUTS = ("reference_file", "day_file", "spec")
SUITE_INPUTS = ("reference_file", "day_file", "labels_file", "spec")
SCAN_FLOOR = "scan-floor"
CONTENDERS = {contender.name: contender for contender in (
    Contender(SCAN_FLOOR, "read the day's parquet into Arrow, one min/max/count pass per column",
              _script("scan_floor.py", "day_file")),
    Contender("ours-ingest", "read, GX validation, snapshot, day profile, validation metrics", _stage("ingest")),
    Contender("ours-ingest-direct", "the same with validation.engine: direct (same checks, no GX)",
              _stage("ingest", "direct")),
    Contender("ours-drift", "drift stage: auto methods, BH, multivariate PCA, vs the reference file",
              _stage("drift"), compare_with="evidently-drift"),
    Contender("ours-performance", "performance stage: label join, metrics with intervals, segments, CBPE",
              _stage("performance")),
    Contender("ours-operations", "operations stage: latency, errors, volume, confidence", _stage("operations")),
    Contender("ours-report", "HTML report with its charts, trend page and index", _stage("report")),
    Contender("ours-pipeline", "all of the above in one process (stages.run_day), no Dagster",
              _stage("pipeline"), compare_with="evidently"),
    Contender("ours-pipeline-direct", "the same with validation.engine: direct", _stage("pipeline", "direct"),
              compare_with="evidently"),
    Contender("ours-dagster", "the same through `dagster asset materialize` for one partition", _dagster,
              compare_with="evidently"),
    Contender("ours-drift-only", "compute_drift on the features with Evidently's rules (same decisions)",
              _script("ours_drift.py", *DRIFT_INPUTS), compare_with="evidently-drift"),
    Contender("evidently-drift", "Evidently 0.7 DataDriftPreset, no HTML", _script("evidently_drift.py", *DRIFT_INPUTS),
              peer=EVIDENTLY),
    Contender("evidently", "Evidently 0.7 DataDriftPreset + ClassificationPreset, with HTML",
              _script("evidently_suite.py", *SUITE_INPUTS), peer=EVIDENTLY),
    Contender("nannyml", "NannyML 0.13 univariate drift (JS, KS, chi2) + realized performance",
              _script("nannyml_suite.py", *SUITE_INPUTS), peer=NANNYML, compare_with="evidently"),
)}


def _spec() -> dict:
    return {"numerical": list(NUMERIC), "categorical": list(CATEGORICAL), "drift_share": DRIFT_SHARE,
            "multivariate": False, "request_id": "request_id", "score": "score", "label": "label",
            "decision_threshold": 0.5}


def _environment(workspace: Workspace, peer: Peer | None) -> dict[str, str]:
    """The project's processes see the benchmark folder as their whole deployment (no demo monitors)."""
    home = workspace.home
    return process_environment(peer, MONITORING_HOME=str(home), MONITORING_MONITORS_DIR=str(home / "monitors"),
                               MONITORING_SUITES_DIR=str(home / "suites"),
                               DAGSTER_HOME=str(home / ".state" / "dagster_home"))


def prepare(workspace: Workspace, python: Path, log: Path) -> None:
    """Fresh state for the folder: no earlier metrics, reports or Dagster runs, then one ingest (unmeasured),
    so a stage measured alone finds what the stages before it leave."""
    for folder in (".state", "reports"):
        shutil.rmtree(workspace.home / folder, ignore_errors=True)
    env = _environment(workspace, None)
    run_process([str(python.with_name("monitoring-jobs")), "dagster-home"], log, env=env)
    run_process(_stage("ingest")(Run(workspace, Path(), python, log.with_suffix(".json"))), log, env=env)


@dataclass(frozen=True)
class Result:
    contender: str
    workspace: Workspace
    runs: list[ProcessRun]
    outputs: list[dict]

    @property
    def median(self) -> ProcessRun:
        return median_run(self.runs)

    def inside(self, part: str) -> float | str:
        """The median seconds a part took, timed inside the process ('' if it does not report that part)."""
        seconds = [output["seconds"][part] for output in self.outputs if part in output.get("seconds", {})]
        return round(statistics.median(seconds), 3) if seconds else ""


def run_benchmark(rows: list[int], repeats: int, names: list[str], seed: int, data_dir: Path,
                  results_dir: Path, build_peers: bool = True) -> Path:
    """Measure every contender at every size; print the table and return the CSV written under ``results_dir``."""
    names = [SCAN_FLOOR, *(name for name in names if name != SCAN_FLOOR)]  # every ratio needs the floor
    pythons = contender_pythons({name: CONTENDERS[name].peer for name in names}, build_peers, "pipeline")
    started = dt.datetime.now().astimezone()
    out_dir = results_dir / f"pipeline-{started:%Y%m%d-%H%M%S}"
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = out_dir / "spec.json"
    spec.write_text(json.dumps(_spec()))
    results: list[Result] = []
    for size in rows:
        workspace = generated_apart(benchmark_workspace, size, seed, data_dir)
        print(f"{size:,} rows: the day's Arrow size {workspace.arrow_bytes / MB:,.1f} MB ({workspace.home})",
              file=sys.stderr)
        prepare(workspace, Path(sys.executable), out_dir / f"prepare-{size}.log")
        runs: dict[str, list[ProcessRun]] = {name: [] for name in pythons}
        outputs: dict[str, list[dict]] = {name: [] for name in pythons}
        for repeat in range(repeats):
            for name, python in pythons.items():
                contender = CONTENDERS[name]
                stem = out_dir / f"{name}-{size}"
                out = stem.with_suffix(".json")
                out.unlink(missing_ok=True)
                run = run_process(contender.command(Run(workspace, spec, python, out)), stem.with_suffix(".log"),
                                  env=_environment(workspace, contender.peer), warm=(workspace.home,))
                runs[name].append(run)
                outputs[name].append(json.loads(out.read_text()) if out.exists() else {})
                print(f"  {name} run {repeat + 1}/{repeats}: {run.wall_s:.2f} s, {run.peak_rss_bytes / MB:,.0f} MB",
                      file=sys.stderr)
        results += [Result(name, workspace, runs[name], outputs[name]) for name in pythons]
    table = table_rows(results, repeats, started)
    csv_path = results_dir / f"{out_dir.name}.csv"
    write_csv(table, csv_path)
    print(render_table(table))
    print(f"\n{machine()}\nCSV: {csv_path}\noutputs and logs: {out_dir}")
    return csv_path


def table_rows(results: list[Result], repeats: int, started: dt.datetime) -> list[dict]:
    by_key = {(result.contender, result.workspace.rows): result for result in results}
    rows = []
    for result in results:
        size, median = result.workspace.rows, result.median
        floor = by_key[(SCAN_FLOOR, size)].median
        baseline_name = CONTENDERS[result.contender].compare_with
        baseline = by_key.get((baseline_name, size))
        same = ""
        if result.contender == "ours-drift-only" and baseline is not None:
            agreement = compare_with_evidently(result.outputs[-1], baseline.outputs[-1])
            same = "yes" if agreement.same else "NO: " + "; ".join(agreement.differences)
        rows.append({
            "started": started.isoformat(timespec="seconds"),
            "method": result.contender,
            "what": CONTENDERS[result.contender].description,
            "rows": size,
            "repeats": repeats,
            "wall_s": round(median.wall_s, 3),
            "wall_s_min": round(min(run.wall_s for run in result.runs), 3),
            "wall_s_max": round(max(run.wall_s for run in result.runs), 3),
            "work_s": result.inside("work"),
            "rows_per_s": round(size / median.wall_s),
            "peak_rss_mb": round(median.peak_rss_bytes / MB, 1),
            "imports_rss_mb": round(statistics.median(output.get("rss", {}).get("imports", 0)
                                                      for output in result.outputs) / MB, 1),
            "arrow_mb": round(result.workspace.arrow_bytes / MB, 1),
            "rss_to_arrow": round(median.peak_rss_bytes / result.workspace.arrow_bytes, 2),
            "x_scan_floor": round(median.wall_s / floor.wall_s, 2),
            "evidently_baseline": baseline_name if baseline is not None else "",
            "evidently_over_this": round(baseline.median.wall_s / median.wall_s, 2) if baseline is not None else "",
            "same_decisions_as_evidently": same,
            "load_average_1m": round(median.load_average, 2),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "peer_version": result.outputs[-1].get("version", ""),
        })
    return rows


def render_table(rows: list[dict]) -> str:
    """The table as GitHub markdown (readable in a terminal too)."""
    header = ["method", "rows", "wall s", "rows/s", "peak RSS MB", "x scan floor", "Evidently / this",
              "same decisions", "load avg"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    for row in rows:
        versus = f"{row['evidently_over_this']:.1f}x ({row['evidently_baseline']})" \
            if row["evidently_over_this"] != "" else "-"
        same = row["same_decisions_as_evidently"]
        cells = [row["method"], f"{row['rows']:,}", f"{row['wall_s']:.2f}", f"{row['rows_per_s']:,}",
                 f"{row['peak_rss_mb']:,.0f}", f"{row['x_scan_floor']:.2f}", versus,
                 "-" if not same else same if same == "yes" else "NO (see CSV)", f"{row['load_average_1m']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("\n" + "\n".join(f"- {name}: {contender.description}" for name, contender in CONTENDERS.items()
                                  if any(row["method"] == name for row in rows)))
    return "\n".join(lines)
