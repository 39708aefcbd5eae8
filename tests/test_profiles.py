"""Daily profiles: merging equals reading together, storage round trips, statistics against scipy on raw data.

Oracles are independent of the profile code: counts from pandas/numpy masks, statistics from scipy and
from ``drift.stats`` on the raw arrays. Sketch results are checked by rank against the exact data,
within the bound the profile states (the library's 99%-confidence bound; measured maxima stay below
0.9 of it, see the README), not against hard-coded numbers.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math

import datasketches
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from monitoring_jobs import profiles
from monitoring_jobs.drift.stats import (
    align_categories,
    chi2_test,
    hellinger_distance,
    jensenshannon_distance,
    numeric_bin_counts,
    psi,
)
from monitoring_jobs.drift.stats import ks_test as drift_ks_test
from monitoring_jobs.drift.stats import quantile_bin_edges as raw_quantile_bin_edges
from monitoring_jobs.profiles import (
    OTHER_CATEGORIES,
    DayProfile,
    ProfileError,
    ProfileNotFoundError,
    category_counts,
    cdf,
    ks_test_from_profile,
    load_profile,
    load_reference,
    merge,
    merge_all,
    profile_day,
    profile_numeric,
    profile_path,
    quantile_bin_edges,
    quantiles,
    save_profile,
    shared_bin_counts,
    sketch_bin_counts,
    wasserstein_normed_from_profile,
    without_histograms,
)
from monitoring_jobs.profiles.profile import KLL_UPDATE_CHUNK, few_value_counts

DAY = dt.date(2026, 10, 1)
EDGES = (-1.5, -0.5, 0.0, 0.5, 1.5)
NUMERIC = ["amount", "typed_as_text", "rating"]
CATEGORICAL = ["region"]


def days(count: int, start: dt.date = DAY) -> list[dt.date]:
    return [start + dt.timedelta(days=offset) for offset in range(count)]


def make_day(rng: np.random.Generator, rows: int, shift: float = 0.0) -> pd.DataFrame:
    """A day of logs with every kind of awkward value: nulls, NaN, ±inf, text in a numeric column."""
    amount = rng.normal(shift, 1.0, rows)
    amount[rng.random(rows) < 0.02] = np.nan
    amount[rng.random(rows) < 0.002] = np.inf
    amount[rng.random(rows) < 0.002] = -np.inf
    typed_as_text = np.round(rng.lognormal(0, 1, rows), 3).astype(str).astype(object)
    typed_as_text[rng.random(rows) < 0.01] = "n/a"
    typed_as_text[rng.random(rows) < 0.01] = None
    region = rng.choice(["north", "south", "east", "west"], rows, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    region[rng.random(rows) < 0.03] = None
    return pd.DataFrame({
        "amount": amount,
        "typed_as_text": typed_as_text,
        "rating": rng.integers(1, 6, rows).astype(float),  # few distinct values: exact value counts
        "region": region,
    })


def profile(frame, day: dt.date = DAY, edges=EDGES, **options) -> DayProfile:
    return profile_day(frame, day, numeric=NUMERIC, categorical=CATEGORICAL, bin_edges={"amount": edges}, **options)


# --- independent oracles ----------------------------------------------------------------------------

def oracle_numeric(values: pd.Series) -> dict:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return {
        "rows": len(values),
        "nulls": int(values.isna().sum()),
        "not_numbers": int(np.isnan(numbers).sum() - values.isna().sum()),
        "negative_infinities": int(np.sum(numbers == -np.inf)),
        "positive_infinities": int(np.sum(numbers == np.inf)),
        "finite": numbers[np.isfinite(numbers)],
        "present": numbers[~np.isnan(numbers)],
    }


def oracle_histogram(present: np.ndarray, edges) -> list[int]:
    """Bins by masks: (-inf, e0), [e_i, e_i+1), the last inner bin closed, (e_m, inf)."""
    counts = [int(np.sum(present < edges[0]))]
    for low, high in itertools.pairwise(edges):
        closed = high == edges[-1]
        counts.append(int(np.sum((present >= low) & ((present <= high) if closed else (present < high)))))
    if len(edges) == 1:
        counts.append(int(np.sum(present == edges[0])))
    counts.append(int(np.sum(present > edges[-1])))
    return counts


def assert_same_counts(column, expected: dict, edges=None):
    for name in ("rows", "nulls", "not_numbers", "negative_infinities", "positive_infinities"):
        assert getattr(column, name) == expected[name], name
    finite = expected["finite"]
    assert column.moments.count == finite.size == column.sketch.n
    if finite.size:
        assert column.moments.mean == pytest.approx(np.mean(finite), rel=1e-12, abs=1e-12)
        assert column.moments.std == pytest.approx(np.std(finite), rel=1e-9)
        assert (column.moments.minimum, column.moments.maximum) == (finite.min(), finite.max())
    if edges is not None:
        assert list(column.histogram.counts) == oracle_histogram(expected["present"], edges)


def assert_ranks_within_bound(column, finite: np.ndarray):
    """Every CDF value and quantile of the sketch is within the column's stated rank error of the exact data."""
    exact = np.sort(finite)
    bound = column.rank_error
    assert bound == (column.sketch.normalized_rank_error(False) if column.sketch.is_estimation_mode() else 0.0)
    probes = np.concatenate((np.quantile(exact, np.linspace(0, 1, 201)), exact[:: max(1, exact.size // 500)]))
    exact_cdf = np.searchsorted(exact, probes, side="right") / exact.size
    assert np.max(np.abs(cdf(column, probes) - exact_cdf)) <= bound + 1e-12
    ranks = np.linspace(0, 1, 101)
    values = quantiles(column, ranks)
    below = np.searchsorted(exact, values, side="left") / exact.size
    at_or_below = np.searchsorted(exact, values, side="right") / exact.size
    assert np.all(below - bound - 1e-12 <= ranks) and np.all(ranks <= at_or_below + bound + 1e-12)
    assert (values[0], values[-1]) == (exact[0], exact[-1])


def assert_same_exact_parts(left: DayProfile, right: DayProfile):
    """Everything that is exact agrees; moments up to rounding; sketches hold the same number of values."""
    assert (left.days, left.rows, set(left.columns)) == (right.days, right.rows, set(right.columns))
    for name, column in left.columns.items():
        other = right.columns[name]
        if isinstance(column, profiles.NumericProfile):
            for attribute in ("rows", "nulls", "not_numbers", "negative_infinities", "positive_infinities",
                              "value_counts", "histogram"):
                assert getattr(column, attribute) == getattr(other, attribute), (name, attribute)
            assert (column.moments.count, column.moments.minimum, column.moments.maximum) == (
                other.moments.count, other.moments.minimum, other.moments.maximum)
            assert column.moments.mean == pytest.approx(other.moments.mean, rel=1e-9, abs=1e-9)
            assert column.moments.m2 == pytest.approx(other.moments.m2, rel=1e-9, abs=1e-9)
            assert column.sketch.n == other.sketch.n
        else:
            assert (column.rows, column.nulls, column.exact) == (other.rows, other.nulls, other.exact)
            assert column.counts == other.counts
            if not column.exact:
                assert column.sketch.total_weight == other.sketch.total_weight


# --- building one day -------------------------------------------------------------------------------

def test_a_day_counts_every_row_once_and_nan_inf_text_separately():
    frame = make_day(np.random.default_rng(1), 5000)
    day = profile(frame)
    assert day.days == (DAY,) and day.rows == 5000
    for name in ("amount", "typed_as_text"):
        expected = oracle_numeric(frame[name])
        assert_same_counts(day.columns[name], expected, EDGES if name == "amount" else None)
        assert_ranks_within_bound(day.columns[name], expected["finite"])
    amount = day.columns["amount"]
    assert amount.nulls > 0 and amount.negative_infinities > 0 and amount.positive_infinities > 0
    assert day.columns["typed_as_text"].not_numbers == int((frame["typed_as_text"] == "n/a").sum()) > 0
    assert day.columns["rating"].value_counts == {float(k): int(v) for k, v in frame["rating"].value_counts().items()}
    assert amount.value_counts is None  # thousands of distinct values: no per-value counts
    region = day.columns["region"]
    assert region.counts == frame["region"].value_counts().to_dict()
    assert region.nulls == int(frame["region"].isna().sum())


@pytest.mark.parametrize("distinct", [1, 31, 32, 33, 500])
def test_per_value_counts_are_pandas_value_counts_up_to_the_limit(distinct):
    rng = np.random.default_rng(distinct)
    values = rng.choice(np.arange(distinct, dtype=np.float64) - distinct // 2, 4000)
    values[:7] = -0.0  # a signed zero is the same value as 0.0
    values[7:9] = [np.nan, np.inf]
    column = profile_numeric(values, max_distinct=32)
    finite = pd.Series(values[np.isfinite(values)])
    if finite.nunique() > 32:
        assert column.value_counts is None
    else:
        assert column.value_counts == {float(k): int(v) for k, v in finite.value_counts().items()}


@pytest.mark.parametrize("distinct", [0, 1, 5, 31, 32, 33, 5000])
def test_per_value_counts_of_sorted_values_are_pandas_value_counts_up_to_the_limit(distinct):
    """Long runs of one value beside values seen a few times each, the cap crossed or not: every run's length
    is counted whole (the binary search lands past the run, not inside it)."""
    rng = np.random.default_rng(distinct)
    few = np.repeat(np.arange(distinct, dtype=np.float64) + 0.5, rng.integers(1, 4, distinct))
    values = np.sort(np.concatenate([np.zeros(50_000), few, np.full(9000, 7.0)]))
    counts = few_value_counts(values, 32)
    truth = pd.Series(values).value_counts().sort_index()
    if truth.size > 32:
        assert counts is None
    else:
        assert counts == {float(k): int(v) for k, v in truth.items()}
        assert list(counts) == sorted(counts)
    assert few_value_counts(np.empty(0), 32) == {}


def test_arrow_and_pandas_frames_give_the_same_profile():
    frame = make_day(np.random.default_rng(2), 800)
    assert_same_exact_parts(profile(frame), profile(pa.Table.from_pandas(frame, preserve_index=False)))


def test_columns_missing_from_the_frame_are_left_out_and_bad_arguments_say_what_is_wrong():
    frame = make_day(np.random.default_rng(3), 100).drop(columns=["rating"])
    assert set(profile(frame).columns) == {"amount", "typed_as_text", "region"}
    with pytest.raises(ProfileError, match="both numeric and categorical"):
        profile_day(frame, DAY, numeric=["region"], categorical=["region"])
    with pytest.raises(ProfileError, match=r"bin edges given for \['region'\]"):
        profile_day(frame, DAY, categorical=["region"], bin_edges={"region": [1.0]})
    for edges in ([], [1.0, 1.0], [2.0, 1.0], [0.0, np.inf], [np.nan]):
        with pytest.raises(ProfileError, match="finite numbers in increasing order"):
            profile_numeric([1.0, 2.0], bin_edges=edges)


def test_categories_that_are_numbers_share_a_key_whatever_the_dtype():
    mixed = profile_day(pd.DataFrame({"code": pd.Series([1, 1.0, "1", 2.5, None], dtype=object)}), DAY,
                        categorical=["code"])
    assert mixed.columns["code"].counts == {"1": 3, "2.5": 1}
    assert mixed.columns["code"].nulls == 1


# --- merging: the test ----------------------------------------------------------------------

@pytest.mark.parametrize("sizes", [(20_000, 30_000), (500, 500), (150, 40)])
def test_merged_profile_of_two_days_equals_the_profile_of_both_read_together(sizes):
    rng = np.random.default_rng(sum(sizes))
    day_a, day_b = make_day(rng, sizes[0]), make_day(rng, sizes[1], shift=0.7)
    both = pd.concat([day_a, day_b], ignore_index=True)
    merged = merge(profile(day_a, DAY), profile(day_b, DAY + dt.timedelta(days=1)))
    together = profile_day(both, DAY, numeric=NUMERIC, categorical=CATEGORICAL, bin_edges={"amount": EDGES})
    assert merged.days == (DAY, DAY + dt.timedelta(days=1))
    assert merged.rows == together.rows == len(both)
    for name in ("amount", "typed_as_text"):
        expected = oracle_numeric(both[name])
        edges = EDGES if name == "amount" else None
        assert_same_counts(merged.columns[name], expected, edges)
        assert_same_counts(together.columns[name], expected, edges)
        assert_ranks_within_bound(merged.columns[name], expected["finite"])
        assert_ranks_within_bound(together.columns[name], expected["finite"])
    assert merged.columns["rating"].value_counts == together.columns["rating"].value_counts
    assert merged.columns["region"].counts == both["region"].value_counts().to_dict()


def test_merge_order_does_not_matter():
    rng = np.random.default_rng(4)
    frames = [make_day(rng, 3000, shift=0.2 * index) for index in range(4)]
    day_profiles = [profile(frame, day) for frame, day in zip(frames, days(4))]
    left_to_right = merge_all(day_profiles)
    finite = oracle_numeric(pd.concat(frames)["amount"])["finite"]
    for order in ([3, 1, 0, 2], [2, 3, 1, 0]):
        assert_same_exact_parts(merge_all(day_profiles[index] for index in order), left_to_right)
    tree = merge(merge(day_profiles[0], day_profiles[1]), merge(day_profiles[2], day_profiles[3]))
    assert_same_exact_parts(tree, left_to_right)
    for result in (tree, left_to_right):
        assert_ranks_within_bound(result.columns["amount"], finite)
    assert all(single.days == (day,) for single, day in zip(day_profiles, days(4)))  # inputs unchanged


@settings(max_examples=60, derandomize=True, database=None, deadline=None)
@given(
    values=st.lists(st.one_of(st.floats(-1e6, 1e6), st.sampled_from([np.nan, np.inf, -np.inf])), max_size=60),
    labels=st.lists(st.one_of(st.none(), st.sampled_from("abcdef")), max_size=60),
    cuts=st.tuples(st.integers(0, 60), st.integers(0, 60)),
)
def test_merge_is_associative_commutative_and_equals_reading_together(values, labels, cuts):
    rows = min(len(values), len(labels))
    frame = pd.DataFrame({"x": pd.Series(values[:rows], dtype=float), "c": pd.Series(labels[:rows], dtype=object)})
    low, high = sorted(min(cut, rows) for cut in cuts)
    parts = [frame.iloc[:low], frame.iloc[low:high], frame.iloc[high:]]

    def build(part, day):  # a cap of 3 categories exercises the switch from exact counts to the sketch
        return profile_day(part, day, numeric=["x"], categorical=["c"], bin_edges={"x": [-1.0, 0.0, 2.0]},
                           max_categories=3)

    a, b, c = (build(part, day) for part, day in zip(parts, days(3)))
    together = build(frame, DAY)
    together = DayProfile(tuple(days(3)), together.rows, together.columns)
    for result in (merge(merge(a, b), c), merge(a, merge(b, c)), merge(c, merge(b, a)), merge_all([b, c, a])):
        assert_same_exact_parts(result, together)


def test_merging_the_same_day_twice_or_a_column_of_two_kinds_is_refused():
    frame = make_day(np.random.default_rng(5), 50)
    with pytest.raises(ProfileError, match="2026-10-01 in both profiles; .* count those days' rows twice"):
        merge(profile(frame), profile(frame))
    as_category = profile_day(frame, DAY + dt.timedelta(days=1), categorical=["rating"])
    with pytest.raises(ProfileError, match="'rating' was profiled as numeric on some days and as categorical"):
        merge(profile(frame), as_category)
    with pytest.raises(ProfileError, match="no profiles to merge"):
        merge_all([])


def test_histograms_on_different_edges_do_not_merge_unless_dropped():
    rng = np.random.default_rng(6)
    first, second = make_day(rng, 400), make_day(rng, 400)
    one = profile(first, DAY)
    other = profile(second, DAY + dt.timedelta(days=1), edges=(0.0, 1.0))
    with pytest.raises(ProfileError, match=r"'amount' was binned on different edges \(5 edges \[-1\.5, -0\.5, 0, "
                                            r"0\.5, \.\.\.\] and 2 edges \[0, 1\]\)"):
        merge(one, other)
    unbinned = profile_day(second, DAY + dt.timedelta(days=1), numeric=["amount"])
    with pytest.raises(ProfileError, match="and no edges"):
        merge(one, unbinned)
    merged = merge(without_histograms(one), without_histograms(other))
    assert merged.columns["amount"].histogram is None
    assert merged.columns["amount"].rows == 800


def test_sketches_of_different_k_merge_with_the_coarser_bound():
    rng = np.random.default_rng(7)
    first, second = make_day(rng, 5000), make_day(rng, 5000)
    coarse = profile(first, DAY, kll_k=100)
    fine = profile(second, DAY + dt.timedelta(days=1), kll_k=400)
    merged = merge(coarse, fine).columns["amount"]
    assert merged.rank_error == coarse.columns["amount"].rank_error > fine.columns["amount"].rank_error
    assert_ranks_within_bound(merged, oracle_numeric(pd.concat([first, second])["amount"])["finite"])


# --- storage ----------------------------------------------------------------------------------------

def test_profiles_round_trip_through_bytes_and_files(tmp_path):
    rng = np.random.default_rng(8)
    reference = merge(profile(make_day(rng, 3000), DAY), profile(make_day(rng, 2000), DAY + dt.timedelta(days=1)))
    wide = profile_day(pd.DataFrame({"id": [f"user-{i}" for i in range(50)] * 2}), DAY, categorical=["id"],
                       max_categories=10)
    assert not wide.columns["id"].exact
    for original in (reference, wide):
        restored = DayProfile.from_bytes(original.to_bytes())
        assert_same_exact_parts(restored, original)
    assert DayProfile.from_bytes(reference.to_bytes()).to_bytes() == reference.to_bytes()
    for name in ("amount", "typed_as_text", "rating"):
        restored = DayProfile.from_bytes(reference.to_bytes()).columns[name].sketch
        assert restored.serialize() == reference.columns[name].sketch.serialize()
    # a frequent-items sketch comes back with the same items and bounds (its bytes follow its hash map's order)
    every_item = datasketches.frequent_items_error_type.NO_FALSE_NEGATIVES
    restored = DayProfile.from_bytes(wide.to_bytes()).columns["id"].sketch
    assert sorted(restored.get_frequent_items(every_item)) == sorted(wide.columns["id"].sketch.get_frequent_items(
        every_item))
    path = profile_path(tmp_path, "credit_default", DAY)
    assert path == tmp_path / "profiles" / "credit_default" / "2026-10-01.json"
    save_profile(path, reference)
    save_profile(path, reference)  # a re-run replaces the file; nothing else is left in the folder
    assert [item.name for item in path.parent.iterdir()] == [path.name]
    assert load_profile(path).to_bytes() == reference.to_bytes()


def test_unreadable_profiles_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(ProfileNotFoundError, match="no profile at .*missing.json; profile that day first"):
        load_profile(tmp_path / "missing.json")
    document = profile(make_day(np.random.default_rng(9), 30)).to_bytes()
    cases = {
        "truncated.json": (document[:-20], "invalid JSON"),
        "newer.json": (document.replace(b'"version":1', b'"version":2'), "version 2, but this monitoring-jobs reads "
                                                                            "version 1"),
        "other.json": (b'{"format": "something-else"}', "not a profile"),
        "missing-field.json": (document.replace(b'"rows":30,"sample"', b'"rowz":30,"sample"'), "damaged profile"),
        "bad-sketch.json": (document.replace(b'"kll":"', b'"kll":"AAAA', 1), "damaged profile"),
        "inconsistent.json": (document.replace(b'"nulls":', b'"nulls":1', 1), "damaged profile .*do not add up"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ProfileError, match=f"{name}: .*{message}.*delete the file and profile that day again"):
            load_profile(tmp_path / name)


def test_a_30_day_reference_merges_stored_profiles_and_reads_no_raw_data(tmp_path, monkeypatch):
    """Backfill cost: a day's reference reads one small profile per window day, never raw logs, so a
    365-day backfill with an N-day window reads 365 raw days once and at most 365 x N profile files."""
    rng = np.random.default_rng(10)
    raw_dir, state_dir = tmp_path / "raw", tmp_path / "state"
    raw_dir.mkdir()
    window = days(30)
    for day in window:
        make_day(rng, 400, shift=rng.normal(0, 0.2)).to_parquet(raw_dir / f"{day}.parquet")
    for day in window:
        save_profile(profile_path(state_dir, "m", day), profile(pd.read_parquet(raw_dir / f"{day}.parquet"), day))
    everything = pd.concat([pd.read_parquet(raw_dir / f"{day}.parquet") for day in window], ignore_index=True)
    for path in raw_dir.iterdir():
        path.unlink()
    raw_dir.rmdir()  # from here on no raw data exists

    loaded = []

    def counting_load(path):
        loaded.append(path)
        return load_profile(path)

    monkeypatch.setattr(profiles.store, "load_profile", counting_load)
    reference = load_reference(state_dir, "m", window)
    assert sorted(loaded) == [profile_path(state_dir, "m", day) for day in window]
    expected = oracle_numeric(everything["amount"])
    assert reference.days == tuple(window) and reference.rows == len(everything)
    assert_same_counts(reference.columns["amount"], expected, EDGES)
    assert_ranks_within_bound(reference.columns["amount"], expected["finite"])
    assert reference.columns["region"].counts == everything["region"].value_counts().to_dict()

    profile_path(state_dir, "m", window[3]).unlink()  # a day that was never profiled (e.g. blocked)
    assert window[3] not in load_reference(state_dir, "m", window).days
    with pytest.raises(ProfileNotFoundError, match="no stored profile of m for 2027-01-01 to 2027-01-30"):
        load_reference(state_dir, "m", days(30, dt.date(2027, 1, 1)))


# --- statistics against scipy on the raw arrays -----------------------------------------------------

def reference_and_current(rng, reference_days=3, rows=4000, drift=0.3):
    frames = [make_day(rng, rows) for _ in range(reference_days)]
    reference = merge_all(profile(frame, day) for frame, day in zip(frames, days(reference_days)))
    raw_reference = pd.concat(frames, ignore_index=True)
    current = make_day(rng, rows, shift=drift)
    return reference, raw_reference, current


@pytest.mark.parametrize("drift", [0.0, 0.3])
def test_ks_from_a_profile_is_within_the_rank_error_of_scipy(drift):
    reference, raw_reference, current = reference_and_current(np.random.default_rng(11), drift=drift)
    column = reference.columns["amount"]
    exact = stats.ks_2samp(oracle_numeric(raw_reference["amount"])["present"],
                           oracle_numeric(current["amount"])["present"], method="asymp")
    estimate = ks_test_from_profile(column, current["amount"])
    present_share = column.moments.count / column.present
    assert estimate.error_bound == pytest.approx(column.rank_error * present_share) and estimate.error_bound > 0
    assert abs(estimate.value - exact.statistic) <= estimate.error_bound
    current_present = int(current["amount"].notna().sum())
    effective = round(column.present * current_present / (column.present + current_present))
    # the p-value is Smirnov's asymptotic one at a D within the bound of the exact D
    assert stats.kstwo.sf(exact.statistic + estimate.error_bound, effective) <= estimate.p_value
    assert estimate.p_value <= stats.kstwo.sf(max(exact.statistic - estimate.error_bound, 0), effective)


def test_ks_and_wasserstein_from_a_small_profile_equal_scipy():
    rng = np.random.default_rng(12)
    reference_values = np.concatenate((np.round(rng.normal(0, 1, 150), 1), [np.inf, -np.inf, np.nan]))
    current = np.concatenate((np.round(rng.normal(0.4, 1, 90), 1), [np.inf, np.nan]))
    column = profile_numeric(reference_values)
    assert not column.sketch.is_estimation_mode()
    present = reference_values[~np.isnan(reference_values)]
    exact = stats.ks_2samp(present, current[~np.isnan(current)])
    estimate = ks_test_from_profile(column, current)
    assert (estimate.value, estimate.p_value, estimate.error_bound) == (
        pytest.approx(exact.statistic, abs=1e-15), pytest.approx(exact.pvalue, rel=1e-12), 0.0)
    finite, current_finite = present[np.isfinite(present)], current[np.isfinite(current)]
    wasserstein = wasserstein_normed_from_profile(column, current)
    assert wasserstein.error_bound == 0.0
    assert wasserstein.value == pytest.approx(stats.wasserstein_distance(finite, current_finite) / np.std(finite),
                                              rel=1e-9)


@pytest.mark.parametrize("drift", [0.0, 0.5])
def test_normed_wasserstein_from_a_profile_is_within_its_bound_of_scipy(drift):
    reference, raw_reference, current = reference_and_current(np.random.default_rng(13), drift=drift)
    column = reference.columns["amount"]
    finite = oracle_numeric(raw_reference["amount"])["finite"]
    current_finite = oracle_numeric(current["amount"])["finite"]
    exact = stats.wasserstein_distance(finite, current_finite) / np.std(finite)
    estimate = wasserstein_normed_from_profile(column, current["amount"])
    assert estimate.error_bound == pytest.approx(column.rank_error * (finite.max() - finite.min()) / np.std(finite))
    assert abs(estimate.value - exact) <= estimate.error_bound


def test_psi_js_hellinger_on_shared_bins_equal_the_raw_computation_exactly():
    rng = np.random.default_rng(14)
    frames = [make_day(rng, 3000) for _ in range(3)]
    raw_reference = oracle_numeric(pd.concat(frames)["amount"])["present"]
    edges = tuple(np.unique(np.quantile(raw_reference[np.isfinite(raw_reference)], np.linspace(0, 1, 11))))
    reference = merge_all(profile(frame, day, edges) for frame, day in zip(frames, days(3)))
    current_frame = make_day(rng, 2500, shift=0.4)
    current = profile(current_frame, DAY + dt.timedelta(days=3), edges)
    raw_current = oracle_numeric(current_frame["amount"])["present"]

    expected_reference, expected_current = numeric_bin_counts(np.sort(raw_reference), np.sort(raw_current), 10)
    reference_counts, current_counts = shared_bin_counts(reference.columns["amount"], current.columns["amount"])
    assert reference_counts.tolist() == expected_reference.tolist()
    assert current_counts.tolist() == expected_current.tolist()
    # so every histogram statistic of drift.stats equals its raw value; checked here against formulas and scipy
    shares = expected_reference / expected_reference.sum(), expected_current / expected_current.sum()
    floored = [np.where(share == 0, 1e-4, share) for share in shares]  # PSI's epsilon for empty bins
    assert psi(reference_counts, current_counts) == psi(expected_reference, expected_current) == pytest.approx(
        np.sum((floored[1] - floored[0]) * np.log(floored[1] / floored[0])), rel=1e-12)
    assert jensenshannon_distance(reference_counts, current_counts) == pytest.approx(
        distance.jensenshannon(expected_reference, expected_current), rel=1e-12)
    assert hellinger_distance(reference_counts, current_counts) == pytest.approx(
        np.sqrt(np.sum((np.sqrt(shares[0]) - np.sqrt(shares[1])) ** 2) / 2), rel=1e-9)
    with pytest.raises(ProfileError, match="different bin edges; profile the current day with the reference's"):
        shared_bin_counts(reference.columns["amount"], profile(current_frame, DAY, (0.0,)).columns["amount"])
    with pytest.raises(ProfileError, match="the current profile has no histogram"):
        shared_bin_counts(reference.columns["amount"], current.columns["typed_as_text"])


def test_a_column_longer_than_one_sketch_update_is_counted_whole_and_within_the_rank_bound():
    rng = np.random.default_rng(16)
    values = rng.lognormal(0, 1, 3 * KLL_UPDATE_CHUNK + 17)
    values[rng.choice(values.size, 500, replace=False)] = np.nan
    values[-3:] = (np.inf, -np.inf, 7.5)  # the last, partial chunk holds a finite value too
    expected = oracle_numeric(pd.Series(values))
    column = profile_numeric(values)
    assert_same_counts(column, expected)
    assert_ranks_within_bound(column, expected["finite"])


def test_quantile_bin_edges_from_the_sketch_sit_at_their_target_ranks():
    reference, raw_reference, _ = reference_and_current(np.random.default_rng(15))
    column = reference.columns["amount"]
    exact = np.sort(oracle_numeric(raw_reference["amount"])["finite"])
    edges = np.asarray(quantile_bin_edges(column, bins=10))
    assert len(edges) == 11 and np.all(np.diff(edges) > 0)
    assert (edges[0], edges[-1]) == (exact[0], exact[-1])
    targets = np.linspace(0, 1, 11)[1:-1]
    below = np.searchsorted(exact, edges[1:-1], side="left") / exact.size
    at_or_below = np.searchsorted(exact, edges[1:-1], side="right") / exact.size
    assert np.all(below - column.rank_error <= targets) and np.all(targets <= at_or_below + column.rank_error)
    small = np.round(np.random.default_rng(15).normal(0, 1, 150), 1)
    assert quantile_bin_edges(profile_numeric(small)) == tuple(raw_quantile_bin_edges(small))  # exact sketch
    tied = profile_numeric(np.repeat([1.0, 2.0, 3.0], 500))
    assert quantile_bin_edges(tied, bins=10) == (1.0, 2.0, 3.0)  # ties collapse: fewer bins
    with pytest.raises(ProfileError, match="bins must be at least 1"):
        quantile_bin_edges(column, bins=0)


def test_sketch_bin_counts_estimate_each_bins_share_within_the_pmf_bound():
    reference, raw_reference, _ = reference_and_current(np.random.default_rng(16))
    column = reference.columns["amount"]
    present = oracle_numeric(raw_reference["amount"])["present"]
    edges = (-2.0, -1.0, -0.3, 0.0, 0.3, 1.0, 2.0)  # not the edges the days were binned on
    estimated = sketch_bin_counts(column, edges)
    exact = np.asarray(oracle_histogram(present, edges))
    assert estimated.sum() == pytest.approx(present.size)
    assert estimated[0] >= column.negative_infinities and estimated[-1] >= column.positive_infinities
    assert np.max(np.abs(estimated - exact)) / present.size <= column.share_error
    small = profile_numeric([1.0, 2.0, 2.0, np.inf])
    assert sketch_bin_counts(small, (2.0,)).tolist() == oracle_histogram(np.array([1.0, 2.0, 2.0, np.inf]), (2.0,))


@pytest.mark.parametrize("unseen", [False, True])
def test_category_counts_equal_the_raw_counts_so_chi_square_and_distances_do_too(unseen):
    rng = np.random.default_rng(17)
    frames = [make_day(rng, 2000) for _ in range(2)]
    reference = merge_all(profile(frame, day) for frame, day in zip(frames, days(2))).columns["region"]
    current_frame = make_day(rng, 1500)
    if unseen:
        current_frame.loc[:40, "region"] = "atlantis"  # a category the reference never saw
    current = profile(current_frame).columns["region"]
    raw_reference = pd.concat(frames)["region"]

    counts = category_counts(reference, current)
    raw = align_categories(raw_reference, current_frame["region"])
    assert dict(zip(counts.categories, counts.reference)) == dict(zip(raw.categories, raw.reference))
    assert dict(zip(counts.categories, counts.current)) == dict(zip(raw.categories, raw.current))
    assert counts.unseen == raw.unseen == (("atlantis",) if unseen else ())
    assert (counts.reference_nulls, counts.current_nulls) == (raw.reference_nulls, raw.current_nulls)
    statistic, p_value = chi2_test(counts.reference, counts.current)
    if unseen:
        assert (statistic, p_value) == (math.inf, 0.0)
    else:
        expected = stats.chisquare(counts.current, counts.reference * counts.current.sum() / counts.reference.sum())
        assert (statistic, p_value) == (pytest.approx(expected.statistic, rel=1e-12),
                                        pytest.approx(expected.pvalue, rel=1e-9))
    assert jensenshannon_distance(counts.reference, counts.current) == pytest.approx(
        distance.jensenshannon(raw.reference, raw.current), rel=1e-12)


def test_high_cardinality_categories_fall_back_to_frequent_items_and_pool_the_tail():
    rng = np.random.default_rng(18)
    heavy = rng.choice(["a", "b", "c"], 20_000, p=[0.5, 0.3, 0.2])
    tail = np.array([f"id-{i}" for i in range(3000)])
    values = pd.Series(np.concatenate((heavy, tail)))
    reference = profile_day(pd.DataFrame({"c": values}), DAY, categorical=["c"], max_categories=100).columns["c"]
    assert not reference.exact and reference.total == len(values) == reference.sketch.total_weight
    current_values = pd.Series(np.concatenate((rng.choice(["a", "b", "c", "new"], 5000), ["id-1"] * 3)))
    current = profile_day(pd.DataFrame({"c": current_values}), DAY, categorical=["c"]).columns["c"]
    counts = category_counts(reference, current)
    assert counts.categories[-1] == OTHER_CATEGORIES and set(counts.categories[:-1]) == {"a", "b", "c"}
    truth = values.value_counts()
    margin = reference.sketch.epsilon * reference.total
    for category, estimate in zip(counts.categories[:-1], counts.reference[:-1]):
        assert truth[category] - margin <= estimate <= truth[category]
    assert counts.reference.sum() == reference.total and counts.current.sum() == current.total
    assert counts.current[-1] == (current_values.isin(["new", "id-1"])).sum()
    assert counts.unseen == ()  # the reference's sketch dropped its tail: no category is certainly unseen
    assert math.isfinite(chi2_test(counts.reference, counts.current)[0])


# --- bad input ----------------------------------------------------------------------------------------

def test_an_all_null_column_gives_counts_and_nan_statistics_not_errors():
    frame = pd.DataFrame({"amount": [np.nan] * 5, "typed_as_text": [None] * 5, "rating": [None] * 5,
                          "region": [None] * 5})
    day = profile(frame)
    amount = day.columns["amount"]
    assert (amount.rows, amount.nulls, amount.moments.count, amount.histogram.counts) == (5, 5, 0, (0,) * 6)
    assert np.isnan(quantiles(amount, [0.0, 0.5, 1.0])).all() and np.isnan(cdf(amount, [0.0])).all()
    assert quantile_bin_edges(amount) == ()
    for estimate in (ks_test_from_profile(amount, [1.0, 2.0]), wasserstein_normed_from_profile(amount, [1.0])):
        assert math.isnan(estimate.value)
    region = day.columns["region"]
    assert (region.counts, region.nulls) == ({}, 5)
    counts = category_counts(region, region)
    assert counts.reference.size == 0 and math.isnan(chi2_test(counts.reference, counts.current)[0])
    non_null = profile(make_day(np.random.default_rng(19), 100), DAY + dt.timedelta(days=1))
    assert math.isnan(ks_test_from_profile(non_null.columns["amount"], [np.nan, np.nan]).value)


def test_an_empty_day_merges_as_nothing():
    rng = np.random.default_rng(20)
    empty_with_columns = profile(make_day(rng, 0), DAY)
    assert empty_with_columns.rows == 0 and empty_with_columns.columns["amount"].histogram.counts == (0,) * 6
    no_columns = profile_day(pd.DataFrame(), DAY + dt.timedelta(days=1), numeric=NUMERIC, categorical=CATEGORICAL)
    assert no_columns.rows == 0 and dict(no_columns.columns) == {}
    frame = make_day(rng, 300)
    full = profile(frame, DAY + dt.timedelta(days=2))
    merged = merge_all([empty_with_columns, no_columns, full])
    assert merged.days == tuple(days(3))
    assert_same_exact_parts(DayProfile(full.days, full.rows, merged.columns), full)
    assert_same_exact_parts(DayProfile.from_bytes(empty_with_columns.to_bytes()), empty_with_columns)


def test_infinities_only_reference_still_compares():
    column = profile_numeric([np.inf, np.inf, -np.inf, np.nan])
    assert (column.positive_infinities, column.negative_infinities, column.nulls, column.moments.count) == (2, 1, 1, 0)
    exact = stats.ks_2samp([np.inf, np.inf, -np.inf], [0.0, np.inf])
    assert ks_test_from_profile(column, [0.0, np.inf]).value == pytest.approx(exact.statistic)
    assert math.isnan(wasserstein_normed_from_profile(column, [0.0]).value)  # no finite value to move


def test_a_profile_is_not_changed_by_merging_it():
    rng = np.random.default_rng(21)
    first = profile(make_day(rng, 2000), DAY)
    before = first.to_bytes()
    merge(first, profile(make_day(rng, 2000), DAY + dt.timedelta(days=1)))
    assert first.to_bytes() == before


# --- row samples ----------------------------------------------------------------------------------------

def test_a_day_keeps_a_seeded_uniform_row_sample_that_round_trips():
    frame = make_day(np.random.default_rng(22), 3000).assign(
        timestamp=pd.date_range("2026-10-01", periods=3000, freq="25s", tz="UTC"), row=np.arange(3000))
    small = profile(frame, sample=["timestamp", "amount", "region", "not_a_column"])
    assert small.sample_is_complete and list(small.sample.columns) == ["timestamp", "amount", "region"]
    pd.testing.assert_frame_equal(small.sample, frame[["timestamp", "amount", "region"]])
    sampled = profile(frame, sample=["row", "amount", "region"], sample_rows=500)
    assert len(sampled.sample) == 500 and not sampled.sample_is_complete
    again = profile(frame, sample=["row", "amount", "region"], sample_rows=500)
    pd.testing.assert_frame_equal(sampled.sample, again.sample)  # seeded by the date: a re-run keeps the rows
    rows = sampled.sample["row"]
    assert rows.is_monotonic_increasing and rows.is_unique  # real rows, in their order, each once
    pd.testing.assert_frame_equal(sampled.sample, frame.loc[rows, ["row", "amount", "region"]].reset_index(drop=True))
    other_day = profile(frame, DAY + dt.timedelta(days=1), sample=["row"], sample_rows=500)
    assert not other_day.sample["row"].equals(rows)
    for original in (small, sampled):
        restored = DayProfile.from_bytes(original.to_bytes())
        pd.testing.assert_frame_equal(restored.sample, original.sample)
        assert restored.to_bytes() == original.to_bytes()
    assert profile(frame).sample is None and DayProfile.from_bytes(profile(frame).to_bytes()).sample is None


def test_sampled_rows_are_uniform_over_the_day():
    """Each row's chance to be kept is sample_rows / rows: over 200 days the kept share of every decile of
    row positions stays within 5 standard errors of that share."""
    rows, kept = 2000, 200
    frame = pd.DataFrame({"position": np.arange(rows, dtype=float)})
    hits = np.zeros(10)
    for day in days(200):
        sample = profile_day(frame, day, numeric=["position"], sample=["position"], sample_rows=kept).sample
        hits += np.bincount((sample["position"].to_numpy() // (rows // 10)).astype(int), minlength=10)
    expected = 200 * kept / 10
    assert np.all(np.abs(hits - expected) <= 5 * math.sqrt(expected))


def test_merged_samples_follow_the_days_and_are_capped_by_a_seeded_subsample(monkeypatch):
    rng = np.random.default_rng(23)
    frames = [make_day(rng, 300).assign(day=index) for index in range(4)]
    day_profiles = [profile(frame, day, sample=["day", "amount"]) for frame, day in zip(frames, days(4))]
    merged = merge_all([day_profiles[2], day_profiles[0], day_profiles[3], day_profiles[1]])
    assert merged.sample_is_complete
    assert merged.sample["day"].tolist() == [index for index in range(4) for _ in range(300)]
    unsampled = profile(frames[0], DAY + dt.timedelta(days=9))
    assert merge(merged, unsampled).sample is None  # a sample missing a day would misrepresent the window

    monkeypatch.setattr(profiles.profile, "MAX_MERGED_SAMPLE_ROWS", 500)
    capped = merge_all(day_profiles)
    assert len(capped.sample) == 500 and not capped.sample_is_complete
    assert capped.sample["day"].is_monotonic_increasing and set(capped.sample["day"]) == {0, 1, 2, 3}
    pd.testing.assert_frame_equal(merge_all(day_profiles).sample, capped.sample)  # seeded


# --- exact distributions from value counts ------------------------------------------------------------

def test_columns_with_few_values_give_exact_quantiles_bins_ks_and_wasserstein_at_any_size():
    """A column with at most 32 distinct values keeps exact counts, so even once its sketch estimates, the
    statistics read the exact distribution: equal to the raw computation, bound 0."""
    rng = np.random.default_rng(24)
    for size in (3000, 40_000):  # KS with exact p-values, then Smirnov's limit (as the raw path)
        reference_values = rng.choice(np.arange(1.0, 13.0), size, p=np.arange(1, 13) / 78)
        reference_values[:5] = [np.inf, -np.inf, np.nan, np.inf, 7.0]
        current = rng.choice(np.arange(1.0, 14.0), size // 2)
        column = profile_numeric(reference_values, k=200)
        assert column.sketch.is_estimation_mode() and profiles.is_exact(column)
        present = reference_values[~np.isnan(reference_values)]
        finite = present[np.isfinite(present)]
        assert quantile_bin_edges(column) == tuple(raw_quantile_bin_edges(present))
        assert quantiles(column, [0.0, 0.1, 0.5, 0.93, 1.0]).tolist() == np.quantile(
            finite, [0.0, 0.1, 0.5, 0.93, 1.0], method="inverted_cdf").tolist()
        edges = quantile_bin_edges(column)
        assert sketch_bin_counts(column, edges).tolist() == oracle_histogram(present, edges)
        ks = ks_test_from_profile(column, current)
        expected_ks = drift_ks_test(present, current)
        assert (ks.value, ks.p_value, ks.error_bound) == (pytest.approx(expected_ks[0], abs=1e-12),
                                                          pytest.approx(expected_ks[1], rel=1e-9), 0.0)
        wasserstein = wasserstein_normed_from_profile(column, current)
        assert wasserstein.error_bound == 0.0
        assert wasserstein.value == pytest.approx(stats.wasserstein_distance(finite, current) / np.std(finite),
                                                  rel=1e-9)


@settings(max_examples=80, derandomize=True, database=None, deadline=None)
@given(values=st.lists(st.sampled_from([-2.5, 0.0, 1.0, 1.5, 3.0, 8.0, 1e6]), min_size=1, max_size=400),
       bins=st.integers(1, 12))
def test_linear_quantile_edges_from_value_counts_equal_numpys(values, bins):
    column = profile_numeric(values)
    assert profiles.is_exact(column)
    assert quantile_bin_edges(column, bins) == tuple(raw_quantile_bin_edges(np.asarray(values), bins))
