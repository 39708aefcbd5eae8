"""Rolling references from stored day profiles: what the pipeline stores, that drift reads no raw log,
that a day's reference costs the same however long the backfill, and that the profile path agrees with
the exact raw path within the stated bounds.

Oracles: the raw path (``compute_drift`` on the concatenated raw inference rows, read before anything
was profiled) and scipy on the raw arrays. Demo days come from ``monitoring_jobs.demo_data``, whose
house_price incidents touch no feature.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from monitoring_jobs import pipeline, profiles
from monitoring_jobs.config import load_monitors
from monitoring_jobs.demo_data import DEMO_DAYS, DEMO_START, INCIDENTS
from monitoring_jobs.drift import DriftLabels, compute_drift
from monitoring_jobs.metrics import CheckOutcome
from monitoring_jobs.pipeline import (
    Workspace,
    load_drift_reference,
    load_reference,
    load_rolling_reference,
    profile_inference_day,
    read_inference,
    save_outcomes,
)
from monitoring_jobs.profiles import merge_all, profile_day, profile_path
from monitoring_jobs.stages import drift_stage, ingest_stage
from monitoring_jobs.storage import ObjectStore
from monitoring_jobs.validation import load_suite
from tests.conftest import MONITORS_DIR, SUITES_DIR
from tests.helpers import build_monitor, make_workspace

DAYS = [DEMO_START + dt.timedelta(days=offset) for offset in range(DEMO_DAYS)]
MONITORS = {monitor.name: monitor for monitor in load_monitors(MONITORS_DIR)}
HOUSE = MONITORS["house_price"]
WINDOW = HOUSE.reference.window_days


@dataclasses.dataclass(frozen=True)
class Ingested:
    workspace: Workspace
    raw: dict[dt.date, pd.DataFrame]  # every day's raw inference rows, read before anything was profiled

    def raw_window(self, day: dt.date, window: int = WINDOW) -> pd.DataFrame:
        """The exact path's reference: the raw rows of the previous ``window`` days (inside the demo)."""
        return pd.concat([self.raw[previous] for previous in DAYS if day - dt.timedelta(days=window) <= previous < day],
                         ignore_index=True)


@pytest.fixture(scope="module")
def house(demo_root, tmp_path_factory) -> Ingested:
    """The 30 house_price demo days ingested through ``ingest_stage``, as a backfill would."""
    workspace = make_workspace(demo_root, tmp_path_factory.mktemp("house_price"))
    raw = {day: read_inference(workspace, HOUSE, day).frame for day in DAYS}
    suite = load_suite(SUITES_DIR / "house_price.json")
    for day in DAYS:
        assert not ingest_stage(workspace, HOUSE, day, suite).blocking
    return Ingested(workspace, raw)


@pytest.fixture()
def no_raw_reads(monkeypatch):
    """Any read of inference logs (or any other object) from here on fails the test."""
    def refuse(self, *args, **kwargs):
        raise AssertionError(f"object storage read: {args}")

    for name in ("read_day", "read_files", "read_file", "list_files", "list_file_infos"):
        monkeypatch.setattr(ObjectStore, name, refuse)


@pytest.fixture()
def profile_reads(monkeypatch) -> list[Path]:
    """The profile files read from here on."""
    read: list[Path] = []
    load = profiles.store.load_profile

    def counting(path):
        read.append(Path(path))
        return load(path)

    monkeypatch.setattr(profiles.store, "load_profile", counting)
    return read


# --- the pipeline stores profiles and builds rolling references from them --------------------------------

def test_every_ingested_day_has_its_profile_of_the_drift_columns_with_every_row_sampled(house):
    state = house.workspace.state_dir
    assert sorted(path.name for path in (state / "profiles" / "house_price").iterdir()) == [
        f"{day.isoformat()}.json" for day in DAYS]
    day = DAYS[4]
    stored = profiles.load_profile(profile_path(state, "house_price", day))
    raw = house.raw[day]
    assert stored.days == (day,) and stored.rows == len(raw)
    columns = HOUSE.columns
    assert set(stored.columns) == {*columns.features, "prediction"}  # the logs carry no label
    for name in columns.numeric_features:
        assert stored.columns[name].moments.count == raw[name].notna().sum()
    for name in columns.categorical_features:
        assert stored.columns[name].counts == raw[name].value_counts().to_dict()
    assert stored.sample_is_complete
    sampled = ["timestamp", *columns.features, "prediction"]
    pd.testing.assert_frame_equal(stored.sample, raw[sampled], check_dtype=False)


