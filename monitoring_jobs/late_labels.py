"""Labels that arrive late, stored by arrival date: what a prediction day's performance was computed from,
and which prediction days a new or rewritten label partition touches.

A label for a request made on day D lands in the partition of the day it arrives, D to
D + ``labels.max_delay_days``. The performance of D is computed over the partitions of that window that
exist so far, and each run saves what it read (:class:`LabelsRead`): per arrival partition a fingerprint
of its files as listed, and a digest of D's own label rows in it. :func:`watch_labels` compares that
with a fresh listing; only for an arrival partition that changed does it read the labels and match
their request ids against the ingested days they can belong to, so exactly the days whose labels
changed are re-run. Nothing here imports Dagster (``defs/late_labels.py`` wires it as a sensor).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from monitoring_jobs.config import MonitorConfig
from monitoring_jobs.metrics import Metric
from monitoring_jobs.performance.labels import LABELED_AT
from monitoring_jobs.pipeline import Workspace, blocking_checks, kept_snapshot
from monitoring_jobs.storage import FileInfo, StorageError, write_atomic
from monitoring_jobs.validation.display import EXAMPLE_LIMIT, names

_ONE_DAY = dt.timedelta(days=1)


def digest(value) -> str:
    """A short stable fingerprint of JSON-able ``value`` (file listings, settings)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


@dataclass(frozen=True)
class ArrivalPartition:
    """The label files of one arrival day, as listed."""

    day: dt.date
    files: tuple[FileInfo, ...]

    @property
    def fingerprint(self) -> str:
        """Changes when a file is added, removed or rewritten (name, size, ETag or modification time)."""
        return digest([[info.path, info.size, info.version] for info in self.files])


def label_window(monitor: MonitorConfig, day: dt.date, today: dt.date) -> list[dt.date]:
    """The arrival days that can hold labels of prediction day ``day``: up to ``max_delay_days`` later,
    never past ``today``."""
    assert monitor.labels is not None
    return _days(day, min(day + dt.timedelta(days=monitor.labels.max_delay_days), today))


def prediction_days(monitor: MonitorConfig, arrival: dt.date) -> list[dt.date]:
    """The prediction days whose labels can arrive on ``arrival`` (none before the monitor's start)."""
    assert monitor.labels is not None
    return _days(max(arrival - dt.timedelta(days=monitor.labels.max_delay_days), monitor.start_date), arrival)


def list_arrivals(workspace: Workspace, monitor: MonitorConfig, days: list[dt.date]) -> dict[dt.date, ArrivalPartition]:
    """The arrival partitions among ``days`` that hold label files."""
    assert monitor.labels is not None
    found = {}
    for day in days:
        uri = workspace.objects.resolve(monitor.labels.uri, model=monitor.name, day=day)
        files = workspace.objects.list_file_infos(uri, monitor.labels.format)
        if files:
            found[day] = ArrivalPartition(day, tuple(files))
    return found


def read_arrival(workspace: Workspace, monitor: MonitorConfig, partition: ArrivalPartition) -> pd.DataFrame:
    """The rows of exactly the listed files: a file written since the listing waits for the next look. Decoded
    in the calling thread: the drift stage reads the reference beside it, and in Arrow's shared pool a 25 MB label
    file ended each time just after the reference's columns (1.4-1.8 s at 5M rows, 0.9-2.1 s in its own thread)."""
    assert monitor.labels is not None
    return workspace.objects.read_files([info.path for info in partition.files], monitor.labels.format,
                                        use_threads=False).to_pandas()


