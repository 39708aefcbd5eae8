"""Object storage on a local folder: URI resolution, partition listing, every format, clear errors."""

from __future__ import annotations

import datetime as dt
import errno
import gzip
import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from monitoring_jobs.config import DataSource, FileFormat
from monitoring_jobs.storage import DataNotFoundError, ObjectStore, StorageError, copy_local_file, write_atomic

DAY = dt.date(2026, 10, 5)
ROWS = [{"request_id": "a", "x": 1.5}, {"request_id": "b", "x": None}, {"request_id": "c", "x": -2.0}]


@pytest.fixture()
def store(tmp_path) -> ObjectStore:
    return ObjectStore(tmp_path)


def partition(tmp_path, model="m"):
    folder = tmp_path / "data" / model / f"dt={DAY.isoformat()}"
    folder.mkdir(parents=True)
    return folder


def source(fmt: FileFormat) -> DataSource:
    return DataSource(uri="file://data/{model}/dt={date}/", format=fmt)


def test_resolve_relative_absolute_and_remote(store, tmp_path):
    assert store.resolve("file://data/{model}/dt={date}/", model="m", day=DAY) == str(tmp_path / "data/m/dt=2026-10-05")
    assert store.resolve("file:///srv/{model}/{date}.parquet", model="m", day=DAY) == "/srv/m/2026-10-05.parquet"
    assert store.resolve("s3://bucket/{model}/dt={date}/", model="m", day=DAY) == "s3://bucket/m/dt=2026-10-05/"


def test_reads_every_format_and_concatenates_parts(store, tmp_path):
    folder = partition(tmp_path)
    pq.write_table(pa.Table.from_pylist(ROWS[:2]), folder / "part-0000.parquet")
    pq.write_table(pa.Table.from_pylist(ROWS[2:]), folder / "part-0001.parquet")
    (folder / "_SUCCESS").write_text("")
    (folder / ".hidden.parquet").write_text("junk")
    day = store.read_day(source(FileFormat.PARQUET), model="m", day=DAY)
    assert day.table.to_pylist() == ROWS
    assert [p.rsplit("/", 1)[1] for p in day.files] == ["part-0000.parquet", "part-0001.parquet"]


def test_reads_gzip_json_lines(store, tmp_path):
    folder = partition(tmp_path)
    lines = "\n".join(json.dumps(row) for row in ROWS).encode()
    (folder / "part-0000.jsonl.gz").write_bytes(gzip.compress(lines))
    assert store.read_day(source(FileFormat.JSONL), model="m", day=DAY).table.to_pylist() == ROWS


def test_reads_gzip_csv(store, tmp_path):
    folder = partition(tmp_path)
    (folder / "part-0000.csv.gz").write_bytes(gzip.compress(b"request_id,x\na,1.5\nb,\nc,-2.0\n"))
    assert store.read_day(source(FileFormat.CSV), model="m", day=DAY).table.to_pylist() == ROWS


@pytest.mark.parametrize("fmt", list(FileFormat))
def test_a_file_decoded_in_the_calling_thread_reads_as_with_arrows_pool(store, tmp_path, fmt):
    """Label files are decoded without Arrow's thread pool: every format gives the same table either way."""
    rows = [{"request_id": f"r{i}", "x": i / 7 if i % 5 else None} for i in range(3000)]
    path = partition(tmp_path) / f"part-0000.{fmt.value}"
    if fmt is FileFormat.PARQUET:
        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=500)
    elif fmt is FileFormat.CSV:
        path.write_text("request_id,x\n" + "".join(f"{r['request_id']},{'' if r['x'] is None else repr(r['x'])}\n"
                                                     for r in rows))
    else:
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    alone = store.read_files([str(path)], fmt, use_threads=False)
    assert alone.equals(store.read_files([str(path)], fmt)) and alone.to_pylist() == rows
    assert store.read_files([str(path)], fmt, ["x", "absent"], use_threads=False).to_pylist() == [
        {"x": row["x"]} for row in rows]


def test_missing_day_names_the_uri(store):
    with pytest.raises(DataNotFoundError, match="no parquet files for m on 2026-10-05 under .*dt=2026-10-05"):
        store.read_day(source(FileFormat.PARQUET), model="m", day=DAY)


@pytest.mark.parametrize(
    ("name", "content", "fmt", "words"),
    [
        ("part-0000.parquet", b"", FileFormat.PARQUET, "cannot read"),
        ("part-0000.parquet", b"PAR1 this is not parquet", FileFormat.PARQUET, "cannot read"),
        ("part-0000.jsonl.gz", gzip.compress(b'{"a": 1}\n{"a": 2}\n')[:20], FileFormat.JSONL, "cannot read"),
        ("part-0000.jsonl", b"   \n", FileFormat.JSONL, "is empty"),
        ("part-0000.csv", b"a,b\n1,2\n3\n", FileFormat.CSV, "cannot read"),
    ],
)
def test_broken_files_give_errors_naming_the_file(store, tmp_path, name, content, fmt, words):
    folder = partition(tmp_path)
    (folder / name).write_bytes(content)
    with pytest.raises(StorageError, match=words) as caught:
        store.read_day(source(fmt), model="m", day=DAY)
    assert name in str(caught.value)
    with pytest.raises(StorageError, match=words) as caught:  # decoded in the calling thread, as label files are
        store.read_files([str(folder / name)], fmt, use_threads=False)
    assert name in str(caught.value)


def test_write_atomic_creates_folders_and_replaces(tmp_path):
    target = tmp_path / "out" / "x.bin"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["x.bin"]


@pytest.mark.parametrize("kernel_copy", ["works", "refused halfway"])
def test_a_local_file_is_copied_whole_after_what_the_handle_holds(tmp_path, monkeypatch, kernel_copy):
    """``copy_local_file`` (the day's snapshot from its source) copies in the kernel, and starts over through
    Python's buffers when the filesystem refuses the kernel's copy partway."""
    from monitoring_jobs.storage import objects

    source = tmp_path / "source.bin"
    source.write_bytes(np.random.default_rng(0).bytes(3 * 1024 * 1024 + 17))
    if kernel_copy == "refused halfway":
        real = os.copy_file_range

        def refuse_after_a_part(source_fd, target_fd, count):
            real(source_fd, target_fd, 1000)
            raise OSError(errno.EXDEV, "cross-device copy refused")

        monkeypatch.setattr(objects.os, "copy_file_range", refuse_after_a_part, raising=False)
    with open(tmp_path / "target.bin", "wb") as handle:
        handle.write(b"head")
        copy_local_file(str(source), handle)
    assert (tmp_path / "target.bin").read_bytes() == b"head" + source.read_bytes()