def test_a_rolling_reference_reads_no_raw_inference_file(house, no_raw_reads, profile_reads):
    day = DAYS[12]
    result = drift_stage(house.workspace, HOUSE, day)
    window = DAYS[12 - WINDOW:12]
    assert sorted(profile_reads) == [profile_path(house.workspace.state_dir, "house_price", d) for d in window]
    assert result.facts["reference"] == (f"previous {WINDOW} day(s), {window[0]} to {window[-1]}, merged from their "
                                         "stored profiles")
    exact = house.raw_window(day)
    assert result.facts["reference_rows"] == len(exact)
    assert {outcome.name: outcome.passed for outcome in result.outcomes} == {"feature_drift": True,
                                                                             "prediction_drift": True}
    # The report's reference rows are the merged row samples: here every raw row, without reading one.
    rows, described = load_reference(house.workspace, HOUSE, day)
    pd.testing.assert_frame_equal(rows, exact[rows.columns], check_dtype=False)
    assert "merged from their stored profiles" in described


def test_building_a_days_reference_reads_window_days_profiles_however_long_the_backfill(
        house, no_raw_reads, profile_reads, monkeypatch):
    """A day's reference costs one small file per window day: day 29 of a backfill reads as many as day 8,
    so a backfill of N days reads at most N x window_days profiles (linear in N) and no raw log."""
    snapshot_reads = []
    monkeypatch.setattr(pipeline, "read_validated_snapshot", lambda *args: snapshot_reads.append(args))
    for monitor, window in ((HOUSE, WINDOW), (monitor_with(HOUSE, reference={"kind": "rolling", "window_days": 20}),
                                              20)):
        for index in (3, window, 15, 22, DEMO_DAYS - 1):
            profile_reads.clear()
            reference, _ = load_rolling_reference(house.workspace, monitor, DAYS[index])
            assert len(profile_reads) == len(reference.days) == min(index, window), (window, index)
    assert snapshot_reads == []


def test_days_without_a_profile_are_profiled_once_from_their_snapshot_or_left_out_by_name(
        house, tmp_path, no_raw_reads, profile_reads):
    shutil.copytree(house.workspace.state_dir, tmp_path / ".state")
    workspace = dataclasses.replace(house.workspace, state_dir=tmp_path / ".state")
    before_profiles, not_ingested, blocked = DAYS[3], DAYS[4], DAYS[5]
    kept = profiles.load_profile(profile_path(workspace.state_dir, "house_price", before_profiles))
    for day in (before_profiles, not_ingested, blocked):
        profile_path(workspace.state_dir, "house_price", day).unlink()
    workspace.snapshot_path("house_price", not_ingested).unlink()
    save_outcomes(workspace, "house_price", blocked, "ingest",
                  [CheckOutcome("nulls", False, "ERROR", "sqft is 40% null")])

    day = DAYS[8]
    reference, described = load_rolling_reference(workspace, HOUSE, day)
    assert reference.days == tuple(d for d in DAYS[1:8] if d not in (not_ingested, blocked))
    assert described == (f"previous 5 day(s), {DAYS[1]} to {DAYS[7]}, merged from their stored profiles; 1 of them "
                         f"profiled now from their snapshots; left out {not_ingested} (not ingested), {blocked} "
                         "(failed an ERROR check)")
    rebuilt = profiles.load_profile(profile_path(workspace.state_dir, "house_price", before_profiles))
    assert rebuilt.rows == kept.rows and rebuilt.columns["neighborhood"] == kept.columns["neighborhood"]
    pd.testing.assert_frame_equal(rebuilt.sample, kept.sample)
    _, again = load_rolling_reference(workspace, HOUSE, day)
    assert "profiled now" not in again  # once: the next reference finds the stored profile

    _, nothing = load_rolling_reference(workspace, HOUSE, DAYS[0])
    assert nothing == f"no reference yet: none of the previous {WINDOW} days has been ingested"


