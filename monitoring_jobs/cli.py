"""``monitoring-jobs``: generate demo data, run the demo end to end, backfill days, check configs."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from monitoring_jobs.config import ConfigError, load_monitors  # noqa: E402
from monitoring_jobs.defs.executors import EXECUTORS, executor_name  # noqa: E402
from monitoring_jobs.settings import load_settings  # noqa: E402

DEMO_MARKER = ".demo.json"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; write YYYY-MM-DD") from None


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=offset) for offset in range((end - start).days + 1)]


def _monitors(settings, model: str | None = None) -> list:
    """Every monitor of the project, or only the one named ``model`` (a ConfigError if there is none)."""
    monitors = load_monitors(settings.monitors_dir)
    if model is None:
        return monitors
    chosen = [m for m in monitors if m.name == model]
    if not chosen:
        known = ", ".join(m.name for m in monitors) or "none"
        raise ConfigError(f"no monitor named '{model}' in {settings.monitors_dir} (known: {known})")
    return chosen


def generate_demo_data(data_dir: Path, *, days: int, rows_per_day: int, seed: int, force: bool) -> bool:
    """Write the demo's logs and labels unless the same demo is already there; True when written."""
    from monitoring_jobs.demo_data import DEMO_START, generate_demo
    from monitoring_jobs.storage import write_atomic

    marker = data_dir / DEMO_MARKER
    wanted = {"start": DEMO_START.isoformat(), "days": days, "rows_per_day": rows_per_day, "seed": seed}
    if not force and marker.exists() and json.loads(marker.read_text()) == wanted:
        return False
    generate_demo(data_dir, start=DEMO_START, days=days, rows_per_day=rows_per_day, seed=seed)
    write_atomic(marker, json.dumps(wanted).encode())
    return True


def cmd_generate_demo(args: argparse.Namespace) -> int:
    settings = load_settings()
    data_dir = settings.data_root / "data"
    written = generate_demo_data(data_dir, days=args.days, rows_per_day=args.rows_per_day, seed=args.seed,
                                 force=args.force)
    print(f"demo data {'written to' if written else 'already present in'} {data_dir}")
    return 0


def _backfill(days: list[dt.date], model: str | None, *, workers: int, quiet: bool = False,
              executor: str = "in-process"):
    """Run the given days for every (or one) monitor in the Dagster instance of DAGSTER_HOME, then alert."""
    import dagster as dg

    from monitoring_jobs.defs.monitors import build_definitions
    from monitoring_jobs.defs.runner import backfill, ensure_dagster_home, evaluate_alert_sensor

    settings = load_settings()
    monitors = _monitors(settings, model)
    ensure_dagster_home(settings)
    started = time.monotonic()
    outcomes = backfill(monitors, days, workers=workers, quiet=quiet, executor=executor_name(executor))
    with dg.DagsterInstance.get() as instance:
        message, _cursor = evaluate_alert_sensor(build_definitions(monitors, settings), instance)
    return settings, monitors, outcomes, message, time.monotonic() - started


def _print_summary(settings, monitors, days: list[dt.date]) -> None:
    import pandas as pd

    from monitoring_jobs.alerts import AlertEngine
    from monitoring_jobs.metric_store import MetricStore
    from monitoring_jobs.summary import format_table, summarize

    store = MetricStore(settings.db_url)
    engine = AlertEngine.from_monitors(store.engine, monitors)
    engine.ensure_schema()
    sent = pd.DataFrame([row for row in engine.sent() if row["kind"] == "FAILED"],
                        columns=["model", "partition_date", "kind"])
    print(format_table(summarize(store, monitors, days, sent)))


