"""What every contender script shares (each runs as a script, so this folder is on its ``sys.path``).

Standard library at import: it is imported in the project's venv and in every peer's venv (pandas, which
every venv has but in different versions, only inside the function that needs it).
"""

import json


def resident_bytes() -> int:
    """This process's resident set size now (Linux), to tell what imports cost from what the data cost."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status: the benchmark measures memory on Linux only")


def read_spec(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def write_json(path: str, result: dict) -> None:
    """A contender's result: what it found, and its own figures (``rss`` resident bytes after the imports and
    after reading, ``seconds`` per part of its work)."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1, default=str)


def write_result(path: str, columns: dict, share: float, dataset_drift: bool, rss: dict[str, int],
                 seconds: dict[str, float], **extra) -> None:
    """A drift contender's result: per column ``{method, threshold, score, drifted}`` and the dataset verdict;
    ``seconds`` has ``read`` and ``drift``."""
    write_json(path, {"columns": columns, "share": share, "dataset_drift": dataset_drift, "rss": rss,
                      "seconds": seconds, **extra})


def read_labeled_day(spec: dict, reference_path: str, day_path: str, labels_path: str):
    """The reference (features, score, label) and the day (features, score) with its labels joined by request
    id, as pandas frames: what a peer computing drift and performance on the same day reads."""
    import pandas as pd

    features, score, label, request_id = (spec["numerical"] + spec["categorical"], spec["score"], spec["label"],
                                          spec["request_id"])
    reference = pd.read_parquet(reference_path, columns=[*features, score, label])
    day = pd.read_parquet(day_path, columns=[request_id, *features, score]).merge(
        pd.read_parquet(labels_path), on=request_id, how="left").drop(columns=[request_id])
    return reference, day
