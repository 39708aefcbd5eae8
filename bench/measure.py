"""Wall time and peak memory of one whole process, and medians over repeats.

Peak memory is the kernel's high-water mark of the child's resident set (``ru_maxrss`` from ``wait4`` on
that one child: ``RUSAGE_CHILDREN`` would be the maximum over every child so far). A child that ``subprocess``
starts (vfork, then exec) also carries its parent's high-water mark into that figure, so the benchmark's own
process must stay small: data is generated in a process of its own (:func:`generated_apart`). Wall time runs from
the fork to the child's exit, so it includes interpreter start-up, imports and reading the files: what a
scheduled job pays. Each run starts with its input files in the page cache (read through once, untimed, just
before the fork): a machine that reclaims idle pages by itself (as the benchmark VM does) would
otherwise time the disk for some runs and memory for others, at random.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TypeVar

from bench import REPO_DIR
from bench.peers import Peer, PeerUnavailable, peer_python

MB = 1024 * 1024
Made = TypeVar("Made")
LOG_TAIL_LINES = 30
WARM_CHUNK = 8 * MB


class ProcessFailed(RuntimeError):
    """A measured process exited with an error; the message ends with the tail of its output."""


@dataclass(frozen=True)
class ProcessRun:
    wall_s: float
    peak_rss_bytes: int
    load_average: float
    """1-minute load average of the machine when the process started (other work skews the timings)."""


def run_process(command: list[str], log: Path, env: dict[str, str] | None = None,
                warm: tuple[Path, ...] = ()) -> ProcessRun:
    """Run ``command`` to the end, its stdout and stderr into ``log``; raise ProcessFailed when it fails.
    The files in ``warm`` (files, or folders of them) are read once first, outside the timing."""
    warm_page_cache(warm)
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


def generated_apart(make: Callable[..., Made], *args) -> Made:
    """``make(*args)`` for data made on first use and reused after (``benchmark_workspace`` and its kind): made
    first in a separate process, then only found here. Generating millions of rows in this process would raise
    its high-water mark, and with it the peak memory reported for every contender it starts afterwards."""
    process = multiprocessing.get_context("spawn").Process(target=make, args=args)
    process.start()
    process.join()
    if process.exitcode != 0:
        raise ProcessFailed(f"generating the data ({make.__name__}{args}) exited with {process.exitcode}")
    return make(*args)


def warm_page_cache(paths: tuple[Path, ...]) -> None:
    """Read every file under ``paths`` once, so the next process finds them in memory."""
    buffer = bytearray(WARM_CHUNK)
    files = [file for path in paths for file in ([path] if path.is_file() else sorted(path.rglob("*")))]
    for file in files:
        if file.is_file():
            with open(file, "rb", buffering=0) as handle:
                while handle.readinto(buffer):
                    pass


def median_run(runs: list[ProcessRun]) -> ProcessRun:
    """Median wall time, peak memory and load average, each over the repeats on its own."""
    return ProcessRun(wall_s=statistics.median(run.wall_s for run in runs),
                      peak_rss_bytes=int(statistics.median(run.peak_rss_bytes for run in runs)),
                      load_average=statistics.median(run.load_average for run in runs))


def contender_pythons(peers: dict[str, Peer | None], build_peers: bool, benchmark: str) -> dict[str, Path]:
    """The Python of each contender (``None``: the project's, the one running the benchmark); a peer's venv
    is built first unless ``build_peers`` is off, in which case a contender whose peer venv does not exist
    yet is left out (with a note on stderr)."""
    pythons = {}
    for name, peer in peers.items():
        if peer is None:
            pythons[name] = Path(sys.executable)
        elif build_peers or peer.is_built():
            print(f"{name}: using the venv {peer.venv}" if peer.is_built() else
                  f"{name}: building its venv {peer.venv} (a minute or two, once)", file=sys.stderr)
            pythons[name] = peer_python(peer)
        else:
            print(f"{name}: left out, its venv {peer.venv} is not built (smoke mode builds none; "
                  f"`python -m bench {benchmark}` builds it)", file=sys.stderr)
    if not pythons:
        raise PeerUnavailable(f"none of {', '.join(peers)} can run without building a venv")
    return pythons


def process_environment(peer: Peer | None, **extra: str) -> dict[str, str]:
    """No telemetry from any tool; the project's processes import ``monitoring_jobs`` from this checkout."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    env.update(DO_NOT_TRACK="1", GX_ANALYTICS_ENABLED="false", **extra)
    if peer is None:
        env["PYTHONPATH"] = str(REPO_DIR)
    return env


def machine() -> str:
    """CPU model, cores, memory and the library versions of the project's venv, for the record."""
    first_processor = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
    fields = {key.strip(): value.strip() for key, _, value in
              (line.partition(":") for line in first_processor.splitlines())}
    # the family tells a Zen 4 (AMD, 25, AVX-512), where our processes use numpy's AVX2 kernels (monitoring_jobs.cpu)
    cpu = f"{fields.get('model name', platform.machine())} (family {fields.get('cpu family', '?')}, " \
          f"model {fields.get('model', '?')})"
    memory_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                     if line.startswith("MemTotal:"))
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("numpy", "pandas", "pyarrow", "scipy"))
    return (f"machine: {cpu}, {os.cpu_count()} CPUs, {memory_kb / 1024 ** 2:.1f} GB RAM; "
            f"Python {platform.python_version()} ({versions})")


def write_csv(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
