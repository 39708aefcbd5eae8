"""NannyML 0.13: univariate drift (Jensen-Shannon and Kolmogorov-Smirnov for numerics, chi-square for
categoricals) and realized performance of the labeled day, against the labeled reference.

Runs in NannyML's own venv (``bench/.venvs/nannyml``), never imported by the project:

    python nannyml_suite.py reference.parquet day.parquet labels.parquet spec.json out.json

The day is one chunk (``chunk_number=1``): the daily batch our pipeline judges. The day's labels are
joined to its logs by request id, as our performance stage joins them.
"""

import sys
import time
import warnings

import nannyml
from contender_io import read_labeled_day, read_spec, resident_bytes, write_json


def main(reference_path: str, day_path: str, labels_path: str, spec_path: str, out_path: str) -> None:
    warnings.simplefilter("ignore")  # "the resulting number of chunks is too low": one chunk is the point
    imports_rss = resident_bytes()
    spec = read_spec(spec_path)
    features, score, label = spec["numerical"] + spec["categorical"], spec["score"], spec["label"]
    started = time.perf_counter()
    reference, day = read_labeled_day(spec, reference_path, day_path, labels_path)
    for frame in (reference, day):
        frame["prediction"] = (frame[score] >= spec["decision_threshold"]).astype(int)
    read, read_rss = time.perf_counter(), resident_bytes()
    drift = nannyml.UnivariateDriftCalculator(
        column_names=features, continuous_methods=["jensen_shannon", "kolmogorov_smirnov"],
        categorical_methods=["chi2"], chunk_number=1).fit(reference).calculate(day).filter(period="analysis").to_df()
    drifted = time.perf_counter()
    performance = nannyml.PerformanceCalculator(
        y_true=label, y_pred="prediction", y_pred_proba=score, problem_type="classification_binary",
        metrics=["roc_auc", "f1", "precision", "recall", "accuracy"], chunk_number=1,
    ).fit(reference).calculate(day).filter(period="analysis").to_df()
    ran = time.perf_counter()
    columns = {name: {method: float(drift[(name, method, "value")].iloc[0]) for method in methods}
               for name, methods in ((n, ("jensen_shannon", "kolmogorov_smirnov")) for n in spec["numerical"])}
    columns |= {name: {"chi2": float(drift[(name, "chi2", "value")].iloc[0])} for name in spec["categorical"]}
    metrics = {metric: float(performance[(metric, "value")].iloc[0])
               for metric in ("roc_auc", "f1", "precision", "recall", "accuracy")}
    write_json(out_path, {"columns": columns, "performance": metrics, "version": nannyml.__version__,
                          "rss": {"imports": imports_rss, "read": read_rss},
                          "seconds": {"read": read - started, "drift": drifted - read, "performance": ran - drifted}})


if __name__ == "__main__":
    main(*sys.argv[1:])
