"""The benchmarks in smoke mode, so they never rot: each runs end to end, and the drift one agrees with Evidently.

Timings are not asserted (they mean nothing at smoke sizes on a shared machine); what is checked is
that every contender ran at every size, the table and the CSV hold the same figures, that our pipeline
really judged the generated day, and, where Evidently ran, that every feature got the same method and
verdict from both.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from bench.backfill import DAYS as BACKFILL_DAYS
from bench.backfill import FIRST_DAY as FIRST_BACKFILL_DAY
from bench.backfill import SMOKE_ROWS as BACKFILL_SMOKE_ROWS
from bench.backfill import backfill_folder
from bench.drift import CATEGORICAL, NUMERIC, SMOKE_ROWS, compare_with_evidently
from bench.logs import DAY, benchmark_workspace
from bench.pipeline import CONTENDERS as PIPELINE_CONTENDERS
from bench.pipeline import SMOKE_ROWS as PIPELINE_SMOKE_ROWS
from monitoring_jobs.metric_store import MetricStore
from tests.conftest import REPO


def run_smoke(tmp_path: Path, *contenders: str, benchmark: str = "drift") -> tuple[str, list[dict], Path]:
    """``python -m bench <benchmark> --smoke`` into ``tmp_path``: its table, its CSV rows and its output folder."""
    run = subprocess.run([sys.executable, "-m", "bench", benchmark, "--smoke", "--contenders", *contenders,
                          "--data-dir", str(tmp_path / "data"), "--results-dir", str(tmp_path / "results")],
                         cwd=REPO, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    (csv_path,) = (tmp_path / "results").glob(f"{benchmark}-*.csv")
    with open(csv_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return run.stdout, rows, csv_path.with_suffix("")


def test_smoke_runs_ours_at_every_size(tmp_path):
    table, rows, outputs = run_smoke(tmp_path, "ours", "ours+multivariate")
    assert [(row["contender"], int(row["rows_per_day"])) for row in rows] == \
        [(name, size) for size in SMOKE_ROWS for name in ("ours", "ours+multivariate")]
    for row in rows:
        assert float(row["wall_s"]) > float(row["drift_s"]) > 0
        assert float(row["peak_rss_mb"]) > float(row["imports_rss_mb"]) > 0 and float(row["arrow_mb"]) > 0
        assert row["same_decisions"] == "" and row["speedup_vs_evidently"] == ""  # no Evidently, no comparison
        assert f"| {row['contender']} | {int(row['rows_per_day']):,} | {float(row['wall_s']):.2f} |" in table
    for size in SMOKE_ROWS:
        decisions = json.loads((outputs / f"ours-{size}.json").read_text())
        assert set(decisions["columns"]) == set(NUMERIC) | set(CATEGORICAL)
        drifted = [column["drifted"] for column in decisions["columns"].values()]
        assert 0 < sum(drifted) < len(drifted)  # both verdicts occur, so agreement with a peer means something
        with_pca = json.loads((outputs / f"ours+multivariate-{size}.json").read_text())
        assert with_pca["columns"] == decisions["columns"] and with_pca["multivariate_drift"] is not None


def test_smoke_agrees_with_evidently(tmp_path, evidently_python):
    table, rows, outputs = run_smoke(tmp_path, "ours", "evidently")
    ours = [row for row in rows if row["contender"] == "ours"]
    assert [int(row["rows_per_day"]) for row in ours] == list(SMOKE_ROWS)
    for row in ours:
        size = row["rows_per_day"]
        agreement = compare_with_evidently(json.loads((outputs / f"ours-{size}.json").read_text()),
                                           json.loads((outputs / f"evidently-{size}.json").read_text()))
        assert agreement.same, agreement.differences
        assert agreement.compared == len(NUMERIC) + len(CATEGORICAL)
        assert row["same_decisions"] == "True" and float(row["speedup_vs_evidently"]) > 0
        assert f"yes ({agreement.compared} features)" in table


def test_decisions_that_differ_are_named():
    evidently = {"columns": {"x": {"method": "Wasserstein distance (normed)", "threshold": 0.1, "score": 0.12,
                                   "drifted": True},
                             "c": {"method": "Jensen-Shannon distance", "threshold": 0.1, "score": 0.01,
                                   "drifted": False}},
                 "share": 0.5, "dataset_drift": True}
    ours = {"columns": {"x": {"method": "wasserstein", "threshold": 0.1, "score": 0.09, "drifted": False},
                        "c": {"method": "psi", "threshold": 0.2, "score": 0.01, "drifted": False}},
            "share": 0.0, "dataset_drift": False}
    agreement = compare_with_evidently(ours, evidently)
    assert not agreement.same
    assert agreement.differences == ["x: drifted=False here, True in Evidently (0.09 vs 0.12)",
                                     "c: method psi here, jensenshannon in Evidently",
                                     "dataset drift: False here, True in Evidently"]
    assert agreement.max_score_difference == 0.12 - 0.09


def test_pipeline_smoke_runs_every_stage_of_ours_and_dagster(tmp_path):
    ours = [name for name in PIPELINE_CONTENDERS if name.startswith(("scan", "ours"))]
    table, rows, outputs = run_smoke(tmp_path, *ours, benchmark="pipeline")
    assert [row["method"] for row in rows] == ours
    for row in rows:
        assert int(row["rows"]) == PIPELINE_SMOKE_ROWS[0] and float(row["wall_s"]) > 0
        assert float(row["peak_rss_mb"]) > 0 and float(row["x_scan_floor"]) > 0
        assert f"| {row['method']} | {int(row['rows']):,} | {float(row['wall_s']):.2f} |" in table
    assert next(row for row in rows if row["method"] == "ours-drift-only")["same_decisions_as_evidently"] == ""
    for stage in ("pipeline", "pipeline-direct"):
        result = json.loads((outputs / f"ours-{stage}-{PIPELINE_SMOKE_ROWS[0]}.json").read_text())
        assert result["outcome"] in {"ok", "warn", "error"}, result  # the day's status: every stage ran
    assert json.loads((outputs / f"ours-ingest-direct-{PIPELINE_SMOKE_ROWS[0]}.json").read_text())[
        "validation_engine"] == "direct"
    workspace = benchmark_workspace(PIPELINE_SMOKE_ROWS[0], 0, tmp_path / "data")
    store = MetricStore(f"sqlite:///{workspace.home / '.state' / 'metrics.db'}")
    drift = store.read("drift", "bench", DAY, DAY)
    assert set(NUMERIC) | set(CATEGORICAL) <= set(drift["feature"].dropna())  # the generated features were judged
    assert (workspace.home / "reports" / "bench" / DAY.isoformat() / "index.html").is_file()


def test_pipeline_smoke_runs_the_peers(tmp_path, evidently_python, nannyml_python):
    table, rows, outputs = run_smoke(tmp_path, "evidently-drift", "evidently", "nannyml", "ours-drift-only",
                                     benchmark="pipeline")
    by_method = {row["method"]: row for row in rows}
    assert set(by_method) == {"scan-floor", "evidently-drift", "evidently", "nannyml", "ours-drift-only"}
    assert by_method["ours-drift-only"]["same_decisions_as_evidently"] == "yes"
    assert float(by_method["nannyml"]["evidently_over_this"]) > 0
    size = PIPELINE_SMOKE_ROWS[0]
    nannyml = json.loads((outputs / f"nannyml-{size}.json").read_text())
    assert set(nannyml["columns"]) == set(NUMERIC) | set(CATEGORICAL)
    assert 0.5 < nannyml["performance"]["roc_auc"] < 1.0  # the generated score carries signal
    evidently = json.loads((outputs / f"evidently-{size}.json").read_text())
    assert (outputs / f"evidently-{size}.html").stat().st_size > 0 and evidently["values"]


def test_backfill_smoke_runs_thirty_days_with_a_rolling_reference(tmp_path):
    table, rows, outputs = run_smoke(tmp_path, "ours-backfill", benchmark="backfill")
    (row,) = rows
    assert int(row["days"]) == BACKFILL_DAYS and float(row["wall_s"]) > float(row["one_day_s"]) > 0
    assert f"| ours-backfill | {BACKFILL_SMOKE_ROWS[0]:,} | {BACKFILL_DAYS} |" in table
    result = json.loads((outputs / f"ours-backfill-{BACKFILL_SMOKE_ROWS[0]}.json").read_text())
    assert len(result["statuses"]) == len(result["per_day_s"]) == BACKFILL_DAYS
    home = backfill_folder(BACKFILL_SMOKE_ROWS[0], 0, tmp_path / "data")
    store = MetricStore(f"sqlite:///{home / '.state' / 'metrics.db'}")
    last = FIRST_BACKFILL_DAY + dt.timedelta(BACKFILL_DAYS - 1)
    drift = store.read("drift", "bench", last, last)
    assert set(NUMERIC) <= set(drift["feature"].dropna())  # judged against the merged profiles of earlier days
    assert len(list((home / ".state" / "profiles" / "bench").glob("*.json"))) == BACKFILL_DAYS
