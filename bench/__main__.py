"""``python -m bench <benchmark> ...``: the benchmarks' one entry point (run from the repository root)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import DATA_DIR, RESULTS_DIR
from bench.measure import ProcessFailed
from bench.peers import PeerUnavailable


def main(argv: list[str] | None = None) -> int:
    from bench import drift

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    benchmarks = parser.add_subparsers(dest="benchmark", required=True)
    drift_parser = benchmarks.add_parser(
        "drift", help="our drift computation against Evidently's DataDriftPreset",
        description=drift.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    drift_parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000], metavar="N",
                              help="rows per day (reference and current each); default: 100000 1000000")
    drift_parser.add_argument("--repeat", type=int, default=3, metavar="K",
                              help="whole-process runs per contender and size; the table holds medians (default 3)")
    drift_parser.add_argument("--contenders", nargs="+", choices=list(drift.CONTENDERS),
                              default=["ours", "evidently"], help="default: ours evidently")
    drift_parser.add_argument("--seed", type=int, default=0, help="of the generated data (default 0)")
    drift_parser.add_argument("--smoke", action="store_true",
                              help=f"seconds, not minutes: {' and '.join(map(str, drift.SMOKE_ROWS))} rows, one run "
                                   "each, and peers only if their venv is already built (numbers mean nothing)")
    drift_parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help=f"generated data (default {DATA_DIR})")
    drift_parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR,
                              help=f"CSV, decisions and logs (default {RESULTS_DIR})")
    args = parser.parse_args(argv)
    if args.repeat < 1 or min(args.rows) < 10:
        parser.error("--repeat must be at least 1 and --rows at least 10")
    rows, repeats = (list(drift.SMOKE_ROWS), 1) if args.smoke else (args.rows, args.repeat)
    try:
        drift.run_benchmark(rows, repeats, args.contenders, args.seed, args.data_dir, args.results_dir,
                            build_peers=not args.smoke)
    except PeerUnavailable as exc:
        print(f"error: {exc} (e.g. --contenders ours)", file=sys.stderr)
        return 2
    except ProcessFailed as exc:
        print(f"error: a contender failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