def test_ingest_stores_a_passing_days_profile_replaces_it_on_a_rerun_and_removes_a_blocked_days(
        demo_root, tmp_path):
    credit = MONITORS["credit_default"]
    workspace = make_workspace(demo_root, tmp_path)
    suite = load_suite(SUITES_DIR / "credit_default.json")
    spike = next(i for i in INCIDENTS if i.model == "credit_default" and i.kind == "null_spike").first_day
    clean = spike - dt.timedelta(days=1)
    folder = workspace.state_dir / "profiles" / "credit_default"
    ingest_stage(workspace, credit, clean, suite)
    first = profiles.load_profile(profile_path(workspace.state_dir, "credit_default", clean))
    ingest_stage(workspace, credit, clean, suite)
    assert [path.name for path in folder.iterdir()] == [f"{clean}.json"]  # replaced, no temp file left
    second = profiles.load_profile(profile_path(workspace.state_dir, "credit_default", clean))
    assert second.rows == first.rows and second.columns["region"] == first.columns["region"]
    pd.testing.assert_frame_equal(second.sample, first.sample)

    stale = profile_path(workspace.state_dir, "credit_default", spike)
    profiles.save_profile(stale, first)  # left by an earlier run, before the data was found broken
    assert ingest_stage(workspace, credit, spike, suite).blocking == ["nulls"]
    assert not stale.exists()


# --- the profile path against the exact raw path on the demo ---------------------------------------------

def monitor_with(monitor, **changes):
    return monitor.model_validate({**monitor.model_dump(mode="json"), **changes})


def assert_agrees(profiled, exact, context):
    """Each statistic within the profile path's stated bound of the raw one (exact ones to rounding), and the
    same verdict unless the raw decision figure lies within that bound of the threshold."""
    assert profiled.method == exact.method and profiled.threshold == pytest.approx(exact.threshold), context
    bound = profiled.error_bound
    assert bound == 0 or profiled.method in ("ks", "wasserstein"), context
    if profiled.method == "z_test":  # the sign follows the order of the two categories
        assert abs(profiled.statistic) == pytest.approx(abs(exact.statistic), rel=1e-9), context
    else:
        assert abs(profiled.statistic - exact.statistic) <= bound + 1e-9 * max(1.0, abs(exact.statistic)), context
    assert (profiled.reference_rows, profiled.current_rows) == (exact.reference_rows, exact.current_rows), context
    margin = abs(exact.decision_value - exact.threshold)
    if bound == 0 or margin > bound:
        assert profiled.drifted == exact.drifted, (context, exact.decision_value, exact.threshold, bound)
    return margin > bound


@pytest.mark.parametrize("calibrated, checked_share", [(False, 0.9), (True, 0.6)],
                         ids=["fixed_thresholds", "calibrated_thresholds"])
def test_the_profile_path_agrees_with_the_raw_path_on_every_demo_day(house, calibrated, checked_share):
    """``checked_share``: at least this share of the verdicts lies farther than the bound from its threshold, so
    the test compares decisions and is not vacuous (calibrated bands sit closer to the day's statistics; on this
    short rolling reference they flag some clean days, which the profile path must flag alike)."""
    monitor = monitor_with(HOUSE, drift={"calibration": {"enabled": True}}) if calibrated else HOUSE
    house_incidents = [incident for incident in INCIDENTS if incident.model == "house_price"]
    checked, drifted_and_checked = 0, 0
    for day in DAYS[1:]:
        current = house.raw[day]
        reference, _ = load_drift_reference(house.workspace, monitor, day)
        profiled = compute_drift(reference, current, monitor)
        exact = compute_drift(house.raw_window(day), current, monitor)
        for mine, theirs in zip([*profiled.features, profiled.prediction], [*exact.features, exact.prediction]):
            decisive = assert_agrees(mine, theirs, (day, mine.feature))
            checked += decisive
            drifted_and_checked += decisive and theirs.drifted
            if mine.band is not None:  # the row sample holds every row here: the bands are the raw ones
                assert (mine.band.mean, mine.band.std) == (pytest.approx(theirs.band.mean, abs=1e-12),
                                                           pytest.approx(theirs.band.std, abs=1e-12))
        # every row is in the sample, so the multivariate error and its band are the raw ones
        assert profiled.multivariate.error == pytest.approx(exact.multivariate.error, rel=1e-12)
        assert profiled.multivariate.band.upper == pytest.approx(exact.multivariate.band.upper, rel=1e-12)
        assert profiled.multivariate_drifted == exact.multivariate_drifted
        if not calibrated:  # the documented incidents touch no house_price feature: no day flags one
            expected = {column for incident in house_incidents if incident.first_day <= day <= incident.last_day
                        for column in incident.columns} & set(monitor.columns.features)
            assert sorted(profiled.drifted_features()) == sorted(exact.drifted_features()) == sorted(expected)
            assert not profiled.multivariate_drifted
    assert checked >= checked_share * 8 * (len(DAYS) - 1)
    assert drifted_and_checked > 0 if calibrated else drifted_and_checked == 0  # flags agree too, not only calm


