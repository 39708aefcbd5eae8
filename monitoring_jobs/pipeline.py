"""The daily stages for one model-day as plain functions: what the Dagster assets call, and what a
benchmark or a notebook can call without Dagster.

Flow: ``ingest`` reads the day from object storage, validates it and keeps an Arrow snapshot;
``drift``/``performance``/``operations`` read that snapshot and write metrics; ``publish`` renders
the report and the index from what the metric store holds.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import posixpath
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from monitoring_jobs.config import FileFormat, MonitorConfig, Severity
from monitoring_jobs.drift.engine import label_kind, output_column
from monitoring_jobs.metric_store import AREAS, MetricStore
from monitoring_jobs.metrics import CheckOutcome, Metric, Status
from monitoring_jobs.profiles import (
    DayProfile,
    ProfileError,
    ProfileNotFoundError,
    profile_day,
    profile_path,
    save_profile,
)
from monitoring_jobs.profiles import load_reference as merge_stored_profiles
from monitoring_jobs.storage import (
    DataNotFoundError,
    FileInfo,
    ObjectStore,
    ParquetColumns,
    copy_local_file,
    write_atomic,
)

if TYPE_CHECKING:
    from monitoring_jobs.reports import DriftCharts  # matplotlib: imported where a report is drawn


class PipelineError(RuntimeError):
    """A stage cannot run for this model-day; the message says why and what to do."""


class SnapshotMissingError(PipelineError):
    """A downstream stage ran before the day's inference logs were ingested."""


class BlockedDayError(PipelineError):
    """The day's data failed an ERROR validation check, so nothing may be computed from it."""


@dataclass(frozen=True)
class Workspace:
    """Where one deployment reads and writes: object storage, metric store, reports and local state."""

    objects: ObjectStore
    metrics: MetricStore
    reports_dir: Path
    state_dir: Path
    reports_uri: str | None = None

    def mirror_reports(self, *folders: Path) -> None:
        """Copy report folders under ``reports_dir`` to ``reports_uri`` (MONITORING_REPORTS_URI), when it is set,
        at the same relative paths, so readers without access to this machine see the same pages."""
        if self.reports_uri:
            for folder in folders:
                relative = folder.relative_to(self.reports_dir).parts
                self.objects.upload_folder(folder, posixpath.join(self.reports_uri, *relative))

    def snapshot_path(self, model: str, day: dt.date) -> Path:
        return self.state_dir / "snapshots" / model / f"{day.isoformat()}.parquet"

    def report_path(self, model: str, day: dt.date | str) -> Path:
        """Where the renderer writes a model-day's report (linked from check results and alerts)."""
        day = day if isinstance(day, str) else day.isoformat()
        return self.reports_dir / model / day / "index.html"

    def outcomes_path(self, model: str, day: dt.date, stage: str) -> Path:
        return self.state_dir / "checks" / model / day.isoformat() / f"{stage}.json"

    def calibration_path(self, model: str, key: str) -> Path:
        """CBPE's calibration fitted on one state of the model's reference file (see ``stages.cbpe_calibration``)."""
        return self.state_dir / "calibrations" / model / f"{key}.json"

    def sorted_reference_dir(self, model: str) -> Path:
        """The model's reference columns kept sorted, per state of its reference file (``stages.sorted_reference``)."""
        return self.state_dir / "references" / model

    def labels_read_path(self, model: str, day: dt.date) -> Path:
        """What the day's last performance run read from the label partitions (see ``late_labels``)."""
        return self.state_dir / "labels" / model / f"{day.isoformat()}.json"


# --- ingest -------------------------------------------------------------------------------------

_HAS_OFFSET = r"(?:Z|[+-]\d{2}(?::?\d{2})?)$"


@dataclass(frozen=True)
class IngestedDay:
    """One day's rows as pandas, the files they came from, and how many timestamps had no timezone.

    ``source`` is the one local parquet file whose rows the frame holds exactly as read (normalization changed
    nothing), as listed before the read: the day's snapshot can then be a copy of its bytes."""

    frame: pd.DataFrame
    files: tuple[str, ...] = ()
    naive_timestamp_rows: int = 0
    source: FileInfo | None = None


