"""Benchmarks of monitoring-jobs against peer tools, each contender timed as a whole separate process.

Run ``python -m bench --help``. Generated data go to ``bench/.data/``, peer tools' venvs to
``bench/.venvs/`` (built on first use, so their pins never touch the project's venv) and result tables
to ``bench/results/``; all three are git-ignored.
"""

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / ".data"
VENVS_DIR = BENCH_DIR / ".venvs"
RESULTS_DIR = BENCH_DIR / "results"
CONTENDERS_DIR = BENCH_DIR / "contenders"
