"""Peer tools (Evidently, ...) in venvs of their own under ``bench/.venvs/``, built on first use.

A peer pins versions the project's venv cannot share (Evidently 0.7 breaks on pandas 3), so it gets a
venv of its own, made with ``python3 -m venv`` and pip. A stamp in the venv records the requirements it
was built with; a change of requirements rebuilds it. Builds go to a scratch folder renamed into place
under a file lock, so two processes (a test run and a benchmark) never see half a venv. The benchmark
and ``tests/test_drift_evidently.py`` share these venvs.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import CONTENDERS_DIR, VENVS_DIR


class PeerUnavailable(RuntimeError):
    """A peer's venv could not be built (typically: no access to PyPI)."""


@dataclass(frozen=True)
class Peer:
    name: str
    requirements: tuple[str, ...]
    script: Path
    """The peer's own contender script, run in its venv (a benchmark may run others there too)."""

    @property
    def venv(self) -> Path:
        return VENVS_DIR / self.name

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def is_built(self) -> bool:
        stamp = self.venv / ".requirements"
        return self.python.exists() and stamp.exists() and stamp.read_text() == "\n".join(self.requirements)


EVIDENTLY = Peer("evidently", ("evidently==0.7.*", "pandas<3", "pyarrow"),  # Evidently 0.7 breaks on pandas 3
                 CONTENDERS_DIR / "evidently_drift.py")
NANNYML = Peer("nannyml", ("nannyml==0.13.*", "statsmodels", "pandas<3", "pyarrow"),  # imports statsmodels
               CONTENDERS_DIR / "nannyml_suite.py")                                   # without requiring it
EVIDENTLY_METHODS = {"K-S p_value": "ks", "chi-square p_value": "chi2", "Z-test p_value": "z_test",
                     "Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensenshannon"}
"""Evidently's display names of its default drift methods, by the name the drift engine gives the same method."""


def peer_python(peer: Peer) -> Path:
    """The peer venv's Python, built first if missing or built with other requirements (about a minute)."""
    if peer.is_built():
        return peer.python
    VENVS_DIR.mkdir(parents=True, exist_ok=True)
    with open(VENVS_DIR / f"{peer.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building it right now: wait, then reuse
        if not peer.is_built():
            _build(peer)
    return peer.python


def _build(peer: Peer) -> None:
    building = peer.venv.with_name(f"{peer.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    try:
        subprocess.run([shutil.which("python3") or sys.executable, "-m", "venv", str(building)],
                       check=True, capture_output=True, text=True, timeout=300)
        subprocess.run([str(building / "bin" / "python"), "-m", "pip", "install", "--quiet", *peer.requirements],
                       check=True, capture_output=True, text=True, timeout=900)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(building, ignore_errors=True)
        last_line = ((getattr(exc, "stderr", "") or "").strip().splitlines() or [str(exc)])[-1]
        raise PeerUnavailable(f"cannot build the {peer.name} venv in {peer.venv} "
                              f"(pip install {' '.join(peer.requirements)}): {last_line}; "
                              f"check access to PyPI, or leave {peer.name} out") from exc
    (building / ".requirements").write_text("\n".join(peer.requirements))
    shutil.rmtree(peer.venv, ignore_errors=True)
    building.rename(peer.venv)