def released_to_pandas(table: pa.Table) -> pd.DataFrame:
    """``table`` (not usable afterwards) as pandas: each column its own block, so numbers without nulls are not
    copied (the default gathers a day's floats into one new 2D block), and each column is released once
    converted, so the day is not held twice. Fresh memory is not free: the kernel zeroes every page of it."""
    return table.to_pandas(split_blocks=True, self_destruct=True)


def normalize(table: pa.Table, monitor: MonitorConfig, files: tuple[str, ...] = (),
              source: FileInfo | None = None) -> IngestedDay:
    """Arrow to pandas, with the timestamp column as UTC datetimes.

    Timestamps with an offset are converted to UTC; those without one are read as UTC and counted,
    so the freshness check can say so instead of silently guessing. Unparseable values become
    nulls, which the null check reports. ``source``, the file the table was read from, is kept when
    nothing had to change.
    """
    frame = released_to_pandas(table)
    column = monitor.columns.timestamp
    naive = 0
    if column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            if str(values.dt.tz) != "UTC":
                frame[column], source = values.dt.tz_convert("UTC"), None
        elif pd.api.types.is_datetime64_dtype(values.dtype):
            naive = int(values.notna().sum())
            frame[column], source = values.dt.tz_localize("UTC"), None
        else:
            text = values.astype("string")
            parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
            has_offset = text.str.strip().str.contains(_HAS_OFFSET, regex=True).fillna(False)
            naive = int((parsed.notna() & ~has_offset).sum())
            frame[column], source = parsed, None
    return IngestedDay(frame, files, naive, source)


def read_inference(workspace: Workspace, monitor: MonitorConfig, day: dt.date) -> IngestedDay:
    data = workspace.objects.read_day(monitor.inference, model=monitor.name, day=day)
    single = data.infos[0] if len(data.infos) == 1 else None
    copyable = single if single and single.local and monitor.inference.format is FileFormat.PARQUET else None
    return normalize(data.table, monitor, data.files, copyable)


def write_snapshot(workspace: Workspace, monitor: MonitorConfig, day: dt.date, frame: pd.DataFrame,
                   validated: Callable[[], object] | None = None, source: FileInfo | None = None) -> Path:
    """Keep exactly what was validated, so every later stage of the day sees the same rows. The stages that
    follow in this process take them from memory (what reading the file back gives, see ``_remember_snapshot``).
    ``validated``, when given, waits for the validation written beside it: the file replaces the day's earlier
    snapshot only once it returns, and not at all if it raises.

    ``source`` (``IngestedDay.source``), the one local parquet file ``frame`` holds as read, is copied byte for
    byte unless it changed since it was listed (then ``frame`` is written): the copy reads back as the rows read,
    and takes 0.3 s where encoding a 5M-row day takes 2-2.6 s of CPU, and converting it back to pandas more."""
    written: list[pa.Table] = []

    def contents(handle: BinaryIO) -> None:
        if source is not None:
            copy_local_file(source.path, handle)
            if workspace.objects.list_file_infos(source.path, FileFormat.PARQUET) == [source]:
                return
            handle.seek(0)
            handle.truncate()
        table = pa.Table.from_pandas(frame, preserve_index=False)
        # No dictionary for floats: millions of distinct values fill one before parquet gives up on it, a third
        # of the writing time of a 5M-row day for a file no smaller. No min/max statistics: the stages read whole
        # columns and never filter on them (0.4-0.5 s of the write at 5M rows, on ingest's critical path).
        dictionary = [field.name for field in table.schema if not pa.types.is_floating(field.type)]
        pq.write_table(table, handle, use_dictionary=dictionary, write_statistics=False)
        written.append(table)

    path = write_atomic(workspace.snapshot_path(monitor.name, day), contents, validated)
    _remember_snapshot(path, released_to_pandas(written[0]) if written else frame)
    return path


def blocking_checks(workspace: Workspace, model: str, day: dt.date) -> list[str]:
    """The ERROR checks the day failed at ingest: nothing may be computed from its data."""
    return [o.name for o in load_outcomes(workspace, model, day, stages=("ingest",))
            if not o.passed and o.severity == Severity.ERROR.value]