def snapshot_request_ids(workspace: Workspace, monitor: MonitorConfig, day: dt.date) -> pa.Array:
    """The request ids (as text, as the label join compares them) of an ingested day; reads only that column."""
    path = workspace.snapshot_path(monitor.name, day)
    column = monitor.columns.request_id
    kept = kept_snapshot(path)  # the day this process ingested or read: no second read
    if kept is not None:
        ids = kept.get(column)
    else:
        # the table's pandas metadata keeps nullable integers integers ("7", not "7.0", as in the join)
        ids = pq.read_table(path, columns=[column]).to_pandas()[column] \
            if column in pq.read_schema(path).names else None
    if ids is None:  # a day ingested without any rows
        return pa.array([], pa.string())
    return pa.array(ids.astype("string").dropna(), pa.string())


@dataclass(frozen=True)
class ArrivalMatch:
    """Which prediction days an arrival partition holds labels for, with a digest of each day's label rows
    (it changes when one of them is added, removed or edited), and the ids that match none of the days."""

    digests: dict[dt.date, str]
    unknown_ids: tuple[str, ...]


def match_arrival(labels: pd.DataFrame, monitor: MonitorConfig, days: dict[dt.date, pa.Array],
                  known: dict[dt.date, np.ndarray] | None = None) -> ArrivalMatch:
    """Split one arrival partition's label rows by the prediction day their request id belongs to: a day of
    ``days`` by its ids, a day of ``known`` by which rows match it, found already (``LabelJoin.matched_labels``).

    A day's digest covers what the label join uses: request id, label and ``labeled_at``. Rows without a
    request id belong to no day and are not unknown either (the join counts them as ``null_labels``);
    a partition without the request id column matches nothing (the join reports it).
    """
    request_id = monitor.columns.request_id
    if request_id not in labels.columns:
        return ArrivalMatch({}, ())
    known = known or {}
    others = [column for column in (monitor.columns.label, LABELED_AT) if column in labels.columns]
    keys = labels[request_id].astype("string")
    present = keys.notna().to_numpy()
    arrow_keys = pa.array(keys, pa.string())
    matched = np.zeros(len(labels), dtype=bool)
    digests = {}
    for day in sorted(days.keys() | known.keys()):
        # Arrow's hash set: pandas' isin on Arrow-backed text compares one Python string at a time (6 s at 1M)
        rows = present & (known[day] if day in known else
                          pc.is_in(arrow_keys, value_set=days[day]).to_numpy(zero_copy_only=False))
        if rows.any():
            digests[day] = _label_rows_digest(arrow_keys.filter(pa.array(rows)), labels.loc[rows, others],
                                              [request_id, *others])
            matched |= rows
    return ArrivalMatch(digests, tuple(str(key) for key in keys[present & ~matched].unique()))


LABEL_ROWS_DIGEST_FORMAT = b"label-rows-v2"
"""Part of every label-rows digest: v1 hashed each row with pandas (2.5 s at 5M rows); a digest stored by it
differs from today's, so a day whose label partition changed since is re-run once even when its own rows did
not change."""


def _label_rows_digest(request_ids: pa.Array, others: pd.DataFrame, names: list[str]) -> str:
    """sha256 of the rows' request ids as text (each text's length, then all their bytes, straight from Arrow's
    buffers) and pandas' row hashes of the other columns the join reads (labels, ``labeled_at``: a few distinct
    values, hashed once each)."""
    text = request_ids.cast(pa.large_string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    _, offsets, data = text.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int64)[text.offset: text.offset + len(text) + 1]
    hashed = hashlib.sha256(LABEL_ROWS_DIGEST_FORMAT + "\0".join(names).encode())
    hashed.update(np.diff(bounds).tobytes())
    if data is not None:
        hashed.update(memoryview(data)[int(bounds[0]): int(bounds[-1])])
    if len(others.columns):
        hashed.update(pd.util.hash_pandas_object(others, index=False).to_numpy().tobytes())
    return hashed.hexdigest()[:16]


