"""Our ``auto`` drift decisions against Evidently's own on the same data.

Evidently 0.7.x pins versions this project's venv cannot share, so it lives in a venv of its own,
``bench/.venvs/evidently``, shared with the benchmark and built on first use by the ``evidently_python``
fixture (conftest). ``bench/contenders/evidently_drift.py`` runs Evidently's ``DataDriftPreset`` there on
the same parquet files and writes its per-column method, score and decision as JSON.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.peers import EVIDENTLY, EVIDENTLY_METHODS
from monitoring_jobs.drift import compute_drift
from tests.helpers import build_monitor

NUMERIC = ["wide", "shifted", "nudged", "with_nulls", "few_values", "zero_one"]
CATEGORICAL = ["colour", "colour_moved", "yes_no", "with_new_value"]


def drift_frames(reference_rows: int, current_rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Columns for every branch of the default rules: clearly drifted, borderline, stable, few-valued,
    two-valued, with nulls and with a category the reference never saw."""
    rng = np.random.default_rng(seed)

    def frame(rows: int, current: bool) -> pd.DataFrame:
        shift = 1.0 if current else 0.0
        with_nulls = rng.normal(10, 2, rows)
        with_nulls[rng.random(rows) < 0.1] = np.nan
        colours = ["red", "green", "blue", "grey"]
        new_value = rng.choice(["a", "b", "c", "new"] if current else ["a", "b", "c"], rows)
        return pd.DataFrame({
            "wide": rng.normal(100, 15, rows),
            "shifted": rng.normal(50 + 4 * shift, 10, rows),
            "nudged": rng.lognormal(0.1 * shift, 0.5, rows),
            "with_nulls": with_nulls,
            "few_values": rng.choice([0.0, 1.0, 2.0, 3.0], rows, p=[0.4, 0.3, 0.2, 0.1] if not current
                                     else [0.35, 0.3, 0.2, 0.15]),
            "zero_one": rng.binomial(1, 0.3 + 0.04 * shift, rows).astype(float),
            "colour": rng.choice(colours, rows, p=[0.4, 0.3, 0.2, 0.1]),
            "colour_moved": rng.choice(colours, rows, p=[0.25, 0.3, 0.3, 0.15] if current else [0.4, 0.3, 0.2, 0.1]),
            "yes_no": rng.choice(["yes", "no"], rows, p=[0.6, 0.4] if not current else [0.55, 0.45]),
            "with_new_value": new_value,
            "score": rng.uniform(size=rows),
        })

    return frame(reference_rows, False), frame(current_rows, True)


def evidently_decisions(python: Path, reference: pd.DataFrame, current: pd.DataFrame, folder: Path) -> dict:
    reference.to_parquet(folder / "reference.parquet")
    current.to_parquet(folder / "current.parquet")
    (folder / "spec.json").write_text(json.dumps({"numerical": NUMERIC, "categorical": CATEGORICAL,
                                                  "drift_share": 0.5}))
    files = [str(folder / name) for name in ("reference.parquet", "current.parquet", "spec.json", "evidently.json")]
    run = subprocess.run([str(python), str(EVIDENTLY.script), *files], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"{EVIDENTLY.script.name} failed:\n{run.stderr}"
    return json.loads((folder / "evidently.json").read_text())


@pytest.mark.parametrize("reference_rows, current_rows, seed", [(800, 600, 1), (5000, 2000, 2)],
                         ids=["small reference: tests", "large reference: distances"])
def test_auto_decisions_and_statistics_match_evidently(evidently_python, tmp_path, reference_rows, current_rows,
                                                       seed):
    reference, current = drift_frames(reference_rows, current_rows, seed)
    theirs = evidently_decisions(evidently_python, reference, current, tmp_path)
    columns = {"score": "score", "numeric_features": NUMERIC, "categorical_features": CATEGORICAL}
    monitor = build_monitor(columns=columns, drift={"multiple_testing": "none", "multivariate": {"enabled": False}})
    ours = {feature.feature: feature for feature in compute_drift(reference, current, monitor).features}
    for name, peer in theirs["columns"].items():
        feature = ours[name]
        assert feature.method == EVIDENTLY_METHODS[peer["method"]], name
        assert feature.threshold == peer["threshold"], name
        assert feature.decision_value == pytest.approx(peer["score"], rel=1e-9, abs=1e-300), name
        assert feature.drifted == peer["drifted"], name
    decisions = [feature.drifted for feature in ours.values()]
    assert 0 < sum(decisions) < len(decisions)  # the data has both verdicts, so agreement means something
    report = compute_drift(reference, current, monitor)
    assert report.drifted_share == pytest.approx(theirs["share"]) and report.dataset_drift == theirs["dataset_drift"]