def validated_snapshot_path(workspace: Workspace, monitor: MonitorConfig, day: dt.date) -> Path:
    """The day's snapshot file, unless ingest found it broken: Dagster blocks downstream steps within a run,
    and this keeps a later run of a single downstream asset from computing on the same broken data."""
    failed = blocking_checks(workspace, monitor.name, day)
    if failed:
        raise BlockedDayError(f"{monitor.name} on {day} failed ERROR check(s) {', '.join(failed)} at ingest; "
                              f"fix the data, then materialize {monitor.name}/inference_logs for that day again")
    path = workspace.snapshot_path(monitor.name, day)
    if not path.exists():
        raise SnapshotMissingError(f"no ingested inference logs for {monitor.name} on {day} ({path} is missing); "
                                   f"materialize {monitor.name}/inference_logs for that day first")
    return path


_last_snapshot: dict[tuple, pd.DataFrame] = {}


def snapshot_key(path: Path) -> tuple:
    """What tells one state of a snapshot file from another: its path, modification time and size."""
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


def _remember_snapshot(path: Path, frame: pd.DataFrame) -> None:
    _last_snapshot.clear()
    _last_snapshot[snapshot_key(path)] = frame


def read_validated_snapshot(workspace: Workspace, monitor: MonitorConfig, day: dt.date) -> pd.DataFrame:
    """The day's validated rows. The last snapshot written or read is kept while its file is unchanged: the
    stages of a day that run in one process (``run_day``, Dagster's in-process executor) read it once, or not
    at all after ingest wrote it, instead of once each (2.5 s a read at 5M rows)."""
    path = validated_snapshot_path(workspace, monitor, day)
    frame = _last_snapshot.get(snapshot_key(path))
    if frame is None:
        frame = released_to_pandas(pq.read_table(path))
        _remember_snapshot(path, frame)
    # A shallow copy: pandas' copy-on-write keeps one stage's changes out of the frame the next stage gets.
    return frame.copy(deep=False)


def validated_snapshot_columns(workspace: Workspace, monitor: MonitorConfig,
                               day: dt.date) -> pd.DataFrame | ParquetColumns:
    """The day's validated rows for work that goes a column at a time: the rows kept in memory when this process
    wrote or read the snapshot (as ``read_validated_snapshot``), else the file, read one column at a time when
    asked, so a large day is never held whole for it."""
    path = validated_snapshot_path(workspace, monitor, day)
    frame = kept_snapshot(path)
    return ParquetColumns(path) if frame is None else frame


def kept_snapshot(path: Path) -> pd.DataFrame | None:
    """The snapshot at ``path`` when this process wrote or read it and the file is unchanged since, else None."""
    frame = _last_snapshot.get(snapshot_key(path))
    return None if frame is None else frame.copy(deep=False)


# --- reference ----------------------------------------------------------------------------------

PROFILE_KLL_K = 800
"""Sketch size of the stored day profiles. A rank read from it is within 0.35% of the exact one, which keeps
the guaranteed error of a normed Wasserstein from a rolling reference near 0.03 on the demo (0.1 at the
default k=200, the size of the default threshold itself), for up to 25 kB per numeric column instead of 7."""


def compared_columns(monitor: MonitorConfig) -> dict[str, str]:
    """Every column drift compares (features, model output, label when the logs carry it), by the kind it is
    compared as."""
    columns = monitor.columns
    kinds = dict.fromkeys(columns.numeric_features, "numeric") | dict.fromkeys(columns.categorical_features,
                                                                              "categorical")
    output, output_kind = output_column(monitor)
    for name, kind in ((output, output_kind), (columns.label, label_kind(monitor))):
        if name is not None:
            kinds.setdefault(name, kind)
    return kinds


def profile_inference_day(frame: pd.DataFrame, monitor: MonitorConfig, day: dt.date) -> DayProfile:
    """The day's profile for later rolling references: every compared column summarised by its kind, and a
    row sample of them with the timestamp, which cuts a reference into its days for calibration and the
    multivariate band."""
    kinds = compared_columns(monitor)
    return profile_day(frame, day, numeric=[name for name, kind in kinds.items() if kind == "numeric"],
                       categorical=[name for name, kind in kinds.items() if kind == "categorical"],
                       kll_k=PROFILE_KLL_K, sample=[monitor.columns.timestamp, *kinds])


