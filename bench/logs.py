"""Seeded inference logs for the pipeline benchmark: one monitored model, a labeled reference and one day.

The features are the drift benchmark's (``bench.drift.generate_day``: 10 numeric of mixed shapes, 5
categorical of 3 to 50 values, some shifted in the day). Beside them, what an inference log holds: a
request id, a timestamp within the day, a score that depends on the features and a label drawn from it
(ROC AUC near 0.8), the latency, the status (2% errors) and the model version. The day's labels arrive
the same day, in their own file keyed by request id, as the monitor's label source expects.

Written once per size and seed under ``bench/.data/pipeline-<rows>-seed<seed>-v<version>/``:

    monitors/bench.yaml                              the monitor config (what a user would write)
    data/bench/reference/reference.parquet           the labeled reference
    data/bench/inference/dt=<day>/part-0000.parquet  the day's inference logs
    data/bench/labels/dt=<day>/part-0000.parquet     the day's labels
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from bench.drift import CATEGORICAL, NUMERIC, generate_day

GENERATOR_VERSION = 1
MODEL = "bench"
DAY = dt.date(2026, 1, 2)
START = DAY - dt.timedelta(days=1)
ERROR_SHARE = 0.02


def _score(features: pa.Table) -> np.ndarray:
    """A logistic model of three features (a null counts as the feature's mean)."""
    def standard(name: str) -> np.ndarray:
        values = features[name].to_numpy(zero_copy_only=False).astype(float)
        values = np.where(np.isnan(values), np.nanmean(values), values)
        return (values - values.mean()) / values.std()

    logit = 1.2 * standard("normal_shifted") - 0.8 * standard("lognormal") + 0.6 * standard("exponential_with_nulls")
    return 1.0 / (1.0 + np.exp(-(logit - 1.0)))


def generate_logs(rows: int, seed: int, current: bool, day: dt.date | None = None) -> pa.Table:
    """One day of inference logs of ``rows`` rows, the label included (split off for the day's label file):
    the reference's (``current=False``) or the shifted day's, stamped ``day`` (default START or DAY)."""
    features = generate_day(rows, seed, current)
    rng = np.random.default_rng([seed, rows, int(current), 1])
    prefix = f"{'cur' if current else 'ref'}-" if day is None else f"{day:%Y%m%d}-"  # unique across days
    day = day or (DAY if current else START)
    start = np.datetime64(day.isoformat(), "us")
    score = _score(features)
    columns = {
        "request_id": pc.binary_join_element_wise(prefix, pa.array(np.arange(rows).astype(str)), ""),
        "timestamp": pa.array(start + np.sort(rng.integers(0, 86_400_000_000, rows)).astype("timedelta64[us]"),
                              pa.timestamp("us", tz="UTC")),
        "model_version": pa.array(np.full(rows, "v1")),
        **{name: features[name] for name in features.column_names},
        "score": pa.array(score),
        "label": pa.array((rng.random(rows) < score).astype(np.int64)),
        "latency_ms": pa.array(rng.lognormal(4.0, 0.5, rows)),
        "status": pa.array(np.where(rng.random(rows) < ERROR_SHARE, "error", "ok")),
    }
    return pa.table(columns)


def monitor_config(rows: int) -> dict:
    """The benchmark's monitor, configured as the demo's credit monitor is: every stage has work to do."""
    return {
        "name": MODEL, "description": "Benchmark model: generated logs.", "task": "binary_classification",
        "start_date": START.isoformat(),
        "inference": {"uri": "file://data/{model}/inference/dt={date}/", "format": "parquet"},
        "labels": {"uri": "file://data/{model}/labels/dt={date}/", "format": "parquet", "max_delay_days": 0},
        "columns": {"request_id": "request_id", "timestamp": "timestamp", "model_version": "model_version",
                    "score": "score", "label": "label", "latency_ms": "latency_ms", "status": "status",
                    "numeric_features": list(NUMERIC), "categorical_features": list(CATEGORICAL),
                    "segments": ["cat3"]},
        "reference": {"kind": "file", "uri": "file://data/{model}/reference/reference.parquet"},
        "drift": {"multivariate": {"enabled": True}},
        "performance": {"positive_label": 1, "min_labels": 50,
                        "thresholds": {"roc_auc": {"min": 0.6, "severity": "ERROR"}}},
        "operations": {"ok_statuses": ["ok"], "thresholds": {"error_rate": {"max": 0.05, "severity": "ERROR"}}},
        "validation": {"min_rows": rows // 2, "max_null_fraction": 0.1,
                       "ranges": {"score": {"min": 0, "max": 1}, "uniform": {"min": 0, "max": 100}},
                       "categories": {"cat3": ["v00", "v01", "v02"]},
                       "unique_request_ids": True, "model_versions": ["v1"]},
        "alerts": [],
    }


@dataclass(frozen=True)
class Workspace:
    """A generated benchmark folder: what ``MONITORING_HOME`` points at."""

    rows: int
    home: Path
    arrow_bytes: int
    """The day's inference logs as an Arrow table in memory: the yardstick for peak memory."""

    @property
    def day_file(self) -> Path:
        return self.home / "data" / MODEL / "inference" / f"dt={DAY.isoformat()}" / "part-0000.parquet"

    @property
    def labels_file(self) -> Path:
        return self.home / "data" / MODEL / "labels" / f"dt={DAY.isoformat()}" / "part-0000.parquet"

    @property
    def reference_file(self) -> Path:
        return self.home / "data" / MODEL / "reference" / "reference.parquet"


def write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path.with_suffix(".tmp"))
    os.replace(path.with_suffix(".tmp"), path)


def benchmark_workspace(rows: int, seed: int, data_dir: Path) -> Workspace:
    """The folder of ``rows`` rows per day, generated on first use and reused after (``meta.json`` last)."""
    home = data_dir / f"pipeline-{rows}-seed{seed}-v{GENERATOR_VERSION}"
    meta = home / "meta.json"
    if not meta.exists():
        reference, day = generate_logs(rows, seed, current=False), generate_logs(rows, seed, current=True)
        workspace = Workspace(rows, home, 0)
        write_parquet(reference, workspace.reference_file)
        write_parquet(day.drop_columns(["label"]), workspace.day_file)
        write_parquet(day.select(["request_id", "label"]), workspace.labels_file)
        (home / "monitors").mkdir(exist_ok=True)
        (home / "monitors" / f"{MODEL}.yaml").write_text(yaml.safe_dump(monitor_config(rows), sort_keys=False))
        meta.write_text(json.dumps({"rows": rows, "seed": seed, "arrow_bytes": day.drop_columns(["label"]).nbytes}))
    return Workspace(rows, home, json.loads(meta.read_text())["arrow_bytes"])