@dataclass(frozen=True)
class UnknownLabels:
    """Labels that arrived on ``arrival`` for requests of none of the days they can belong to."""

    arrival: dt.date
    request_ids: tuple[str, ...]
    compared: tuple[dt.date, ...]
    """The prediction days with ingested logs the ids were compared with."""
    possible: tuple[dt.date, ...]
    """Every prediction day the labels can belong to (``compared`` plus the days not ingested)."""

    def metric(self) -> Metric:
        detail = (f"{len(self.request_ids)} label request id(s) that arrived on {self.arrival} match no request "
                  f"of the prediction days {self.possible[0]} to {self.arrival}")
        if self.request_ids:
            detail += f"; e.g. {names(self.request_ids[:EXAMPLE_LIMIT])}"
        missing = [day.isoformat() for day in self.possible if day not in self.compared]
        if missing:
            detail += f"; not compared with {', '.join(missing)} (no ingested logs)"
        return Metric("performance", "unknown_label_ids", float(len(self.request_ids)), detail=detail)


class _SnapshotIds:
    """Request ids of ingested days, each snapshot read at most once."""

    def __init__(self, workspace: Workspace, monitor: MonitorConfig) -> None:
        self.workspace, self.monitor, self._ids = workspace, monitor, {}

    def ingested(self, days: list[dt.date]) -> list[dt.date]:
        return [day for day in days if self.workspace.snapshot_path(self.monitor.name, day).exists()]

    def of(self, days: list[dt.date]) -> dict[dt.date, pa.Array]:
        for day in days:
            if day not in self._ids:
                self._ids[day] = snapshot_request_ids(self.workspace, self.monitor, day)
        return {day: self._ids[day] for day in days}


# --- what a performance run read ------------------------------------------------------------------

@dataclass(frozen=True)
class LabelsRead:
    """What one performance run of a prediction day read: the fingerprint of every arrival partition of its
    window that had files, the digest of the day's label rows where a partition had some, and the number of
    unknown ids among the labels that arrived that same day (its ``unknown_label_ids`` figure)."""

    arrivals: dict[dt.date, str] = field(default_factory=dict)
    digests: dict[dt.date, str] = field(default_factory=dict)
    unknown_label_ids: int | None = None

    def to_json(self) -> bytes:
        return json.dumps({"arrivals": {day.isoformat(): fp for day, fp in self.arrivals.items()},
                           "digests": {day.isoformat(): digest for day, digest in self.digests.items()},
                           "unknown_label_ids": self.unknown_label_ids}, sort_keys=True, indent=1).encode()

    @classmethod
    def from_json(cls, text: str) -> LabelsRead:
        raw = json.loads(text)
        return cls({dt.date.fromisoformat(day): fp for day, fp in raw["arrivals"].items()},
                   {dt.date.fromisoformat(day): digest for day, digest in raw["digests"].items()},
                   raw["unknown_label_ids"])


def save_labels_read(workspace: Workspace, model: str, day: dt.date, read: LabelsRead) -> None:
    write_atomic(workspace.labels_read_path(model, day), read.to_json())


def load_labels_read(workspace: Workspace, model: str, day: dt.date) -> LabelsRead | None:
    path = workspace.labels_read_path(model, day)
    return LabelsRead.from_json(path.read_text(encoding="utf-8")) if path.exists() else None


@dataclass(frozen=True)
class DayLabels:
    """The labels of one prediction day's window (None when there are none yet), what was read, and, once
    recorded (:func:`record_labels`), the unknown ids among those that arrived on the day itself."""

    frame: pd.DataFrame | None
    read: LabelsRead
    unknown: UnknownLabels | None = None
    partitions: tuple[pd.DataFrame, ...] = ()
    """Each arrival partition's rows as read (in ``read.arrivals`` order; ``frame`` is them one after another):
    a digest hashes a partition's own columns, which a partition without ``labeled_at`` would gain in ``frame``."""

    def metrics(self) -> list[Metric]:
        return [] if self.unknown is None else [self.unknown.metric()]


