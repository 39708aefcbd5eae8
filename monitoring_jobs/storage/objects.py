"""Resolve URI templates, list a day's partition and read its files (parquet, JSON lines, CSV; gzip allowed)."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from monitoring_jobs.config import DataSource, FileFormat

_EXTENSIONS = {
    FileFormat.PARQUET: (".parquet", ".pq"),
    FileFormat.JSONL: (".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz", ".ndjson.gz"),
    FileFormat.CSV: (".csv", ".csv.gz"),
}


class StorageError(RuntimeError):
    """A file could not be listed or read; the message names the file and what to do."""


class DataNotFoundError(StorageError):
    """No data files exist for the requested day."""


@dataclass(frozen=True)
class DayData:
    """One day's rows as Arrow, with the files they came from (shown as Dagster metadata)."""

    table: pa.Table
    files: tuple[str, ...]


@dataclass(frozen=True)
class ObjectStore:
    """Turns monitor URIs into readable files.

    ``base_dir`` anchors relative ``file://`` URIs (``file://data/x`` is ``<base_dir>/data/x``);
    ``storage_options`` go to fsspec for remote schemes (endpoint, region, credentials).
    """

    base_dir: Path
    storage_options: dict = field(default_factory=dict)

    def resolve(self, template: str, *, model: str, day: dt.date | None = None) -> str:
        """Fill ``{model}`` and ``{date}`` and make relative local paths absolute."""
        uri = template.replace("{model}", model)
        if day is not None:
            uri = uri.replace("{date}", day.isoformat())
        if uri.startswith("file://"):
            path = uri.removeprefix("file://")
            return str(Path(path) if path.startswith("/") else self.base_dir / path)
        return uri

    def _fs(self, uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
        options = {} if "://" not in uri else self.storage_options
        return fsspec.core.url_to_fs(uri, **options)

    def list_files(self, uri: str, fmt: FileFormat) -> list[str]:
        """Data files under a partition prefix (or the single file the URI names), sorted, hidden files skipped."""
        fs, path = self._fs(uri)
        try:
            if fs.isfile(path):
                return [path]
            if not fs.isdir(path):
                return []
            names = fs.find(path)
        except PermissionError as exc:
            raise StorageError(f"access denied listing {uri}: {exc}; check the storage credentials") from None
        suffixes = _EXTENSIONS[fmt]
        return sorted(
            name for name in names
            if not Path(name).name.startswith((".", "_")) and name.lower().endswith(suffixes)
        )

    def read_file(self, path: str, fmt: FileFormat) -> pa.Table:
        """Read one file; any decoding problem becomes a StorageError naming the file."""
        fs, fs_path = self._fs(path)
        try:
            if fmt is FileFormat.PARQUET:
                return pq.read_table(fs_path, filesystem=fs)
            with fs.open(fs_path, "rb") as handle:
                raw = handle.read()
            if fs_path.endswith(".gz"):
                raw = gzip.decompress(raw)
            if not raw or raw.isspace():
                raise StorageError(f"{path} is empty; re-export it or remove it from the partition")
            if fmt is FileFormat.JSONL:
                return pa_json.read_json(io.BytesIO(raw))
            return pa_csv.read_csv(io.BytesIO(raw))
        except StorageError:
            raise
        except (OSError, EOFError, pa.ArrowException, ValueError) as exc:
            raise StorageError(f"cannot read {path} as {fmt.value}: {exc}") from None

    def read_files(self, files: list[str], fmt: FileFormat) -> pa.Table:
        tables = [self.read_file(path, fmt) for path in files]
        try:
            return pa.concat_tables(tables, promote_options="permissive")
        except pa.ArrowException as exc:
            raise StorageError(f"files {files} have incompatible schemas: {exc}") from None

    def read_day(self, source: DataSource, *, model: str, day: dt.date) -> DayData:
        """All files of one day's partition as one table; DataNotFoundError when the day has none."""
        uri = self.resolve(source.uri, model=model, day=day)
        files = self.list_files(uri, source.format)
        if not files:
            raise DataNotFoundError(f"no {source.format.value} files for {model} on {day} under {uri}; "
                                    "check the monitor's URI or whether the export for that day ran")
        return DayData(self.read_files(files, source.format), tuple(files))


def write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same folder and os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
