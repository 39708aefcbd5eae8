"""The drift engine (``monitoring_jobs.drift.compute_drift``) on two parquet files; writes its decisions as JSON.

Runs in the project's venv, as its own process, with the same arguments and output as
``evidently_drift.py``:

    python ours_drift.py reference.parquet current.parquet spec.json out.json

The monitor judges the spec's columns with Evidently's rules (``auto``) and no multiple-testing
correction, so the decisions are comparable with Evidently's; ``"multivariate": true`` in the spec adds
the PCA reconstruction error, work Evidently does not do. The monitor's output column is not in the
benchmark data, so only the features are judged. Files are read as the drift stage reads a day's snapshot:
a column at a time as it is judged (``ParquetColumns``), so "read" covers only the files' metadata.
"""

import sys
import time

from contender_io import read_spec, resident_bytes, write_result

from monitoring_jobs.config import MonitorConfig
from monitoring_jobs.drift import compute_drift
from monitoring_jobs.storage import ParquetColumns


def main(reference_path: str, current_path: str, spec_path: str, out_path: str) -> None:
    imports_rss = resident_bytes()
    spec = read_spec(spec_path)
    monitor = MonitorConfig.model_validate({
        "name": "bench", "task": "binary_classification", "start_date": "2026-01-01",
        "inference": {"uri": "file://unused/{date}.parquet"},
        "columns": {"score": "model_output_not_in_the_data", "numeric_features": spec["numerical"],
                    "categorical_features": spec["categorical"]},
        "drift": {"multiple_testing": "none", "dataset_drift_share": spec["drift_share"],
                  "multivariate": {"enabled": spec["multivariate"]}},
    })
    started = time.perf_counter()
    reference, current = ParquetColumns(reference_path), ParquetColumns(current_path)
    read, read_rss = time.perf_counter(), resident_bytes()
    report = compute_drift(reference, current, monitor)
    ran = time.perf_counter()
    columns = {feature.feature: {"method": feature.method, "threshold": feature.threshold,
                                 "score": feature.decision_value, "drifted": feature.drifted}
               for feature in report.features}
    write_result(out_path, columns, report.drifted_share, report.dataset_drift,
                 rss={"imports": imports_rss, "read": read_rss}, seconds={"read": read - started, "drift": ran - read},
                 multivariate_drift=report.multivariate_drifted if spec["multivariate"] else None)


if __name__ == "__main__":
    main(*sys.argv[1:])