def cmd_backfill(args: argparse.Namespace) -> int:
    if args.end < args.start:
        print(f"error: --end {args.end} is before --start {args.start}", file=sys.stderr)
        return 2
    days = _days(args.start, args.end)
    settings, monitors, outcomes, message, elapsed = _backfill(days, args.model, workers=args.workers,
                                                               executor=args.executor)
    _print_summary(settings, monitors, days)
    print(f"\n{len(outcomes)} model-day run(s) in {elapsed:.0f}s; alert sensor: {message}")
    print(f"Reports: {settings.reports_dir / 'index.html'}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from monitoring_jobs.demo_data import DEMO_START

    settings = load_settings()
    data_dir = settings.data_root / "data"
    if generate_demo_data(data_dir, days=args.days, rows_per_day=args.rows_per_day, seed=args.seed, force=False):
        print(f"Generated {args.days} days of demo logs and labels in {data_dir}")
    else:
        print(f"Using the demo data already in {data_dir}")
    days = _days(DEMO_START, DEMO_START + dt.timedelta(days=args.days - 1))
    print(f"Materializing every monitoring asset for {days[0]} to {days[-1]} ...", flush=True)
    settings, monitors, outcomes, message, elapsed = _backfill(days, None, workers=args.workers, quiet=args.quiet)
    print()
    _print_summary(settings, monitors, days)
    failed = sum(not o.success for o in outcomes)
    print(f"\n{len(outcomes)} model-day runs in {elapsed:.0f}s ({failed} stopped by failed ERROR checks); "
          f"alert sensor: {message}; alert log: {settings.alert_log}")
    print(f"Dagster history: DAGSTER_HOME={os.environ['DAGSTER_HOME']} (make dev opens it in the UI)")
    print(f"\nReports: {settings.reports_dir / 'index.html'}")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    for monitor in _monitors(load_settings()):
        print(f"{monitor.name}: {monitor.task.value}, {len(monitor.columns.features)} features, "
              f"reference {monitor.reference.kind}")
    return 0


def cmd_profile_reference(args: argparse.Namespace) -> int:
    """Profile a monitor's reference into the reviewable suite file that validation adds to its rules."""
    from monitoring_jobs.defs.resources import build_resources
    from monitoring_jobs.pipeline import load_reference, read_inference_window
    from monitoring_jobs.storage import StorageError, write_atomic
    from monitoring_jobs.validation import profile_reference

    settings = load_settings()
    [monitor] = _monitors(settings, args.model)
    day = args.day or monitor.start_date + dt.timedelta(
        days=monitor.reference.window_days if monitor.reference.kind == "rolling" else 0)
    workspace = build_resources(settings, resolve_env=True)["monitoring"].workspace()
    # A rolling reference is profiled from every raw row of its first window: the suite is written once, often
    # before any day was run, so the stored day profiles (and their row samples) may not exist yet.
    load = read_inference_window if monitor.reference.kind == "rolling" else load_reference
    try:
        reference, described = load(workspace, monitor, day)
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if reference is None:
        print(f"error: {described}; pass --day with a day that has earlier data", file=sys.stderr)
        return 1
    # The monitor's own URI, not the resolved path, so the committed file reads the same on every machine.
    source = described if monitor.reference.kind == "rolling" else f"reference file {monitor.reference.uri}"
    suite = profile_reference(reference, monitor, source=source)
    path = write_atomic(settings.suite_path(monitor.name), suite.to_json().encode())
    print(f"Profiled {len(reference):,} reference rows ({described}) into {len(suite.expectations)} "
          f"expectations: {path}\nReview it (severities are WARN until you raise them), then commit it.")
    return 0


def cmd_dagster_home(args: argparse.Namespace) -> int:
    from monitoring_jobs.defs.runner import ensure_dagster_home

    print(ensure_dagster_home(load_settings()))
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    """Migrate the monitoring database of MONITORING_DB_URL on purpose, or say which revision it is at."""
    from monitoring_jobs.metric_store import create_engine
    from monitoring_jobs.migrations import current_revision, describe_revision, downgrade_schema, upgrade_schema

    engine = create_engine(load_settings().db_url)
    where = engine.url.render_as_string(hide_password=True)
    try:
        if args.db_command == "current":
            print(f"{where}: {describe_revision(current_revision(engine))}")
        elif args.db_command == "upgrade":
            print(f"{where}: {upgrade_schema(engine, revision=args.revision).describe()}")
        else:
            print(f"{where}: {downgrade_schema(engine, args.revision).describe()}")
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="monitoring-jobs", description=__doc__)
    parser.add_argument("--home", help="project folder (default: $MONITORING_HOME or the current folder)")
    commands = parser.add_subparsers(dest="command", required=True)

    def add_workers(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                         help="processes running models side by side (default: 2, or 1 on one core)")

    def demo_sizes(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--days", type=int, default=30, help="days of demo data (default 30)")
        sub.add_argument("--rows-per-day", type=int, default=2000, help="requests per model-day (default 2000)")
        sub.add_argument("--seed", type=int, default=7)

    sub = commands.add_parser("generate-demo", help="write seeded demo logs and labels into data/")
    demo_sizes(sub)
    sub.add_argument("--force", action="store_true", help="rewrite even if the same demo is present")
    sub.set_defaults(func=cmd_generate_demo)

    sub = commands.add_parser("demo", help="generate demo data, backfill every model and day, send alerts, "
                                           "print a summary and the path of reports/index.html")
    demo_sizes(sub)
    sub.add_argument("--quiet", action="store_true", help="no line per model-day while running")
    add_workers(sub)
    sub.set_defaults(func=cmd_demo)

    sub = commands.add_parser("backfill", help="materialize every monitor (or one) for a range of days")
    sub.add_argument("--start", type=_date, required=True)
    sub.add_argument("--end", type=_date, required=True)
    sub.add_argument("--model", help="only this monitor")
    add_workers(sub)
    sub.add_argument("--executor", choices=EXECUTORS, default=os.environ.get("MONITORING_EXECUTOR") or "in-process",
                     help="where each run's steps execute: in-process (default, or $MONITORING_EXECUTOR), "
                          "multiprocess (a subprocess per step) or celery (workers on any machine, see "
                          "assets/dagster/celery.yaml)")
    sub.set_defaults(func=cmd_backfill)

    sub = commands.add_parser("check-config", help="validate every monitor config and list them")
    sub.set_defaults(func=cmd_check_config)

    sub = commands.add_parser("profile-reference", help="profile a monitor's reference into assets/suites/MODEL.json")
    sub.add_argument("model")
    sub.add_argument("--day", type=_date, help="for a rolling reference: the day whose previous window is profiled "
                                               "(default: the first day with a full window)")
    sub.set_defaults(func=cmd_profile_reference)

    sub = commands.add_parser("dagster-home", help="create $DAGSTER_HOME (default: the project's .state/dagster_home) "
                                                   "with a local dagster.yaml unless it has one; print its path")
    sub.set_defaults(func=cmd_dagster_home)

    sub = commands.add_parser("db", help="the monitoring database's schema migrations (MONITORING_DB_URL)")
    db_commands = sub.add_subparsers(dest="db_command", required=True)
    db_sub = db_commands.add_parser("upgrade", help="apply the migrations up to REVISION (default: head)")
    db_sub.add_argument("revision", nargs="?", default="head")
    db_commands.add_parser("current", help="print the database's revision")
    db_sub = db_commands.add_parser("downgrade", help="revert to REVISION (base drops every table)")
    db_sub.add_argument("revision")
    sub.set_defaults(func=cmd_db)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.home:
        os.environ["MONITORING_HOME"] = str(Path(args.home).resolve())
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