def store_day_profile(workspace: Workspace, monitor: MonitorConfig, day: dt.date,
                      profile: DayProfile | None) -> Path | None:
    """Keep the profile (``profile_inference_day``) of a day that passed validation (a re-run replaces it);
    given None for a day blocked by a failed ERROR check, remove its profile, so no rolling reference includes
    rows that failed it."""
    path = profile_path(workspace.state_dir, monitor.name, day)
    if profile is None:
        path.unlink(missing_ok=True)
        return None
    return save_profile(path, profile)


def load_rolling_reference(workspace: Workspace, monitor: MonitorConfig,
                           day: dt.date) -> tuple[DayProfile | None, str]:
    """The merge of the previous ``window_days`` days' stored profiles, and what it covers: one small file
    per day and never a raw log, so a day's reference costs the same whatever the length of a backfill.

    A day ingested before profiles were kept is profiled once from its snapshot; a day with neither (not
    ingested yet) or that failed an ERROR check is left out, and the description names it.
    """
    window_days = monitor.reference.window_days
    window = [day - dt.timedelta(days=back) for back in range(window_days, 0, -1)]
    window = [previous for previous in window if previous >= monitor.start_date]
    left_out, from_snapshots = [], 0
    for previous in window:
        path = profile_path(workspace.state_dir, monitor.name, previous)
        if path.is_file():
            continue
        try:
            snapshot = read_validated_snapshot(workspace, monitor, previous)
        except BlockedDayError:
            left_out.append(f"{previous.isoformat()} (failed an ERROR check)")
            continue
        except SnapshotMissingError:
            left_out.append(f"{previous.isoformat()} (not ingested)")
            continue
        save_profile(path, profile_inference_day(snapshot, monitor, previous))
        from_snapshots += 1
    skipped = f"; left out {', '.join(left_out)}" if left_out else ""
    try:
        reference = merge_stored_profiles(workspace.state_dir, monitor.name, window)
    except ProfileNotFoundError:
        return None, f"no reference yet: none of the previous {window_days} days has been ingested{skipped}"
    except ProfileError as exc:
        raise PipelineError(f"the rolling reference of {monitor.name} for {day} cannot be built: {exc}") from None
    first, last = reference.days[0].isoformat(), reference.days[-1].isoformat()
    rebuilt = f"; {from_snapshots} of them profiled now from their snapshots" if from_snapshots else ""
    return reference, (f"previous {len(reference.days)} day(s), {first} to {last}, merged from their stored "
                       f"profiles{rebuilt}{skipped}")


def load_drift_reference(workspace: Workspace, monitor: MonitorConfig,
                         day: dt.date) -> tuple[pd.DataFrame | DayProfile | None, str]:
    """What drift compares the day with: the reference file's rows (the compared columns and the timestamp), or
    the rolling window's merged profile."""
    if monitor.reference.kind == "rolling":
        return load_rolling_reference(workspace, monitor, day)
    return load_reference(workspace, monitor, day, columns=[monitor.columns.timestamp, *compared_columns(monitor)])


def load_reference(workspace: Workspace, monitor: MonitorConfig, day: dt.date,
                   columns: list[str] | None = None) -> tuple[pd.DataFrame | None, str]:
    """The reference rows (for charts and calibration; of a reference file, only ``columns`` when given), and a
    sentence saying what they are or why there are none: the reference file, or for a rolling reference the
    row sample of its merged profiles."""
    ref = monitor.reference
    if ref.kind == "file":
        uri = workspace.objects.resolve(ref.uri or "", model=monitor.name)
        files = tuple(workspace.objects.list_file_infos(uri, ref.format))
        if not files:
            raise DataNotFoundError(f"reference file for {monitor.name} not found at {uri}; "
                                    "create it or change reference.uri in the monitor config")
        return _read_reference_file(workspace.objects, files, monitor, columns), f"reference file {uri}"
    reference, described = load_rolling_reference(workspace, monitor, day)
    if reference is None or reference.sample_is_complete:
        return None if reference is None else reference.sample, described
    sampled = "no row sample" if reference.sample is None else f"a sample of {len(reference.sample):,}"
    return reference.sample, f"{described}; rows: {sampled} of its {reference.rows:,}"


