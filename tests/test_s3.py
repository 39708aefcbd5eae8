"""Monitors on S3, against a real S3-compatible HTTP server (moto's server mode on loopback): the demo read from a
bucket gives the same metrics as from the local folder, reports are copied to a bucket, listings are never stale,
and a missing bucket, a missing day, denied access and an unreachable endpoint each say what is wrong."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
from pathlib import Path

import dagster as dg
import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from monitoring_jobs.config import DataSource, FileFormat
from monitoring_jobs.defs.monitors import build_definitions
from monitoring_jobs.defs.resources import build_resources
from monitoring_jobs.demo_data import INCIDENTS
from monitoring_jobs.metric_store import AREAS, MetricStore
from monitoring_jobs.settings import load_settings
from monitoring_jobs.storage import (
    BucketNotFoundError,
    DataNotFoundError,
    ObjectStore,
    StorageAccessDeniedError,
    StorageUnreachableError,
)
from tests.conftest import MONITORS_DIR, SUITES_DIR, service_unavailable
from tests.s3_server import DUMMY_KEY, DUMMY_SECRET, REGION, MotoServer, free_port, start_moto_server

DATA_BUCKET, REPORTS_BUCKET = "monitoring-logs", "monitoring-reports"
DATA_PREFIX = f"s3://{DATA_BUCKET}/demo/"


def incident_day(model: str, kind: str) -> dt.date:
    return next(i.first_day for i in INCIDENTS if i.model == model and i.kind == kind)


LATENCY_SPIKE = incident_day("house_price", "latency_error_spike")
NULL_SPIKE = incident_day("credit_default", "null_spike")
PLAIN_JSONL_DAY = LATENCY_SPIKE  # its house_price logs go to the bucket uncompressed, the other days' stay gzipped
# Model-days run from the bucket and from the local folder, in this order: two incident days (the null spike is
# blocked by a failed ERROR check) and a clean credit_default day (reference file, parquet labels).
RUNS = (("house_price", LATENCY_SPIKE), ("credit_default", NULL_SPIKE),
        ("credit_default", NULL_SPIKE + dt.timedelta(days=1)))
VOLATILE_COLUMNS = {"id", "run_id", "computed_at", "updated_at"}
ROW_KEYS = ("model", "partition_date", "metric", "feature", "segment")


@pytest.fixture(autouse=True)
def dummy_aws_env(monkeypatch, tmp_path):
    """Dummy credentials and no way out: no proxy, no shared config or profile, no instance metadata lookup."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "AWS_PROFILE",
                "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "MONITORING_REPORTS_URI",
                "MONITORING_S3_ENDPOINT_URL", "MONITORING_S3_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # an unreachable endpoint fails at once instead of after retries
    # fsspec reuses a filesystem made with the same options, and with it the credentials it found then.
    fsspec.get_filesystem_class("s3").clear_instance_cache()


def start_server_or_skip() -> MotoServer:
    try:
        return start_moto_server()
    except (RuntimeError, OSError) as exc:
        service_unavailable(f"cannot start moto's S3 server on loopback: {exc}")


@pytest.fixture(scope="module")
def server():
    server = start_server_or_skip()
    yield server
    server.stop()


def demo_variant(demo_data: Path, target: Path) -> Path:
    """The demo as the bucket holds it: one house_price day as plain JSON lines (the others stay gzip JSON lines)
    and every other house_price label partition as gzip CSV (the others stay CSV)."""
    shutil.copytree(demo_data, target)
    compressed = target / "house_price" / "inference" / f"dt={PLAIN_JSONL_DAY}" / "part-0000.jsonl.gz"
    compressed.with_suffix("").write_bytes(gzip.decompress(compressed.read_bytes()))
    compressed.unlink()
    for plain in sorted((target / "house_price" / "labels").glob("dt=*/part-0000.csv"))[::2]:
        plain.with_name(plain.name + ".gz").write_bytes(gzip.compress(plain.read_bytes()))
        plain.unlink()
    return target


