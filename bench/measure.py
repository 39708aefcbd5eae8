"""Wall time and peak memory of one whole process, and medians over repeats.

Peak memory is the kernel's high-water mark of the child's resident set (``ru_maxrss`` from ``wait4`` on
that one child: ``RUSAGE_CHILDREN`` would be the maximum over every child so far). Wall time runs from
the fork to the child's exit, so it includes interpreter start-up, imports and reading the files: what a
scheduled job pays.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024
LOG_TAIL_LINES = 30


class ProcessFailed(RuntimeError):
    """A measured process exited with an error; the message ends with the tail of its output."""


@dataclass(frozen=True)
class ProcessRun:
    wall_s: float
    peak_rss_bytes: int
    load_average: float
    """1-minute load average of the machine when the process started (other work skews the timings)."""


def run_process(command: list[str], log: Path, env: dict[str, str] | None = None) -> ProcessRun:
    """Run ``command`` to the end, its stdout and stderr into ``log``; raise ProcessFailed when it fails."""
    load_average = os.getloadavg()[0]
    with open(log, "wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall_s = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
    if process.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])
        raise ProcessFailed(f"{' '.join(command)} exited with {process.returncode} (full output: {log}):\n{tail}")
    return ProcessRun(wall_s=wall_s, peak_rss_bytes=usage.ru_maxrss * 1024, load_average=load_average)


def median_run(runs: list[ProcessRun]) -> ProcessRun:
    """Median wall time, peak memory and load average, each over the repeats on its own."""
    return ProcessRun(wall_s=statistics.median(run.wall_s for run in runs),
                      peak_rss_bytes=int(statistics.median(run.peak_rss_bytes for run in runs)),
                      load_average=statistics.median(run.load_average for run in runs))