# --- the engine's profile path on synthetic data ------------------------------------------------------------

def synthetic_days(rng, days: int, rows: int, shift: float = 0.0) -> list[pd.DataFrame]:
    start = pd.Timestamp("2026-09-01", tz="UTC")
    return [pd.DataFrame({
        "timestamp": start + pd.Timedelta(days=index) + pd.to_timedelta(np.sort(rng.uniform(0, 86_000, rows)), "s"),
        "amount": rng.lognormal(3 + shift, 0.5, rows),
        "tier": rng.choice([1, 2, 3], rows, p=[0.5, 0.3, 0.2]),
        "colour": rng.choice(["red", "green", "blue"], rows, p=[0.5, 0.3, 0.2]),
        "member": rng.choice(["yes", "no"], rows, p=[0.3, 0.7]),
        "score": rng.uniform(size=rows),
        "label": rng.binomial(1, 0.3, rows),
    }) for index in range(days)]


def synthetic_monitor(drift: dict | None = None):
    return build_monitor(columns={"score": "score", "numeric_features": ["amount", "tier"],
                                  "categorical_features": ["colour", "member"]}, drift=drift)


def profiled_reference(frames: list[pd.DataFrame], monitor, sample: bool = True):
    start = dt.date(2026, 9, 1)
    return merge_all(profile_inference_day(frame, monitor, start + dt.timedelta(days=index)) if sample else
                     profile_day(frame, start + dt.timedelta(days=index), numeric=["amount", "tier", "score"],
                                 categorical=["colour", "member"])
                     for index, frame in enumerate(frames))


def by_feature(report):
    return {feature.feature: feature for feature in [*report.features, report.prediction]}


def test_small_references_give_the_raw_tests_exactly_from_a_profile():
    """At most 1000 reference values: KS (p-values exact while the sketch holds every value), chi-square on
    categories, the Z-test on two values and on few-valued numbers, all equal to the raw path."""
    rng = np.random.default_rng(30)
    frames, current = synthetic_days(rng, 3, 250), synthetic_days(rng, 1, 400, shift=0.15)[0]
    monitor = synthetic_monitor({"multiple_testing": "none"})
    reference = profiled_reference(frames, monitor)
    profiled = by_feature(compute_drift(reference, current, monitor))
    exact = by_feature(compute_drift(pd.concat(frames, ignore_index=True), current, monitor))
    assert {name: feature.method for name, feature in profiled.items()} == {
        "amount": "ks", "tier": "chi2", "colour": "chi2", "member": "z_test", "score": "ks"}
    for name, feature in profiled.items():
        assert feature.error_bound == 0 and "reference from stored profiles: exact" in feature.detail
        assert feature.p_value == pytest.approx(exact[name].p_value, rel=1e-9, abs=1e-300), name
        assert feature.drifted == exact[name].drifted
    assert profiled["amount"].p_value == pytest.approx(
        stats.ks_2samp(pd.concat(frames)["amount"], current["amount"]).pvalue, rel=1e-9)
    assert profiled["amount"].drifted  # the shifted amount is caught