@pytest.fixture(scope="module")
def demo_bucket(server, demo_root, tmp_path_factory) -> MotoServer:
    server.create_bucket(DATA_BUCKET)
    server.upload_tree(demo_variant(demo_root / "data", tmp_path_factory.mktemp("s3demo") / "data"),
                       DATA_BUCKET, "demo")
    return server


def point_at_s3(monkeypatch, server: MotoServer) -> None:
    """Endpoint and region reach the pipeline only through environment variables, as in production."""
    monkeypatch.setenv("MONITORING_S3_ENDPOINT_URL", server.endpoint)
    monkeypatch.setenv("MONITORING_S3_REGION", REGION)


def s3_project(home: Path, monkeypatch, bucket_uri: str) -> Path:
    """A project folder whose monitor configs are the shipped ones with every file:// URI moved to ``bucket_uri``,
    and whose data root is an empty folder, so nothing can be read locally."""
    monitors = home / "assets" / "monitors"
    monitors.mkdir(parents=True)
    for config in sorted(MONITORS_DIR.glob("*.yaml")):
        text = config.read_text(encoding="utf-8").replace("file://data/", bucket_uri)
        assert "file://" not in text
        (monitors / config.name).write_text(text, encoding="utf-8")
    shutil.copytree(SUITES_DIR, home / "assets" / "suites")
    (home / "empty").mkdir()
    monkeypatch.setenv("MONITORING_HOME", str(home))
    monkeypatch.setenv("MONITORING_DATA_ROOT", str(home / "empty"))
    monkeypatch.setenv("DAGSTER_HOME", str(home / ".state" / "dagster_home"))
    return home


def run_model_days(home: Path, runs) -> dict[tuple[str, dt.date], dg.ExecuteInProcessResult]:
    defs = build_definitions()
    (home / ".state" / "dagster_home").mkdir(parents=True, exist_ok=True)
    with dg.instance_for_test(temp_dir=str(home / ".state" / "dagster_home")) as instance:
        return {(model, day): defs.resolve_job_def(f"{model}_daily").execute_in_process(
                    partition_key=day.isoformat(), instance=instance, raise_on_error=False)
                for model, day in runs}


def stored_rows(db_url: str) -> dict[str, pd.DataFrame]:
    """Every metric row and day status the runs left, without what differs from run to run (ids, run ids, times)."""
    store = MetricStore(db_url)
    tables = {area: store.read(area) for area in AREAS} | {"model_days": store.day_statuses()}
    return {name: frame.drop(columns=list(VOLATILE_COLUMNS & set(frame.columns)))
            .sort_values([key for key in ROW_KEYS if key in frame.columns]).reset_index(drop=True)
            for name, frame in tables.items()}


def step_failures(result) -> dict[str, str]:
    return {event.step_key: event.event_specific_data.error.message
            for event in result.all_events if event.event_type_value == "STEP_FAILURE"}


def ingested_files(result) -> list[str]:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == "inference_logs"]
    return event.materialization.metadata["files"].value