def read_labels(workspace: Workspace, monitor: MonitorConfig, day: dt.date, today: dt.date) -> DayLabels:
    """The labels that arrived from ``day`` up to ``max_delay_days`` later (never past ``today``), with the
    fingerprint of each arrival partition read."""
    if monitor.labels is None:
        return DayLabels(None, LabelsRead())
    arrivals = list_arrivals(workspace, monitor, label_window(monitor, day, today))
    frames = [read_arrival(workspace, monitor, partition) for partition in arrivals.values()]
    return DayLabels(pd.concat(frames, ignore_index=True) if frames else None,
                     LabelsRead({arrival: partition.fingerprint for arrival, partition in arrivals.items()}),
                     partitions=tuple(frames))


def record_labels(workspace: Workspace, monitor: MonitorConfig, day: dt.date, labels: DayLabels,
                  matched: np.ndarray | None = None) -> DayLabels:
    """``labels`` (:func:`read_labels` of ``day``) with what a performance run records (for
    :func:`save_labels_read`): the digest of the day's label rows in each arrival partition, and the unknown ids
    among those that arrived on ``day`` itself, compared with every ingested day they can belong to.
    ``matched``, when given, says which rows of ``labels.frame`` match a request of ``day`` (the label join knows:
    ``LabelJoin.matched_labels``), so the day's ids are not hashed a second time (1.2 s at 5M rows)."""
    if monitor.labels is None:
        return labels
    snapshots = _SnapshotIds(workspace, monitor)
    possible = prediction_days(monitor, day)
    compared = snapshots.ingested(possible)
    unknown = UnknownLabels(day, (), tuple(compared), tuple(possible))
    digests, start = {}, 0
    for arrival, partition in zip(labels.read.arrivals, labels.partitions, strict=True):
        known = {} if matched is None else {day: matched[start:start + len(partition)]}
        days = [other for other in (compared if arrival == day else [day]) if other not in known]
        found = match_arrival(partition, monitor, snapshots.of(days), known)
        if arrival == day:
            unknown = UnknownLabels(day, found.unknown_ids, tuple(compared), tuple(possible))
        if day in found.digests:
            digests[arrival] = found.digests[day]
        start += len(partition)
    read = LabelsRead(labels.read.arrivals, digests, len(unknown.request_ids))
    return DayLabels(labels.frame, read, unknown, labels.partitions)


# --- watching for late labels --------------------------------------------------------------------

@dataclass(frozen=True)
class Refresh:
    """A prediction day whose stored performance no longer matches its labels: re-run it."""

    model: str
    day: dt.date
    arrivals: tuple[dt.date, ...]
    """The changed arrival partitions that hold (or held) labels of the day."""
    key: str
    """The fingerprints of those partitions now: the same key is requested once."""


@dataclass(frozen=True)
class WatchResult:
    refreshes: list[Refresh]
    cursor: str
    problems: list[str]


def watch_labels(workspace: Workspace, monitors: list[MonitorConfig], today: dt.date,
                 cursor: str | None = None) -> WatchResult:
    """The prediction days to re-run because their labels changed since their last performance run.

    Candidates are the days up to yesterday that were ingested and not blocked by an ERROR check.
    ``cursor`` (returned by the previous call) remembers what was already requested, so a day is
    requested once per state of its label window even if its run has not finished (or failed), and
    which days each changed partition touches, so a partition is read again only once it changes.
    """
    state = json.loads(cursor) if cursor else {}
    refreshes, problems, next_state = [], [], {}
    for monitor in monitors:
        if monitor.labels is None or monitor.start_date >= today:
            continue
        watch = _MonitorWatch(workspace, monitor, today, state.get(monitor.name, {}))
        refreshes += watch.refreshes()
        problems += watch.problems
        next_state[monitor.name] = {"requested": watch.requested, "matches": watch.matches}
    return WatchResult(refreshes, json.dumps(next_state, sort_keys=True), problems)