def test_a_sketched_reference_states_its_bound_in_the_metrics_and_quantile_bins_say_they_are_estimated():
    rng = np.random.default_rng(31)
    frames, current = synthetic_days(rng, 4, 3000), synthetic_days(rng, 1, 2000, shift=0.05)[0]
    monitor = synthetic_monitor({"features": {"score": {"method": "psi", "threshold": 0.2}}})
    reference = profiled_reference(frames, monitor)
    raw = pd.concat(frames, ignore_index=True)
    profiled = by_feature(compute_drift(reference, current, monitor))
    exact = by_feature(compute_drift(raw, current, monitor))
    amount = profiled["amount"]
    assert amount.method == "wasserstein" and 0 < amount.error_bound < 0.05
    assert abs(amount.statistic - exact["amount"].statistic) <= amount.error_bound
    finite = raw["amount"].to_numpy()
    assert amount.statistic == pytest.approx(
        stats.wasserstein_distance(finite, current["amount"]) / np.std(finite), abs=amount.error_bound)
    assert "within" in amount.detail and "99% confidence" in amount.detail
    metric = next(m for m in amount.metrics(monitor.drift.severity) if m.metric == "wasserstein_normed")
    assert (metric.lower, metric.upper) == (pytest.approx(amount.statistic - amount.error_bound),
                                            pytest.approx(amount.statistic + amount.error_bound))
    score = profiled["score"]  # PSI on the sketch's deciles: each reference share within the PMF bound
    assert score.method == "psi" and math.isnan(score.error_bound) and "estimated from sketches" in score.detail
    assert score.statistic == pytest.approx(exact["score"].statistic, abs=0.02)
    assert not score.drifted and not exact["score"].drifted
    assert next(m for m in score.metrics(monitor.drift.severity) if m.metric == "psi").lower is None


@pytest.mark.filterwarnings("ignore:p-value floored:UserWarning")  # scipy's oracle
@pytest.mark.parametrize("method", ["cramervonmises", "anderson"])
def test_methods_that_need_values_read_the_row_sample_or_say_they_cannot(method):
    rng = np.random.default_rng(32)
    frames, current = synthetic_days(rng, 3, 800), synthetic_days(rng, 1, 600, shift=0.1)[0]
    monitor = synthetic_monitor({"features": {"amount": {"method": method}}, "multiple_testing": "none"})
    profiled = by_feature(compute_drift(profiled_reference(frames, monitor), current, monitor))["amount"]
    exact = by_feature(compute_drift(pd.concat(frames, ignore_index=True), current, monitor))["amount"]
    assert profiled.error_bound == 0 and (profiled.statistic, profiled.p_value) == (exact.statistic, exact.p_value)
    unsampled = compute_drift(profiled_reference(frames, monitor, sample=False), current, monitor)
    amount = by_feature(unsampled)["amount"]
    assert not amount.judged and "hold no row sample of 'amount'" in amount.detail
    assert unsampled.multivariate is None and "no row sample" in unsampled.multivariate_note


def test_label_drift_and_a_changed_column_kind_from_profiles():
    rng = np.random.default_rng(33)
    frames, current = synthetic_days(rng, 3, 2000), synthetic_days(rng, 1, 1500)[0]
    monitor = synthetic_monitor()
    reference = profiled_reference(frames, monitor)
    assert "label" in reference.columns  # these logs carry the label: the profile keeps it, as a class
    arrived = pd.Series(rng.binomial(1, 0.45, 1500))
    profiled = compute_drift(reference, current, monitor).with_label_drift(
        DriftLabels(reference.columns["label"], arrived), monitor)
    exact = compute_drift(pd.concat(frames, ignore_index=True), current, monitor).with_label_drift(
        DriftLabels(pd.concat(frames)["label"], arrived), monitor)
    assert profiled.label.drifted and exact.label.drifted
    assert profiled.label.statistic == pytest.approx(exact.label.statistic, rel=1e-12)
    as_category = monitor_with(monitor, columns={**monitor.columns.model_dump(), "numeric_features": ["tier"],
                                                 "categorical_features": ["colour", "member", "amount"]})
    amount = by_feature(compute_drift(reference, current, as_category))["amount"]
    assert not amount.judged and "summarise 'amount' as numeric but it is compared as categorical" in amount.detail