def test_demo_from_s3_matches_the_local_folder_and_mirrors_reports(project, demo_bucket, monkeypatch, tmp_path):
    local = run_model_days(project, RUNS)
    local_rows = stored_rows(load_settings().db_url)

    point_at_s3(monkeypatch, demo_bucket)
    demo_bucket.create_bucket(REPORTS_BUCKET)
    monkeypatch.setenv("MONITORING_REPORTS_URI", f"s3://{REPORTS_BUCKET}/reports")
    home = s3_project(tmp_path / "s3", monkeypatch, DATA_PREFIX)
    remote = run_model_days(home, RUNS)
    remote_rows = stored_rows(load_settings().db_url)

    for key in local:  # the same days succeed and fail (the null spike blocks its day) from either place
        assert remote[key].success == local[key].success, (key, step_failures(remote[key]))
    assert not remote[("credit_default", NULL_SPIKE)].success
    assert ingested_files(remote[("house_price", PLAIN_JSONL_DAY)]) == [
        f"{DATA_PREFIX}house_price/inference/dt={PLAIN_JSONL_DAY}/part-0000.jsonl"]
    assert ingested_files(remote[("credit_default", NULL_SPIKE)]) == [
        f"{DATA_PREFIX}credit_default/inference/dt={NULL_SPIKE}/part-0000.parquet"]
    # The label window of the house_price days spans both label encodings in the bucket, so equal performance
    # figures mean gzip CSV and CSV were both read.
    label_keys = demo_bucket.objects(DATA_BUCKET, "demo/house_price/labels/").keys()
    window = {f"dt={LATENCY_SPIKE + dt.timedelta(days=n)}" for n in range(8)}
    assert {key.rsplit(".", 1)[-1] for key in label_keys if key.split("/")[-2] in window} == {"csv", "gz"}

    assert all(len(local_rows[area]) > 0 for area in AREAS)
    for name, frame in local_rows.items():
        pd.testing.assert_frame_equal(remote_rows[name], frame, obj=name)

    reports_dir = home / "reports"
    local_reports = {path.relative_to(reports_dir).as_posix(): path.read_bytes()
                     for path in reports_dir.rglob("*") if path.is_file() and not path.name.startswith(".")}
    assert {"index.html", "house_price/index.html", f"credit_default/{NULL_SPIKE}/index.html",
            f"house_price/{LATENCY_SPIKE}/index.html"} <= set(local_reports)
    assert any(name.endswith(".png") for name in local_reports)
    mirrored = {key.removeprefix("reports/"): body for key, body in demo_bucket.objects(REPORTS_BUCKET).items()}
    assert mirrored.keys() == local_reports.keys()
    assert mirrored == local_reports


def test_report_upload_replaces_files_and_removes_stale_ones(server, tmp_path):
    server.create_bucket("upload-test")
    server.client().put_object(Bucket="upload-test", Key="reports/m/2026-10-05/index.html", Body=b"a day's report")
    store = ObjectStore(tmp_path, {"client_kwargs": {"endpoint_url": server.endpoint, "region_name": REGION}})
    folder = tmp_path / "reports" / "m"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text("first")
    (folder / "trend_old.png").write_bytes(b"old chart")
    (folder / ".lock").write_text("")
    store.upload_folder(folder, "s3://upload-test/reports/m")
    assert server.objects("upload-test") == {"reports/m/index.html": b"first", "reports/m/trend_old.png": b"old chart",
                                             "reports/m/2026-10-05/index.html": b"a day's report"}

    (folder / "index.html").write_text("second")
    (folder / "trend_old.png").unlink()
    (folder / "trend_new.png").write_bytes(b"new chart")
    store.upload_folder(folder, "s3://upload-test/reports/m")
    assert server.objects("upload-test") == {"reports/m/index.html": b"second", "reports/m/trend_new.png": b"new chart",
                                             "reports/m/2026-10-05/index.html": b"a day's report"}

    with pytest.raises(BucketNotFoundError, match="bucket 'no-reports-here' of s3://no-reports-here/reports/m "
                                                  "does not exist at http://127.0.0.1"):
        store.upload_folder(folder, "s3://no-reports-here/reports/m")


@pytest.fixture()
def s3_store(demo_bucket, monkeypatch, tmp_path) -> ObjectStore:
    """The object store the resources build from the environment variables."""
    point_at_s3(monkeypatch, demo_bucket)
    monkeypatch.setenv("MONITORING_HOME", str(tmp_path))
    return build_resources(load_settings(), resolve_env=True)["monitoring"].workspace().objects


def parquet_bytes(rows: list[dict]) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue().to_pybytes()


