"""What every contender script shares (each runs as a script, so this folder is on its ``sys.path``).

Standard library only: it is imported in the project's venv and in every peer's venv.
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
