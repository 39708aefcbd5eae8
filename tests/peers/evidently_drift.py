"""Runs Evidently's data drift (0.7.x, its defaults) on two parquet files and writes its decisions as JSON.

Run by the peer venv's Python (Evidently's pins cannot share the project's venv), never imported by tests:

    python evidently_drift.py reference.parquet current.parquet spec.json out.json

``spec.json`` names the numerical and categorical columns and the dataset drift share; ``out.json`` gets,
per column, Evidently's method (display name), threshold, score (p-value or distance) and decision, and the
share of drifted columns with the dataset verdict.
"""

import json
import sys

import pandas as pd
from evidently.legacy.metrics import DataDriftTable, DatasetDriftMetric
from evidently.legacy.pipeline.column_mapping import ColumnMapping
from evidently.legacy.report import Report


def main(reference_path: str, current_path: str, spec_path: str, out_path: str) -> None:
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    report = Report(metrics=[DataDriftTable(), DatasetDriftMetric(drift_share=spec["drift_share"])])
    report.run(reference_data=pd.read_parquet(reference_path), current_data=pd.read_parquet(current_path),
               column_mapping=ColumnMapping(numerical_features=spec["numerical"],
                                            categorical_features=spec["categorical"]))
    table, dataset = (metric["result"] for metric in report.as_dict()["metrics"])
    columns = {name: {"method": column["stattest_name"], "threshold": column["stattest_threshold"],
                      "score": column["drift_score"], "drifted": bool(column["drift_detected"])}
               for name, column in table["drift_by_columns"].items()}
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump({"columns": columns, "share": dataset["share_of_drifted_columns"],
                   "dataset_drift": bool(dataset["dataset_drift"])}, handle, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:])