class _MonitorWatch:
    """One monitor's tick of :func:`watch_labels`."""

    def __init__(self, workspace: Workspace, monitor: MonitorConfig, today: dt.date, state: dict) -> None:
        self.workspace, self.monitor, self.today = workspace, monitor, today
        self.snapshots = _SnapshotIds(workspace, monitor)
        self.arrivals = list_arrivals(workspace, monitor, _days(monitor.start_date, today))
        self.previously_requested: dict[str, str] = state.get("requested", {})
        self.cached_matches: dict[str, dict] = state.get("matches", {})
        self.requested: dict[str, str] = {}
        self.matches: dict[str, dict] = {}
        self.unreadable: set[dt.date] = set()
        self.problems: list[str] = []

    def refreshes(self) -> list[Refresh]:
        found = []
        for day in self.snapshots.ingested(_days(self.monitor.start_date, self.today - _ONE_DAY)):
            if blocking_checks(self.workspace, self.monitor.name, day):
                continue  # its performance cannot be computed until the data is fixed and ingested again
            key = day.isoformat()
            changed, refresh = self._check(day)
            if refresh is not None:
                self.requested[key] = refresh.key
                if self.previously_requested.get(key) != refresh.key:
                    found.append(refresh)
            elif changed and key in self.previously_requested:
                # Forgotten only once a run has read the window as it is now.
                self.requested[key] = self.previously_requested[key]
        return found

    def _check(self, day: dt.date) -> tuple[bool, Refresh | None]:
        """Whether any partition of the day's window differs from what its last run read, and the refresh
        it needs when one of those holds (or held) labels of the day, or its unknown ids changed."""
        now = {arrival: self.arrivals[arrival].fingerprint
               for arrival in label_window(self.monitor, day, self.today) if arrival in self.arrivals}
        seen = load_labels_read(self.workspace, self.monitor.name, day) or LabelsRead()
        changed = sorted(arrival for arrival in now.keys() | seen.arrivals.keys()
                         if now.get(arrival) != seen.arrivals.get(arrival))
        touching = []
        for arrival in changed:
            match = self._match(arrival)
            if match is None:
                continue
            if match["digests"].get(day.isoformat()) != seen.digests.get(arrival) or \
                    (arrival == day and match["unknown"] != seen.unknown_label_ids):
                touching.append(arrival)
        if not touching:
            return bool(changed), None
        key = digest([[arrival, now.get(arrival, "")] for arrival in touching])
        return True, Refresh(self.monitor.name, day, tuple(touching), key)

    def _match(self, arrival: dt.date) -> dict | None:
        """Which days the arrival partition holds labels for (cached while its files and the ingested days it
        was compared with stay the same); None when it cannot be read (reported as a problem)."""
        key = arrival.isoformat()
        if key in self.matches or arrival in self.unreadable:
            return self.matches.get(key)
        partition = self.arrivals.get(arrival)
        compared = self.snapshots.ingested(prediction_days(self.monitor, arrival))
        entry = {"fingerprint": partition.fingerprint if partition else "",
                 "compared": [day.isoformat() for day in compared]}
        cached = self.cached_matches.get(key)
        if cached is not None and all(cached.get(name) == value for name, value in entry.items()):
            self.matches[key] = cached
            return cached
        if partition is None:  # removed since the last performance run: nothing left to match
            found = ArrivalMatch({}, ())
        else:
            try:
                frame = read_arrival(self.workspace, self.monitor, partition)
            except StorageError as exc:
                self.unreadable.add(arrival)
                self.problems.append(f"{self.monitor.name}: labels that arrived on {arrival} were not checked: {exc}")
                return None
            found = match_arrival(frame, self.monitor, self.snapshots.of(compared))
        entry |= {"digests": {day.isoformat(): digest for day, digest in found.digests.items()},
                  "unknown": len(found.unknown_ids)}
        self.matches[key] = entry
        return entry
