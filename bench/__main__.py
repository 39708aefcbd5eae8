"""``python -m bench <benchmark> ...``: the benchmarks' one entry point (run from the repository root)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import DATA_DIR, RESULTS_DIR
from bench.measure import ProcessFailed
from bench.peers import PeerUnavailable


def _add_benchmark(benchmarks, module, help_text: str, default_rows: list[int], default_contenders: list[str]):
    """One benchmark's subcommand; every benchmark takes the same options."""
    parser = benchmarks.add_parser(module.__name__.rsplit(".", 1)[-1], help=help_text, description=module.__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(module=module)
    parser.add_argument("--rows", type=int, nargs="+", default=default_rows, metavar="N",
                        help=f"rows per day; default: {' '.join(map(str, default_rows))}")
    parser.add_argument("--repeat", type=int, default=3, metavar="K",
                        help="whole-process runs per contender and size; the table holds medians (default 3)")
    parser.add_argument("--contenders", nargs="+", choices=list(module.CONTENDERS), default=default_contenders,
                        help=f"default: {' '.join(default_contenders)}")
    parser.add_argument("--seed", type=int, default=0, help="of the generated data (default 0)")
    parser.add_argument("--smoke", action="store_true",
                        help=f"seconds, not minutes: {' and '.join(map(str, module.SMOKE_ROWS))} rows, one run "
                             "each, and peers only if their venv is already built (numbers mean nothing)")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help=f"generated data (default {DATA_DIR})")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR,
                        help=f"CSV, outputs and logs (default {RESULTS_DIR})")


def main(argv: list[str] | None = None) -> int:
    from bench import backfill, drift, pipeline

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    benchmarks = parser.add_subparsers(dest="benchmark", required=True)
    _add_benchmark(benchmarks, pipeline, "the daily pipeline, its stages, Dagster, the scan floor, Evidently, "
                   "NannyML", [100_000, 1_000_000, 5_000_000], list(pipeline.CONTENDERS))
    _add_benchmark(benchmarks, drift, "our drift computation against Evidently's DataDriftPreset",
                   [100_000, 1_000_000], ["ours", "evidently"])
    _add_benchmark(benchmarks, backfill, f"{backfill.DAYS} days of a rolling-reference monitor against one day",
                   [1_000_000], list(backfill.CONTENDERS))
    args = parser.parse_args(argv)
    if args.repeat < 1 or min(args.rows) < 10:
        parser.error("--repeat must be at least 1 and --rows at least 10")
    rows, repeats = (list(args.module.SMOKE_ROWS), 1) if args.smoke else (args.rows, args.repeat)
    try:
        args.module.run_benchmark(rows, repeats, args.contenders, args.seed, args.data_dir, args.results_dir,
                                  build_peers=not args.smoke)
    except PeerUnavailable as exc:
        print(f"error: {exc} (e.g. --contenders without it)", file=sys.stderr)
        return 2
    except ProcessFailed as exc:
        print(f"error: a contender failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