def test_files_added_between_two_listings_are_seen(s3_store, demo_bucket):
    day = dt.date(2026, 10, 5)
    source = DataSource(uri=f"s3://{DATA_BUCKET}/fresh/{{model}}/dt={{date}}/", format=FileFormat.PARQUET)
    partition = f"s3://{DATA_BUCKET}/fresh/m/dt={day}/"
    with pytest.raises(DataNotFoundError):
        s3_store.read_day(source, model="m", day=day)
    s3 = demo_bucket.client()
    s3.put_object(Bucket=DATA_BUCKET, Key=f"fresh/m/dt={day}/part-0000.parquet", Body=parquet_bytes([{"x": 1}]))
    assert s3_store.list_files(partition, FileFormat.PARQUET) == [f"{partition}part-0000.parquet"]
    # Another writer adds a file to the partition just listed: the file's own URI and the partition both show it.
    s3.put_object(Bucket=DATA_BUCKET, Key=f"fresh/m/dt={day}/part-0001.parquet", Body=parquet_bytes([{"x": 2}]))
    assert s3_store.list_files(f"{partition}part-0001.parquet", FileFormat.PARQUET) == [
        f"{partition}part-0001.parquet"]
    assert s3_store.read_day(source, model="m", day=day).table.to_pylist() == [{"x": 1}, {"x": 2}]
    [before] = s3_store.list_file_infos(f"{partition}part-0001.parquet", FileFormat.PARQUET)
    s3.put_object(Bucket=DATA_BUCKET, Key=f"fresh/m/dt={day}/part-0001.parquet", Body=parquet_bytes([{"x": 3}]))
    [after] = s3_store.list_file_infos(f"{partition}part-0001.parquet", FileFormat.PARQUET)
    assert after.version != before.version
    assert s3_store.read_day(source, model="m", day=day).table.to_pylist() == [{"x": 1}, {"x": 3}]


def test_reference_and_labels_read_from_the_bucket(s3_store, demo_root):
    reference = s3_store.list_files(f"{DATA_PREFIX}credit_default/reference/reference.parquet", FileFormat.PARQUET)
    assert reference == [f"{DATA_PREFIX}credit_default/reference/reference.parquet"]
    expected = pq.read_table(demo_root / "data" / "credit_default" / "reference" / "reference.parquet")
    assert s3_store.read_files(reference, FileFormat.PARQUET).equals(expected)
    labels = DataSource(uri=DATA_PREFIX + "{model}/labels/dt={date}/", format=FileFormat.CSV)
    local_labels = DataSource(uri="file://data/{model}/labels/dt={date}/", format=FileFormat.CSV)
    suffixes = set()
    for day in (LATENCY_SPIKE, LATENCY_SPIKE + dt.timedelta(days=1)):
        local = ObjectStore(demo_root).read_day(local_labels, model="house_price", day=day)
        remote = s3_store.read_day(labels, model="house_price", day=day)
        assert remote.table.equals(local.table)
        suffixes |= {path.rsplit("/", 1)[1].split(".", 1)[1] for path in remote.files}
    assert suffixes == {"csv", "csv.gz"}


def test_a_day_without_files_names_the_prefix(s3_store):
    source = DataSource(uri=DATA_PREFIX + "{model}/inference/dt={date}/", format=FileFormat.PARQUET)
    with pytest.raises(DataNotFoundError) as caught:
        s3_store.read_day(source, model="credit_default", day=dt.date(2026, 11, 30))
    assert str(caught.value) == (f"no parquet files for credit_default on 2026-11-30 under "
                                 f"{DATA_PREFIX}credit_default/inference/dt=2026-11-30/; "
                                 "check the monitor's URI or whether the export for that day ran")


def test_missing_bucket_fails_the_run_with_a_clear_message(project, demo_bucket, monkeypatch, tmp_path):
    point_at_s3(monkeypatch, demo_bucket)
    home = s3_project(tmp_path / "s3", monkeypatch, "s3://no-such-bucket/demo/")
    [result] = run_model_days(home, [("credit_default", NULL_SPIKE)]).values()
    assert not result.success
    failures = step_failures(result)
    assert list(failures) == ["credit_default__inference_logs"]
    message = failures["credit_default__inference_logs"]
    assert (f"bucket 'no-such-bucket' of s3://no-such-bucket/demo/credit_default/inference/dt={NULL_SPIKE}/ "
            f"does not exist at {demo_bucket.endpoint}") in message
    assert "create it, or fix the bucket in the URI" in message
    assert "Traceback" not in message


def test_unreachable_endpoint_names_it(tmp_path):
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    store = ObjectStore(tmp_path, {"client_kwargs": {"endpoint_url": endpoint, "region_name": REGION}})
    with pytest.raises(StorageUnreachableError) as caught:
        store.list_files(f"{DATA_PREFIX}credit_default/reference/reference.parquet", FileFormat.PARQUET)
    message = str(caught.value)
    assert message.startswith(f"cannot reach the object storage at {endpoint} for {DATA_PREFIX}credit_default/")
    assert "check MONITORING_S3_ENDPOINT_URL" in message


