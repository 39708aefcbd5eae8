"""Evidently 0.7's ``DataDriftPreset`` and ``ClassificationPreset`` on the labeled day against the labeled
reference, with the HTML report: the work our daily pipeline does, as an Evidently user would run it.

Runs in Evidently's own venv (``bench/.venvs/evidently``), never imported by the project:

    python evidently_suite.py reference.parquet day.parquet labels.parquet spec.json out.json

The day's labels are joined to its logs by request id, as our performance stage joins them. ``out.json``
gets the dataset drift share, the metrics Evidently reports as single values, its version and seconds
spent reading, in ``Report.run`` and writing the HTML.
"""

import sys
import time
from pathlib import Path

import evidently
from contender_io import read_labeled_day, read_spec, resident_bytes, write_json
from evidently import BinaryClassification, DataDefinition, Dataset, Report
from evidently.presets import ClassificationPreset, DataDriftPreset


def main(reference_path: str, day_path: str, labels_path: str, spec_path: str, out_path: str) -> None:
    imports_rss = resident_bytes()
    spec = read_spec(spec_path)
    features, score, label = spec["numerical"] + spec["categorical"], spec["score"], spec["label"]
    started = time.perf_counter()
    reference, day = read_labeled_day(spec, reference_path, day_path, labels_path)
    read, read_rss = time.perf_counter(), resident_bytes()
    definition = DataDefinition(numerical_columns=[*spec["numerical"], score], categorical_columns=spec["categorical"],
                                classification=[BinaryClassification(target=label, prediction_probas=score)])
    report = Report([DataDriftPreset(columns=features, drift_share=spec["drift_share"]), ClassificationPreset()])
    snapshot = report.run(Dataset.from_pandas(day, data_definition=definition),
                          Dataset.from_pandas(reference, data_definition=definition))
    ran = time.perf_counter()
    snapshot.save_html(str(Path(out_path).with_suffix(".html")))
    rendered = time.perf_counter()
    values = {}
    for metric in snapshot.dict()["metrics"]:
        value = metric["value"]
        if isinstance(value, (int, float)):
            values[metric["metric_id"] if "metric_id" in metric else metric["id"]] = value
        elif isinstance(value, dict) and "share" in value:
            values["drifted_share"] = value["share"]
    write_json(out_path, {"values": values, "version": evidently.__version__,
                          "rss": {"imports": imports_rss, "read": read_rss},
                          "seconds": {"read": read - started, "run": ran - read, "html": rendered - ran}})


if __name__ == "__main__":
    main(*sys.argv[1:])
