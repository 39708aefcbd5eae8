"""The demo data must show each documented incident exactly where documented and nothing elsewhere.

Every figure is measured here with independent tools (scipy, scikit-learn, the json/csv/gzip
modules), never with the generator's own helpers.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance
from sklearn.metrics import r2_score, roc_auc_score

from monitoring_jobs.demo_data import DEMO_DAYS, DEMO_START, INCIDENTS, Incident, generate_demo, incidents_for

CREDIT_NUMERIC = ["age", "income", "debt_ratio", "credit_utilization", "num_open_accounts"]
CREDIT_CATEGORICAL = ["region", "employment_type"]
CREDIT_COLUMNS = ["request_id", "timestamp", "model_version", *CREDIT_NUMERIC, *CREDIT_CATEGORICAL,
                  "score", "prediction", "latency_ms", "status"]
HOUSE_NUMERIC = ["sqft", "bedrooms", "bathrooms", "year_built", "lot_size"]
HOUSE_CATEGORICAL = ["neighborhood", "property_type"]
HOUSE_COLUMNS = ["request_id", "timestamp", "model_version", *HOUSE_NUMERIC, *HOUSE_CATEGORICAL,
                 "prediction", "latency_ms", "status"]
DRIFTED = ["income", "credit_utilization"]
DRIFT_DAYS = range(15, 30)
BORDERLINE = ["debt_ratio"]  # the performance drop picks borderline applicants, who owe more
BORDERLINE_DAYS = range(24, 27)
ROWS = 2000


def day_of(index: int, start: dt.date = DEMO_START) -> dt.date:
    return start + dt.timedelta(days=index)


def read_jsonl_gz(path: Path) -> pd.DataFrame:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return pd.DataFrame([json.loads(line) for line in handle])


def read_csv(path: Path) -> pd.DataFrame:
    with path.open(newline="", encoding="utf-8") as handle:
        return pd.DataFrame(list(csv.DictReader(handle)))


def normed_wasserstein(current: pd.Series, reference: pd.Series) -> float:
    current, reference = current.dropna().astype(float), reference.dropna().astype(float)
    return wasserstein_distance(current, reference) / np.std(reference)


def js_distance(current: pd.Series, reference: pd.Series) -> float:
    categories = sorted(set(current) | set(reference))
    cur = current.value_counts(normalize=True).reindex(categories, fill_value=0.0)
    ref = reference.value_counts(normalize=True).reindex(categories, fill_value=0.0)
    return float(jensenshannon(cur.to_numpy(), ref.to_numpy()))


@dataclass
class Demo:
    root: Path
    written: list[Path]
    reference: pd.DataFrame
    credit: dict[int, pd.DataFrame]  # day index -> inference rows
    house: dict[int, pd.DataFrame]
    credit_labels: pd.DataFrame  # with arrival_day and prediction_day
    house_labels: pd.DataFrame


def load_labels(files: list[Path], read, inference: dict[int, pd.DataFrame]) -> pd.DataFrame:
    frames = []
    for path in files:
        frame = read(path)
        frame["arrival_date"] = dt.date.fromisoformat(path.parent.name.removeprefix("dt="))
        frames.append(frame)
    labels = pd.concat(frames, ignore_index=True)
    owner = pd.concat([df[["request_id"]].assign(prediction_day=day) for day, df in inference.items()])
    labels = labels.merge(owner, on="request_id", how="left", validate="one_to_one")
    labels["arrival_day"] = [(d - DEMO_START).days for d in labels["arrival_date"]]
    return labels


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    root = tmp_path_factory.mktemp("demo")
    written = generate_demo(root)
    credit = {i: pq.read_table(root / f"credit_default/inference/dt={day_of(i)}/part-0000.parquet").to_pandas()
              for i in range(DEMO_DAYS)}
    house = {i: read_jsonl_gz(root / f"house_price/inference/dt={day_of(i)}/part-0000.jsonl.gz")
             for i in range(DEMO_DAYS)}
    credit_labels = load_labels(sorted(root.glob("credit_default/labels/dt=*/part-0000.parquet")),
                                lambda p: pq.read_table(p).to_pandas(), credit)
    house_labels = load_labels(sorted(root.glob("house_price/labels/dt=*/part-0000.csv")), read_csv, house)
    house_labels["label"] = house_labels["label"].astype(float)
    reference = pq.read_table(root / "credit_default/reference/reference.parquet").to_pandas()
    return Demo(root, written, reference, credit, house, credit_labels, house_labels)


def joined(inference: dict[int, pd.DataFrame], labels: pd.DataFrame, day: int, prediction: str) -> pd.DataFrame:
    rows = inference[day].merge(labels[["request_id", "label"]], on="request_id")
    return rows[rows[prediction].notna()]


# ---------------------------------------------------------------------------------------------
# Determinism, layout and formats


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path):
    def snapshot(root: Path, seed: int) -> dict[str, bytes]:
        generate_demo(root, days=4, rows_per_day=60, seed=seed)
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    first, again, other = snapshot(tmp_path / "a", 3), snapshot(tmp_path / "b", 3), snapshot(tmp_path / "c", 4)
    assert first == again
    assert first.keys() == other.keys()
    assert all(first[name] != other[name] for name in first)
    # Two runs inside one second would not notice a wall clock in the gzip header (MTIME, bytes 4-8).
    gzipped = [data for name, data in first.items() if name.endswith(".gz")]
    assert gzipped and all(data[4:8] == b"\x00\x00\x00\x00" for data in gzipped)


def test_a_day_does_not_depend_on_how_many_days_are_generated(tmp_path):
    generate_demo(tmp_path / "short", days=2, rows_per_day=40)
    generate_demo(tmp_path / "long", days=5, rows_per_day=40)
    for name in ["credit_default/inference/dt=2026-10-02/part-0000.parquet",
                 "house_price/inference/dt=2026-10-02/part-0000.jsonl.gz",
                 "llm_assistant/inference/dt=2026-10-02/part-0000.parquet",
                 "credit_default/reference/reference.parquet", "llm_assistant/reference/reference.parquet"]:
        assert (tmp_path / "short" / name).read_bytes() == (tmp_path / "long" / name).read_bytes()


def test_returned_paths_are_exactly_the_files_on_disk_in_the_documented_layout(demo):
    on_disk = {p for p in demo.root.rglob("*") if p.is_file()}
    assert set(demo.written) == on_disk
    assert len(demo.written) == len(on_disk)
    assert not [p for p in on_disk if p.name.startswith(".")], "temp files left behind"
    expected_inference = {demo.root / f"{model}/inference/dt={day_of(i)}/part-0000.{ext}"
                          for model, ext in (("credit_default", "parquet"), ("house_price", "jsonl.gz"),
                                             ("llm_assistant", "parquet"))
                          for i in range(DEMO_DAYS)}
    assert expected_inference <= on_disk
    references = {demo.root / f"{model}/reference/reference.parquet" for model in ("credit_default", "llm_assistant")}
    assert references <= on_disk
    label_files = on_disk - expected_inference - references
    for path in label_files:
        assert path.parent.parent.name == "labels"
        assert path.name == {"credit_default": "part-0000.parquet", "house_price": "part-0000.csv",
                             "llm_assistant": "part-0000.jsonl"}[path.parent.parent.parent.name]


def test_credit_files_have_the_contracted_arrow_types(demo):
    inference = pq.read_schema(demo.root / f"credit_default/inference/dt={DEMO_START}/part-0000.parquet")
    assert inference.names == CREDIT_COLUMNS
    types = dict(zip(inference.names, inference.types, strict=True))
    assert types["timestamp"] == pa.timestamp("us", tz="UTC")
    assert types["num_open_accounts"] == types["prediction"] == pa.int64()
    for name in ["age", "income", "debt_ratio", "credit_utilization", "score", "latency_ms"]:
        assert types[name] == pa.float64(), name
    for name in ["request_id", "model_version", "region", "employment_type", "status"]:
        assert types[name] == pa.string(), name
    # The reference is the same rows plus their labels (for CBPE and label drift).
    assert pq.read_schema(demo.root / "credit_default/reference/reference.parquet") == \
        inference.append(pa.field("label", pa.int64()))
    assert set(demo.reference["label"]) == {0, 1}
    labels = pq.read_schema(next(demo.root.glob("credit_default/labels/dt=*/part-0000.parquet")))
    assert labels.names == ["request_id", "label", "labeled_at"]
    assert labels.types == [pa.string(), pa.int64(), pa.timestamp("us", tz="UTC")]
    assert set(demo.credit_labels["label"]) == {0, 1}


def test_house_files_are_gzip_json_lines_and_csv_with_the_contracted_fields(demo):
    path = demo.root / f"house_price/inference/dt={day_of(7)}/part-0000.jsonl.gz"
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    assert all(list(record) == HOUSE_COLUMNS for record in records)
    for record in records:
        assert isinstance(record["bedrooms"], int) and isinstance(record["year_built"], int)
        assert isinstance(record["sqft"], float) and isinstance(record["bathrooms"], float)
        assert record["timestamp"].endswith("Z")
        parsed = dt.datetime.fromisoformat(record["timestamp"])
        assert parsed.tzinfo is not None and parsed.date() == day_of(7)
        assert (record["prediction"] is None) == (record["status"] != "ok")
    assert set(demo.house[0]["neighborhood"]) == {f"n{i:02d}" for i in range(1, 9)}
    assert set(demo.house[0]["property_type"]) == {"house", "condo", "townhouse"}
    label_file = next(demo.root.glob("house_price/labels/dt=*/part-0000.csv"))
    assert label_file.read_text(encoding="utf-8").splitlines()[0] == "request_id,label,labeled_at"
    assert (demo.house_labels["label"] > 0).all()
    arrival = pd.to_datetime(demo.house_labels["labeled_at"], utc=True).dt.date
    assert (arrival == demo.house_labels["arrival_date"]).all()


def test_credit_categories_are_the_documented_ones(demo):
    frame = pd.concat(demo.credit.values())
    assert set(frame["region"]) == {"north", "south", "east", "west"}
    assert set(frame["employment_type"]) == {"salaried", "self_employed", "unemployed", "retired"}
    assert set(frame["status"]) == {"ok", "error", "timeout"}


# ---------------------------------------------------------------------------------------------
# Requests, volume, status, version


def test_request_ids_are_unique_across_days_and_timestamps_fall_inside_their_day(demo):
    for inference, parse in ((demo.credit, lambda s: s), (demo.house, lambda s: pd.to_datetime(s, utc=True))):
        everything = pd.concat(inference.values())
        assert everything["request_id"].is_unique
        for day, frame in inference.items():
            stamps = parse(frame["timestamp"])
            assert (stamps.dt.date == day_of(day)).all()
            assert stamps.is_monotonic_increasing
            assert stamps.dt.hour.nunique() == 24  # spread over the day, not bunched
    ids = set(pd.concat(demo.credit.values())["request_id"]) | set(pd.concat(demo.house.values())["request_id"])
    assert not ids & set(demo.reference["request_id"])


def test_volume_varies_within_ten_percent(demo):
    for inference in (demo.credit, demo.house):
        counts = np.array([len(frame) for frame in inference.values()])
        assert ((counts >= 0.9 * ROWS) & (counts <= 1.1 * ROWS)).all()
        assert len(set(counts)) > 10


def test_failed_rows_have_no_score_and_predictions_follow_the_score(demo):
    for day, frame in demo.credit.items():
        ok = frame["status"] == "ok"
        assert frame.loc[~ok, ["score", "prediction"]].isna().all().all()
        assert frame.loc[ok, ["score", "prediction"]].notna().all().all()
        assert ((frame.loc[ok, "score"] >= 0.5).astype(int) == frame.loc[ok, "prediction"]).all()
        assert frame["score"].dropna().between(0, 1).all()
        assert frame.loc[~ok, [c for c in CREDIT_NUMERIC if c != "debt_ratio"]].notna().all().all()
        assert 0.0 < 1 - ok.mean() < 0.02, day
        assert 60 < frame.loc[ok, "latency_ms"].median() < 100
    for frame in demo.house.values():
        ok = frame["status"] == "ok"
        assert frame.loc[~ok, "prediction"].isna().all() and frame.loc[ok, "prediction"].notna().all()
        assert frame.loc[~ok, HOUSE_NUMERIC].notna().all().all()


def test_model_version_switches_to_v2_at_noon_on_day_12(demo):
    switch = pd.Timestamp(dt.datetime.combine(day_of(12), dt.time(12), tzinfo=dt.UTC))
    for day, frame in demo.credit.items():
        expected = np.where(frame["timestamp"] >= switch, "v2", "v1")
        assert (frame["model_version"].to_numpy() == expected).all(), day
    assert set(demo.credit[12]["model_version"]) == {"v1", "v2"}
    assert set(demo.house[11]["model_version"]) == {"v1"} and set(demo.house[13]["model_version"]) == {"v2"}
    assert set(demo.reference["model_version"]) == {"v1"}


def test_reference_is_a_separate_clean_sample_of_the_week_before(demo):
    assert len(demo.reference) == 5000
    stamps = demo.reference["timestamp"]
    first = pd.Timestamp(dt.datetime.combine(DEMO_START, dt.time(), tzinfo=dt.UTC))
    assert (stamps < first).all() and (stamps >= first - pd.Timedelta(days=7)).all()
    assert demo.reference[[*CREDIT_NUMERIC, "request_id", "timestamp"]].notna().all().all()
    assert np.isin(demo.reference["income"], demo.credit[0]["income"]).mean() < 0.01  # its own random stream


# ---------------------------------------------------------------------------------------------
# Labels


def test_every_label_arrives_one_to_seven_days_late_inside_the_period(demo):
    for labels in (demo.credit_labels, demo.house_labels):
        assert labels["request_id"].is_unique
        assert labels["prediction_day"].notna().all(), "label for an unknown request"
        delay = labels["arrival_day"] - labels["prediction_day"]
        assert delay.between(1, 7).all()
        assert set(delay) == set(range(1, 8))
        assert labels["arrival_day"].between(1, DEMO_DAYS - 1).all()
    stamps = demo.credit_labels["labeled_at"]
    assert (stamps.dt.date == demo.credit_labels["arrival_date"]).all()


def test_about_ninety_percent_of_requests_get_a_label(demo):
    for inference, labels in ((demo.credit, demo.credit_labels), (demo.house, demo.house_labels)):
        per_day = labels.groupby("prediction_day").size()
        for day in range(DEMO_DAYS - 7):  # every possible arrival day lies inside the period
            assert 0.86 < per_day[day] / len(inference[day]) < 0.94, day
        assert per_day.get(DEMO_DAYS - 1, 0) == 0  # its labels arrive after the period
        assert per_day[DEMO_DAYS - 2] < 0.4 * len(inference[DEMO_DAYS - 2])


def test_labels_after_the_period_are_not_written(tmp_path):
    generate_demo(tmp_path, days=3, rows_per_day=100)
    for model, ext in (("credit_default", "parquet"), ("house_price", "csv"), ("llm_assistant", "jsonl")):
        partitions = sorted(p.parent.name for p in tmp_path.glob(f"{model}/labels/dt=*/part-0000.{ext}"))
        assert partitions == ["dt=2026-10-02", "dt=2026-10-03"]


def test_the_model_is_decent_on_clean_days(demo):
    for day in (0, 5, 13, 20):
        credit = joined(demo.credit, demo.credit_labels, day, "score")
        assert 0.75 < roc_auc_score(credit["label"], credit["score"]) < 0.86, day
        assert 0.15 < credit["label"].mean() < 0.45, day
        house = joined(demo.house, demo.house_labels, day, "prediction")
        assert 0.72 < r2_score(house["label"], house["prediction"]) < 0.88, day


# ---------------------------------------------------------------------------------------------
# Incidents, and their absence elsewhere


def test_incident_table_matches_the_brief():
    table = {(i.model, i.kind): (i.first_day, i.last_day, i.columns) for i in INCIDENTS}
    assert table == {
        ("credit_default", "drift"): (day_of(15), day_of(29), ("income", "credit_utilization")),
        ("credit_default", "null_spike"): (day_of(10), day_of(10), ("debt_ratio",)),
        ("house_price", "latency_error_spike"): (day_of(7), day_of(7), ("latency_ms", "status")),
        ("credit_default", "performance_drop"): (day_of(24), day_of(26), ("score", "debt_ratio", "label")),
        ("house_price", "performance_drop"): (day_of(22), day_of(24), ("label",)),
        ("llm_assistant", "cost_overrun"): (day_of(5), day_of(5), ("retrieved_docs", "prompt_tokens", "cost_usd")),
        ("llm_assistant", "slow_generation"): (day_of(9), day_of(9), ("latency_ms", "status")),
        ("llm_assistant", "quality_drop"): (day_of(17), day_of(19), ("quality_score", "confidence", "label")),
        ("llm_assistant", "traffic_drop"): (day_of(23), day_of(23), ("timestamp",)),
    }
    assert all(isinstance(i, Incident) and i.description for i in INCIDENTS)
    shifted = incidents_for(dt.date(2027, 3, 1))
    assert [i.first_day - dt.date(2027, 3, 1) for i in shifted] == [i.first_day - DEMO_START for i in INCIDENTS]


def test_clean_credit_days_do_not_look_drifted(demo):
    for day, frame in demo.credit.items():
        for column in CREDIT_NUMERIC:
            if (column in DRIFTED and day in DRIFT_DAYS) or (column in BORDERLINE and day in BORDERLINE_DAYS):
                continue
            assert normed_wasserstein(frame[column], demo.reference[column]) < 0.09, (day, column)
        for column in CREDIT_CATEGORICAL:
            assert js_distance(frame[column], demo.reference[column]) < 0.06, (day, column)
        if day != 10:
            assert frame[[*CREDIT_NUMERIC, *CREDIT_CATEGORICAL, "request_id", "timestamp"]].notna().all().all()


def test_clean_house_days_do_not_look_drifted_against_the_previous_week(demo):
    for day in range(1, DEMO_DAYS):
        current = demo.house[day]
        previous = pd.concat([demo.house[d] for d in range(max(0, day - 7), day)])
        for column in [*HOUSE_NUMERIC, "prediction"]:
            assert normed_wasserstein(current[column], previous[column]) < 0.09, (day, column)
        for column in HOUSE_CATEGORICAL:
            assert js_distance(current[column], previous[column]) < 0.06, (day, column)
        assert current[[*HOUSE_COLUMNS[:3], *HOUSE_NUMERIC, *HOUSE_CATEGORICAL]].notna().all().all()


def test_credit_drift_starts_on_day_15_and_grows_until_unmistakable(demo):
    for column in DRIFTED:
        distance = {d: normed_wasserstein(demo.credit[d][column], demo.reference[column]) for d in range(DEMO_DAYS)}
        assert max(distance[d] for d in range(15)) < 0.09
        assert all(distance[d] >= 0.25 for d in range(20, DEMO_DAYS)), column
        assert all(distance[d + 2] > distance[d] for d in range(14, DEMO_DAYS - 2)), column
        assert distance[29] > 0.8
    reference_mean = demo.reference[DRIFTED].mean()
    assert demo.credit[25]["income"].mean() < reference_mean["income"]
    assert demo.credit[25]["credit_utilization"].mean() > reference_mean["credit_utilization"]
    assert demo.credit[25]["credit_utilization"].between(0, 1).all() and (demo.credit[29]["income"] > 0).all()
    # The model scored the shifted (riskier) applicants: its mean score follows the drift.
    before = np.mean([demo.credit[d]["score"].mean() for d in range(15)])
    assert demo.credit[29]["score"].mean() > before + 0.15


def test_debt_ratio_null_spike_only_on_day_10(demo):
    for day, frame in demo.credit.items():
        share = frame["debt_ratio"].isna().mean()
        assert share == pytest.approx(0.4, abs=0.001) if day == 10 else share == 0.0, day
    other = [c for c in CREDIT_COLUMNS if c not in ("debt_ratio", "score", "prediction")]
    assert demo.credit[10][other].notna().all().all()


def test_house_latency_and_error_spike_only_on_day_7(demo):
    def error_rate(frame: pd.DataFrame) -> float:
        return float((frame["status"] != "ok").mean())

    def p95(frame: pd.DataFrame) -> float:
        return float(np.percentile(frame["latency_ms"], 95))

    def ok_median(frame: pd.DataFrame) -> float:
        return float(frame.loc[frame["status"] == "ok", "latency_ms"].median())

    clean = [d for d in range(DEMO_DAYS) if d != 7]
    spike = demo.house[7]
    assert 0.12 < error_rate(spike) < 0.18
    assert set(spike["status"]) == {"ok", "error", "timeout"}
    assert max(error_rate(demo.house[d]) for d in clean) < 0.03
    assert p95(spike) > 4 * max(p95(demo.house[d]) for d in clean)
    assert 5 < ok_median(spike) / np.median([ok_median(demo.house[d]) for d in clean]) < 7
    assert max(p95(f) for f in demo.credit.values()) < 2 * min(p95(f) for f in demo.credit.values())


def test_credit_auc_drops_only_on_days_24_to_26(demo):
    auc = {}
    for day in range(DEMO_DAYS):
        rows = joined(demo.credit, demo.credit_labels, day, "score")
        if len(rows) >= 200:
            auc[day] = roc_auc_score(rows["label"], rows["score"])
    drop = [24, 25, 26]
    assert set(drop) <= set(auc) and len(auc) >= 27
    assert all(auc[d] < 0.65 for d in drop), auc
    assert all(value > 0.75 for d, value in auc.items() if d not in drop), auc


def test_house_prices_are_thirty_percent_above_predictions_only_on_days_22_to_24(demo):
    error = {}
    for day in range(DEMO_DAYS - 1):
        rows = joined(demo.house, demo.house_labels, day, "prediction")
        error[day] = (
            float(np.mean((rows["label"] - rows["prediction"]) / rows["prediction"])),
            float(np.mean(np.abs(rows["label"] - rows["prediction"]))),
        )
    drop = [22, 23, 24]
    clean_mae = max(mae for d, (_, mae) in error.items() if d not in drop)
    for day, (relative, mae) in error.items():
        if day in drop:
            assert 0.25 < relative < 0.37 and mae > 1.8 * clean_mae, day
        else:
            assert abs(relative) < 0.05, day


def test_incidents_move_with_the_start_date(tmp_path):
    start = dt.date(2027, 3, 1)
    generate_demo(tmp_path, start=start, days=11, rows_per_day=300)
    frames = {i: pq.read_table(tmp_path / f"credit_default/inference/dt={day_of(i, start)}/part-0000.parquet")
              .to_pandas() for i in (9, 10)}
    assert frames[9]["debt_ratio"].isna().sum() == 0
    assert frames[10]["debt_ratio"].isna().mean() == pytest.approx(0.4, abs=0.01)
    assert (frames[10]["request_id"].str.contains("20270311")).all()


# ---------------------------------------------------------------------------------------------
# Bad arguments


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"days": 0}, ValueError, "days"),
    ({"rows_per_day": 0}, ValueError, "rows_per_day"),
    ({"rows_per_day": 2.5}, ValueError, "rows_per_day"),
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": True}, ValueError, "seed"),
    ({"start": dt.datetime(2026, 10, 1)}, TypeError, "start"),
    ({"start": "2026-10-01"}, TypeError, "start"),
])
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        generate_demo(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_tiny_days_still_produce_valid_files(tmp_path):
    written = generate_demo(tmp_path, days=2, rows_per_day=1)
    frame = pq.read_table(tmp_path / f"credit_default/inference/dt={DEMO_START}/part-0000.parquet").to_pandas()
    assert len(frame) == 1 and frame.columns.tolist() == CREDIT_COLUMNS
    assert all(path.exists() for path in written)