_last_reference: dict[tuple, tuple[tuple[str, ...] | None, pd.DataFrame]] = {}


def _read_reference_file(objects: ObjectStore, files: tuple[FileInfo, ...], monitor: MonitorConfig,
                         columns: list[str] | None) -> pd.DataFrame:
    """The reference file's rows (only ``columns`` when given). The last read is kept while the files are
    unchanged (the same sizes and versions) and serves any later read of the same or fewer columns: a day's
    stages in one process (``run_day``, Dagster's in-process executor; drift and the report read the same
    columns) read it once (about 2.5 s a read at 5M rows)."""
    key = (files, monitor.reference.format, monitor.columns.timestamp)
    held, frame = _last_reference.get(key, (None, None))
    if frame is None or (held is not None and (columns is None or not set(columns) <= set(held))):
        table = objects.read_files([info.path for info in files], monitor.reference.format, columns)
        frame = normalize(table, monitor).frame
        _last_reference.clear()
        _last_reference[key] = (None if columns is None else tuple(columns), frame)
    # Shallow: pandas' copy-on-write keeps one stage's changes out of the frame the next stage gets.
    return frame.copy(deep=False) if columns is None else frame[[name for name in dict.fromkeys(columns)
                                                               if name in frame.columns]]


def read_inference_window(workspace: Workspace, monitor: MonitorConfig,
                          day: dt.date) -> tuple[pd.DataFrame | None, str]:
    """Every raw inference row of the ``window_days`` days before ``day``: for one-off work that needs all of
    them before any day was run (profiling a validation suite). The daily stages never call it."""
    frames, days = [], []
    for back in range(monitor.reference.window_days, 0, -1):
        previous = day - dt.timedelta(days=back)
        if previous < monitor.start_date:
            continue
        try:
            frames.append(read_inference(workspace, monitor, previous).frame)
            days.append(previous)
        except DataNotFoundError:
            continue
    if not frames:
        return None, f"no reference yet: none of the previous {monitor.reference.window_days} days has data"
    return (pd.concat(frames, ignore_index=True),
            f"previous {len(days)} day(s), {days[0].isoformat()} to {days[-1].isoformat()}")


# --- checks -------------------------------------------------------------------------------------

def metric_check(name: str, metrics: list[Metric], *, what: str) -> CheckOutcome:
    """One check over a stage's metrics: fails when any judged metric is WARN or FAIL."""
    failing = [m for m in metrics if m.failed]
    severity = Severity.ERROR if any(m.status is Status.FAIL for m in failing) else Severity.WARN
    if not failing:
        judged = sum(m.status is Status.OK for m in metrics)
        return CheckOutcome(name, True, Severity.WARN.value, f"{judged} {what} figure(s) within thresholds",
                            {"judged": judged})
    parts = [f"{_label(m)} = {_fmt(m.value)} (threshold {_fmt(m.threshold)})" for m in failing[:10]]
    more = f" and {len(failing) - 10} more" if len(failing) > 10 else ""
    return CheckOutcome(name, False, severity.value, f"{len(failing)} {what} figure(s) out of bounds: "
                        + "; ".join(parts) + more, {"failing": len(failing)},
                        tuple(_label(m) for m in failing[:5]))


def _label(metric: Metric) -> str:
    scope = " / ".join(part for part in (metric.feature, metric.segment) if part)
    return f"{metric.metric} [{scope}]" if scope else metric.metric


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.4g}"


def save_outcomes(workspace: Workspace, model: str, day: dt.date, stage: str, outcomes: list[CheckOutcome]) -> None:
    payload = json.dumps([asdict(o) for o in outcomes], ensure_ascii=False, default=str).encode()
    write_atomic(workspace.outcomes_path(model, day, stage), payload)


STAGE_ORDER = ("ingest", "drift", "performance", "operations")


def load_outcomes(workspace: Workspace, model: str, day: dt.date,
                  stages: tuple[str, ...] = STAGE_ORDER) -> list[CheckOutcome]:
    """The check outcomes the given stages saved for the day, in stage order."""
    outcomes = []
    for stage in stages:
        path = workspace.outcomes_path(model, day, stage)
        if path.exists():
            for item in json.loads(path.read_text(encoding="utf-8")):
                item["examples"] = tuple(item.get("examples", ()))
                outcomes.append(CheckOutcome(**item))
    return outcomes