def test_missing_credentials_say_which_variables_to_set(s3_store, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    store = ObjectStore(s3_store.base_dir, {"client_kwargs": s3_store.storage_options["client_kwargs"]})
    with pytest.raises(StorageAccessDeniedError) as caught:
        store.list_files(f"{DATA_PREFIX}credit_default/reference/reference.parquet", FileFormat.PARQUET)
    assert str(caught.value).startswith(f"access denied to {DATA_PREFIX}credit_default/reference/reference.parquet "
                                        f"at {s3_store.endpoint}: Unable to locate credentials; "
                                        "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")


@pytest.fixture(scope="module")
def guarded_bucket():
    """A server of its own that checks signatures and IAM permissions, with a bucket and three users: one allowed
    to list and read it, one allowed only to list it, one with no permission at all."""
    server = start_server_or_skip()
    try:
        server.create_bucket("guarded")
        server.client().put_object(Bucket="guarded", Key="m/dt=2026-10-05/part-0000.parquet",
                                   Body=parquet_bytes([{"x": 1.5}]))
        iam = server.client("iam")
        users = {}
        for user, actions in (("reader", ["s3:ListBucket", "s3:GetObject"]), ("lister", ["s3:ListBucket"]),
                              ("outsider", [])):
            iam.create_user(UserName=user)
            if actions:
                policy = {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": actions,
                    "Resource": ["arn:aws:s3:::guarded", "arn:aws:s3:::guarded/*"]}]}
                iam.put_user_policy(UserName=user, PolicyName="s3", PolicyDocument=json.dumps(policy))
            key = iam.create_access_key(UserName=user)["AccessKey"]
            users[user] = (key["AccessKeyId"], key["SecretAccessKey"])
        server.enforce_authentication()
        yield server, users
    finally:
        server.stop()


GUARDED = DataSource(uri="s3://guarded/{model}/dt={date}/", format=FileFormat.PARQUET)


def guarded_store(server: MotoServer, monkeypatch, tmp_path, key: str, secret: str) -> ObjectStore:
    point_at_s3(monkeypatch, server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("MONITORING_HOME", str(tmp_path))
    return build_resources(load_settings(), resolve_env=True)["monitoring"].workspace().objects


def test_allowed_credentials_read_the_guarded_bucket(guarded_bucket, monkeypatch, tmp_path):
    server, users = guarded_bucket
    store = guarded_store(server, monkeypatch, tmp_path, *users["reader"])
    assert store.read_day(GUARDED, model="m", day=dt.date(2026, 10, 5)).table.to_pylist() == [{"x": 1.5}]


@pytest.mark.parametrize(("who", "reason"), [
    ("unknown key", "The AWS Access Key Id you provided does not exist in our records"),
    ("outsider", "Access Denied"),
])
def test_denied_listing_says_which_credentials_to_check(guarded_bucket, monkeypatch, tmp_path, who, reason):
    server, users = guarded_bucket
    key, secret = users.get(who, ("AKIAUNKNOWNUNKNOWN00", "not-a-secret"))
    store = guarded_store(server, monkeypatch, tmp_path, key, secret)
    with pytest.raises(StorageAccessDeniedError) as caught:
        store.read_day(GUARDED, model="m", day=dt.date(2026, 10, 5))
    message = str(caught.value)
    assert message.startswith(f"access denied to s3://guarded/m/dt=2026-10-05/ at {server.endpoint}: {reason}")
    assert "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in message


def test_denied_read_names_the_file(guarded_bucket, monkeypatch, tmp_path):
    server, users = guarded_bucket
    store = guarded_store(server, monkeypatch, tmp_path, *users["lister"])
    [path] = store.list_files("s3://guarded/m/dt=2026-10-05/", FileFormat.PARQUET)
    with pytest.raises(StorageAccessDeniedError, match=f"access denied to {path} at {server.endpoint}"):
        store.read_file(path, FileFormat.PARQUET)
