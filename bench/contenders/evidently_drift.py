"""Evidently 0.7's ``DataDriftPreset`` (its defaults) on two parquet files; writes its decisions as JSON.

Runs in Evidently's own venv (``bench/.venvs/evidently``), never imported by the project:

    python evidently_drift.py reference.parquet current.parquet spec.json out.json

``spec.json`` names the numerical and categorical columns and the dataset drift share. ``out.json`` gets,
per column, Evidently's method (display name), threshold, score (p-value or distance) and verdict (its
own test's status), the share of drifted columns with the dataset verdict, Evidently's version and the
seconds spent reading the files and in ``Report.run`` (no HTML is rendered).
"""

import sys
import time

import evidently
import pandas as pd
from contender_io import read_spec, resident_bytes, write_result
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def main(reference_path: str, current_path: str, spec_path: str, out_path: str) -> None:
    imports_rss = resident_bytes()
    spec = read_spec(spec_path)
    started = time.perf_counter()
    features = spec["numerical"] + spec["categorical"]
    reference, current = (pd.read_parquet(path, columns=features) for path in (reference_path, current_path))
    read, read_rss = time.perf_counter(), resident_bytes()
    definition = DataDefinition(numerical_columns=spec["numerical"], categorical_columns=spec["categorical"])
    report = Report([DataDriftPreset(drift_share=spec["drift_share"])], include_tests=True)
    snapshot = report.run(Dataset.from_pandas(current, data_definition=definition),
                          Dataset.from_pandas(reference, data_definition=definition))
    ran = time.perf_counter()
    result = snapshot.dict()
    failed = {test["metric_config"]["metric_id"]: test["status"] == "FAIL" for test in result["tests"]}
    columns, share, dataset_drift = {}, None, None
    for metric in result["metrics"]:
        config = metric["config"]
        if config["type"].endswith(":ValueDrift"):
            columns[config["column"]] = {"method": config["method"], "threshold": config["threshold"],
                                         "score": metric["value"], "drifted": failed[metric["id"]]}
        elif config["type"].endswith(":DriftedColumnsCount"):
            share, dataset_drift = metric["value"]["share"], failed[metric["id"]]  # its test: share < drift_share
    write_result(out_path, columns, share, dataset_drift, rss={"imports": imports_rss, "read": read_rss},
                 seconds={"read": read - started, "drift": ran - read}, version=evidently.__version__)


if __name__ == "__main__":
    main(*sys.argv[1:])