def clear_outcomes(workspace: Workspace, model: str, day: dt.date, stages: tuple[str, ...]) -> None:
    for stage in stages:
        workspace.outcomes_path(model, day, stage).unlink(missing_ok=True)


def stored_metrics(workspace: Workspace, model: str, day: dt.date) -> list[Metric]:
    """Every area's metrics of one model-day as read back from the metric store."""
    metrics = []
    for area in AREAS:
        frame = workspace.metrics.read(area, model, day, day)
        for row in frame.itertuples(index=False):
            metrics.append(Metric(area=area, metric=row.metric, value=float("nan") if row.value is None else row.value,
                                  feature=row.feature, segment=row.segment,
                                  threshold=None if pd.isna(row.threshold) else float(row.threshold),
                                  status=Status(row.status), detail=row.detail,
                                  lower=None if pd.isna(row.value_lower) else float(row.value_lower),
                                  upper=None if pd.isna(row.value_upper) else float(row.value_upper)))
    return metrics


# --- publish ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Published:
    report: Path
    status: str
    summary: str
    key_chart: Path | None = None
    model_page: Path | None = None


def publish_day(workspace: Workspace, monitor: MonitorConfig, day: dt.date, *, row_count: int,
                current: pd.DataFrame | None, reference: pd.DataFrame | None, notes: tuple[str, ...] = (),
                run_id: str = "", drift_charts: DriftCharts | None = None) -> Published:
    """Render the model-day report from the stored checks and metrics, record the day's status and
    rebuild the model's trend page and the index. Safe to repeat: it replaces what it wrote before.
    ``drift_charts``: the drift section's charts, drawn from the same stored drift metrics and rows earlier."""
    from monitoring_jobs.reports import ReportInput, day_status, key_chart, render_model_day_report  # matplotlib: 0.6 s

    checks = load_outcomes(workspace, monitor.name, day)
    metrics = stored_metrics(workspace, monitor.name, day)
    status = day_status(checks, metrics)
    failed = [c.name for c in checks if not c.passed]
    summary = f"{len(failed)} check(s) failed: {', '.join(failed)}" if failed else "all checks passed"
    report = render_model_day_report(workspace.reports_dir, ReportInput(
        monitor=monitor, partition_date=day, row_count=row_count, checks=checks, metrics=metrics,
        reference=reference, current=current, history=workspace.metrics.history(monitor.name, day), notes=notes),
        drift_charts)
    workspace.mirror_reports(report.parent)
    workspace.metrics.set_day_status(monitor.name, day, status=status, summary=summary, row_count=row_count,
                                     report_path=str(report.relative_to(workspace.reports_dir)), run_id=run_id)
    pages = rebuild_index(workspace, monitor)
    return Published(report, status, summary, key_chart(report), pages.get(monitor.name))


def rebuild_index(workspace: Workspace, *monitors: MonitorConfig) -> dict[str, Path]:
    """Re-render the given monitors' trend pages and reports/index.html from every status row.

    Runs of different models finish at the same time: the lock makes each read-and-write whole, so
    the last writer has seen every earlier status. Returns each monitor's page (and "index").
    """
    from monitoring_jobs.reports import DayCell, render_index, render_model_page

    workspace.reports_dir.mkdir(parents=True, exist_ok=True)
    with open(workspace.reports_dir / ".index.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        days = workspace.metrics.day_statuses()
        cells = [DayCell(model=row.model, partition_date=row.partition_date, status=row.status, summary=row.summary)
                 for row in days.itertuples(index=False)]
        pages = {monitor.name: render_model_page(workspace.reports_dir, monitor, cells,
                                                 workspace.metrics.whole_day_history(monitor.name))
                 for monitor in monitors if any(cell.model == monitor.name for cell in cells)}
        pages["index"] = render_index(workspace.reports_dir, cells)
        workspace.mirror_reports(*(page.parent for page in pages.values()))  # under the lock: the last copy is newest
        return pages
