"""What a day profile holds, how one is built from a frame, merged with another and written as bytes.

Counts, histograms and category counts are exact and merge exactly; moments merge exactly up to
floating-point rounding; the KLL sketch merges with the same rank error as a sketch of the data
read together; row samples (for what needs whole rows) are concatenated. Profiles are never changed
after they are built: merging copies the sketches.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import datasketches
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from monitoring_jobs.drift.stats import bin_counts, first_distinct_sorted, sorted_value_counts

FORMAT = "monitoring-jobs/day-profile"
VERSION = 1

DEFAULT_KLL_K = 200
"""KLL accuracy/size parameter. k=200: a rank (CDF, quantile) is within 1.33% of the exact one, a bin's
share (PMF) within 1.65%, for all ranks at once with 99% confidence; 3 to 5 kB per column, however many days."""

MAX_EXACT_CATEGORIES = 1000
"""A categorical keeps exact counts up to this many distinct values; above it, a frequent-items sketch."""

FREQUENT_ITEMS_LG_MAX_K = 11
"""log2 of the frequent-items sketch's map size: tracks up to 1536 items, each count within 0.17% of the total."""

SAMPLE_ROWS = 5000
"""Rows of a day a profile keeps whole (all of them on smaller days): a uniform random sample, seeded by the date,
for what needs rows rather than per-column summaries (multivariate drift, thresholds calibrated per day)."""

MAX_MERGED_SAMPLE_ROWS = 200_000
"""A merged profile keeps at most this many sample rows: beyond it, a seeded uniform subsample of the days' samples."""

SAMPLE_SEED = 20261001

MAX_EXACT_NUMERIC_VALUES = 32
"""A numeric column keeps exact counts per value up to this many distinct finite values (the drift engine
compares numbers with few distinct values as categories)."""


class ProfileError(ValueError):
    """A profile cannot be built, merged or read; the message names the column or file and what to do."""


@dataclass(frozen=True)
class Histogram:
    """Exact counts of a column's non-null numbers in the bins cut at ``edges`` (the reference bins).

    Counted by ``drift.stats.bin_counts``, the raw path's own binning: with edges ``e_0 < ... < e_m`` the
    bins are ``(-inf, e_0)``, ``[e_0, e_1)``, ..., ``[e_{m-1}, e_m]``, ``(e_m, +inf)``; the first and last hold
    the values outside the reference range, ±inf included; a single edge gives three bins (below, equal,
    above). Nulls and text are in no bin: they are the column's ``nulls`` and ``not_numbers``.
    """

    edges: tuple[float, ...]
    counts: tuple[int, ...]


def check_bin_edges(edges: Sequence[float]) -> tuple[float, ...]:
    array = np.asarray(edges, dtype=np.float64)
    if array.ndim != 1 or not array.size or not np.isfinite(array).all() or (np.diff(array) <= 0).any():
        raise ProfileError(f"bin edges must be one or more finite numbers in increasing order, got {list(edges)}")
    return tuple(array.tolist())


@dataclass(frozen=True)
class Moments:
    """Count, mean, sum of squared deviations from the mean (M2), min and max of the finite values.

    Mean and M2 rather than a sum and a sum of squares: their merge (Chan et al.'s pairwise update) stays
    accurate when the mean is large against the spread, where a raw sum of squares cancels catastrophically.
    """

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float | None = None
    maximum: float | None = None

    @classmethod
    def of(cls, finite: np.ndarray) -> Moments:
        if not finite.size:
            return cls()
        mean = float(np.mean(finite))
        return cls(int(finite.size), mean, float(np.sum((finite - mean) ** 2)), float(finite.min()),
                   float(finite.max()))

    @property
    def std(self) -> float:
        """Population standard deviation (ddof=0, as the drift engine norms Wasserstein); NaN when empty."""
        return math.sqrt(self.m2 / self.count) if self.count else math.nan

    def merge(self, other: Moments) -> Moments:
        if not other.count:
            return self
        if not self.count:
            return other
        count = self.count + other.count
        delta = other.mean - self.mean
        return Moments(
            count=count,
            mean=(self.mean * self.count + other.mean * other.count) / count,
            m2=self.m2 + other.m2 + delta * delta * (self.count * other.count / count),
            minimum=min(self.minimum, other.minimum),
            maximum=max(self.maximum, other.maximum),
        )


@dataclass(frozen=True)
class NumericProfile:
    """One numeric column of one or more days.

    Every row is counted once: ``rows = nulls + not_numbers + negative_infinities + positive_infinities +
    moments.count``. ``nulls`` counts nulls and NaN, ``not_numbers`` text that does not parse as a number.
    ``sketch`` (KLL) and ``moments`` hold the finite values only; ``value_counts`` their exact counts while
    there are at most ``max_distinct`` distinct ones (else None); ``histogram`` the exact counts in the
    reference bins when the profile was built with edges.
    """

    rows: int
    nulls: int
    not_numbers: int
    negative_infinities: int
    positive_infinities: int
    moments: Moments
    sketch: datasketches.kll_doubles_sketch = field(compare=False, repr=False)
    value_counts: Mapping[float, int] | None
    max_distinct: int
    histogram: Histogram | None = None

    def __post_init__(self):
        if self.rows != self.nulls + self.not_numbers + self.present:
            raise ProfileError(f"numeric profile counts do not add up to its {self.rows} rows")
        if self.sketch.n != self.moments.count:
            raise ProfileError(f"the sketch holds {self.sketch.n} values but the profile counts "
                               f"{self.moments.count} finite ones")
        if self.histogram is not None and sum(self.histogram.counts) != self.present:
            raise ProfileError(f"the histogram holds {sum(self.histogram.counts)} values, not {self.present}")

    @property
    def present(self) -> int:
        """Non-null numbers, ±inf included: what KS and the histogram count."""
        return self.negative_infinities + self.moments.count + self.positive_infinities

    @property
    def rank_error(self) -> float:
        """The sketch's normalized rank error (99% confidence, for every rank at once); 0 while it is exact."""
        return self.sketch.normalized_rank_error(False) if self.sketch.is_estimation_mode() else 0.0

    @property
    def share_error(self) -> float:
        """Like :attr:`rank_error`, for the share of values in an interval (the sketch's PMF bound)."""
        return self.sketch.normalized_rank_error(True) if self.sketch.is_estimation_mode() else 0.0


@dataclass(frozen=True)
class CategoricalProfile:
    """One categorical column of one or more days: exact ``counts`` per category (text), or above
    ``max_categories`` distinct values a frequent-items ``sketch`` whose counts are within
    ``sketch.epsilon`` x the non-null total. ``rows = nulls + non-null values``.
    """

    rows: int
    nulls: int
    counts: Mapping[str, int] | None
    sketch: datasketches.frequent_strings_sketch | None = field(compare=False, repr=False)
    max_categories: int = MAX_EXACT_CATEGORIES

    def __post_init__(self):
        total = sum(self.counts.values()) if self.counts is not None else self.sketch.total_weight
        if total != self.rows - self.nulls:
            raise ProfileError(f"categorical profile counts {total} values, not {self.rows - self.nulls}")

    @property
    def exact(self) -> bool:
        return self.counts is not None

    @property
    def total(self) -> int:
        return self.rows - self.nulls


@dataclass(frozen=True)
class DayProfile:
    """The profile of one day (``days`` has one date) or the merge of several (a reference window).

    ``columns`` holds the profiled columns that were present; a column absent on some days covers fewer
    ``rows`` than the profile. ``sample`` holds whole rows of the sampled columns as they were read (up
    to ``SAMPLE_ROWS`` per day, see :func:`profile_day`; merged days' samples are concatenated); None
    when nothing was sampled, or when a merged day had no sample.
    """

    days: tuple[dt.date, ...]
    rows: int
    columns: Mapping[str, NumericProfile | CategoricalProfile]
    sample: pd.DataFrame | None = field(default=None, compare=False, repr=False)

    @property
    def sample_is_complete(self) -> bool:
        """The sample holds every row: what is computed on it is what the raw rows give."""
        return self.sample is not None and len(self.sample) == self.rows

    def to_bytes(self) -> bytes:
        """JSON (UTF-8) with a format name and version; sketches as base64 of their own serialisation."""
        document = {
            "format": FORMAT,
            "version": VERSION,
            "days": [day.isoformat() for day in self.days],
            "rows": self.rows,
            "columns": {name: _column_document(column) for name, column in self.columns.items()},
            "sample": None if self.sample is None else _sample_document(self.sample),
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> DayProfile:
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProfileError(f"not a profile (invalid JSON: {exc})") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ProfileError(f"not a profile (no format '{FORMAT}')")
        version = document.get("version")
        if version != VERSION:
            raise ProfileError(f"profile format version {version}, but this monitoring-jobs reads version "
                               f"{VERSION}; rebuild the profile with this version or upgrade")
        try:
            return cls(
                days=tuple(dt.date.fromisoformat(day) for day in document["days"]),
                rows=int(document["rows"]),
                columns={name: _column_from_document(column) for name, column in document["columns"].items()},
                sample=None if document.get("sample") is None else _sample_from_document(document["sample"]),
            )
        except (KeyError, TypeError, ValueError, IndexError, RuntimeError,  # IndexError: a cut sketch
                pa.ArrowException) as exc:
            raise ProfileError(f"damaged profile ({type(exc).__name__}: {exc})") from None


# --- building -------------------------------------------------------------------------------------

def profile_day(
    frame: pd.DataFrame | pa.Table,
    day: dt.date,
    *,
    numeric: Iterable[str] = (),
    categorical: Iterable[str] = (),
    bin_edges: Mapping[str, Sequence[float]] | None = None,
    kll_k: int = DEFAULT_KLL_K,
    max_categories: int = MAX_EXACT_CATEGORIES,
    sample: Iterable[str] = (),
    sample_rows: int = SAMPLE_ROWS,
) -> DayProfile:
    """Profile one day's rows: the listed columns that are in the frame, numeric ones binned on ``bin_edges``.

    The ``sample`` columns that are in the frame are also kept whole for up to ``sample_rows`` rows, drawn
    uniformly without replacement with a generator seeded by the date (a re-run keeps the same rows) and
    kept in their original order.
    """
    numeric, categorical, bin_edges = list(numeric), list(categorical), dict(bin_edges or {})
    both = sorted(set(numeric) & set(categorical))
    if both:
        raise ProfileError(f"columns {both} are listed as both numeric and categorical; pick one kind each")
    unbinned = sorted(set(bin_edges) - set(numeric))
    if unbinned:
        raise ProfileError(f"bin edges given for {unbinned}, which are not numeric columns of the profile")
    names = set(frame.columns if isinstance(frame, pd.DataFrame) else frame.column_names)

    def values(name: str) -> pd.Series:
        return frame[name] if isinstance(frame, pd.DataFrame) else frame.column(name).to_pandas()

    columns: dict[str, NumericProfile | CategoricalProfile] = {}
    for name in numeric:
        if name in names:
            columns[name] = profile_numeric(values(name), k=kll_k, bin_edges=bin_edges.get(name))
    for name in categorical:
        if name in names:
            columns[name] = profile_categorical(values(name), max_categories=max_categories)
    rows = len(frame) if isinstance(frame, pd.DataFrame) else frame.num_rows
    sample = list(dict.fromkeys(sample))
    kept = None
    if sample:
        sampled = [name for name in sample if name in names]
        positions = _sample_positions(rows, sample_rows, [SAMPLE_SEED, day.toordinal()])
        kept = (frame[sampled].iloc[positions] if isinstance(frame, pd.DataFrame)
                else frame.select(sampled).take(positions).to_pandas()).reset_index(drop=True)
    return DayProfile(days=(day,), rows=rows, columns=columns, sample=kept)


def _sample_positions(rows: int, limit: int, seed: list[int]) -> np.ndarray:
    """All row positions while there are at most ``limit``, else ``limit`` of them drawn uniformly; ascending."""
    if limit < 0:
        raise ProfileError(f"sample_rows must be 0 or more, got {limit}")
    if rows <= limit:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))


KLL_UPDATE_CHUNK = 1 << 16
"""Values a KLL sketch takes per call. Its update holds the GIL, so the day's validation beside it waited that
long whenever it needed the GIL back; between chunks it waits a millisecond (validation of a 5M-row day beside
the profile: 4.0-5.0 s to 2.5-3.1 s). The same values in the same order: the sketch has the same guarantees
(its compactions are random either way)."""


def numeric_values(values) -> tuple[np.ndarray, int]:
    """The values as float64 with NaN for nulls, and how many non-null values were text that is not a number."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan), 0
    coerced = pd.to_numeric(series, errors="coerce")
    return coerced.to_numpy(dtype=np.float64, na_value=np.nan), int(coerced.isna().sum() - series.isna().sum())


def profile_numeric(values, *, k: int = DEFAULT_KLL_K, bin_edges: Sequence[float] | None = None,
                    max_distinct: int = MAX_EXACT_NUMERIC_VALUES) -> NumericProfile:
    """Profile one numeric column (any array-like; text that is not a number is counted, not dropped)."""
    numbers, not_numbers = numeric_values(values)
    missing = np.isnan(numbers)
    finite = numbers[np.isfinite(numbers)]  # a fresh array: sorted in place below
    negative = int(np.count_nonzero(numbers == -np.inf))
    moments = Moments.of(finite)  # before sorting: the sums keep the rows' order, as a merge of days does
    # Sorted first: the sketch takes sorted values 3-4x faster (5M values: 0.15 s under the GIL to 0.04 s, after a
    # 0.03-0.1 s sort that releases it), with the same guarantee (KLL's bound holds for any order of the values),
    # and the distinct values are counted by binary search instead of matched against candidates.
    finite.sort()
    sketch = datasketches.kll_doubles_sketch(k)
    for start in range(0, finite.size, KLL_UPDATE_CHUNK):
        sketch.update(finite[start: start + KLL_UPDATE_CHUNK])
    histogram = None
    if bin_edges is not None:
        edges = check_bin_edges(bin_edges)
        histogram = Histogram(edges, tuple(bin_counts(numbers[~missing], np.asarray(edges)).tolist()))
    nulls = int(np.count_nonzero(missing))
    return NumericProfile(
        rows=int(numbers.size),
        nulls=nulls - not_numbers,
        not_numbers=not_numbers,
        negative_infinities=negative,
        positive_infinities=int(numbers.size - nulls - finite.size - negative),
        moments=moments,
        sketch=sketch,
        value_counts=few_value_counts(finite, max_distinct),
        max_distinct=max_distinct,
        histogram=histogram,
    )


def few_value_counts(sorted_finite: np.ndarray, max_distinct: int) -> dict[float, int] | None:
    """How often each distinct value of sorted finite values occurs, ascending, while there are at most
    ``max_distinct``; else None. A binary search from each distinct value to the next: a column of millions of
    distinct values stops after ``max_distinct + 1`` of them."""
    distinct = first_distinct_sorted(sorted_finite, max_distinct + 1)
    if distinct.size > max_distinct:
        return None
    return dict(zip(distinct.tolist(), sorted_value_counts(sorted_finite, distinct).tolist()))


def category_key(value) -> str:
    """Categories are kept as text; equal numbers share a key whatever their dtype (1, 1.0 and "1" all give "1")."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def profile_categorical(values, *, max_categories: int = MAX_EXACT_CATEGORIES) -> CategoricalProfile:
    """Profile one categorical column: counts per :func:`category_key`, nulls apart."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    counts: dict[str, int] = {}
    for value, count in series.value_counts(dropna=True, sort=False).items():
        key = category_key(value)
        counts[key] = counts.get(key, 0) + int(count)
    return _categorical(len(series), int(series.isna().sum()), counts, max_categories)


def _categorical(rows: int, nulls: int, counts: dict[str, int], max_categories: int) -> CategoricalProfile:
    """Exact counts while they fit under the cap, else the frequent-items sketch fed with them."""
    if len(counts) <= max_categories:
        return CategoricalProfile(rows, nulls, counts, None, max_categories)
    return CategoricalProfile(rows, nulls, None, _frequent_items_of(counts), max_categories)


def _frequent_items_of(counts: Mapping[str, int]) -> datasketches.frequent_strings_sketch:
    sketch = datasketches.frequent_strings_sketch(FREQUENT_ITEMS_LG_MAX_K)
    for key, count in counts.items():
        sketch.update(key, count)
    return sketch


# --- merging --------------------------------------------------------------------------------------

def merge(first: DayProfile, second: DayProfile) -> DayProfile:
    """The profile of both profiles' rows read together; neither input changes.

    A day in both would count its rows twice, so that is an error; so is a column profiled as
    numeric on one side and categorical on the other, or binned on different edges.
    """
    twice = sorted(set(first.days) & set(second.days))
    if twice:
        raise ProfileError(f"{', '.join(day.isoformat() for day in twice)} in both profiles; merging them "
                           "would count those days' rows twice")
    columns = {}
    for name in dict.fromkeys([*first.columns, *second.columns]):
        left, right = first.columns.get(name), second.columns.get(name)
        columns[name] = left if right is None else right if left is None else _merge_columns(name, left, right)
    days = tuple(sorted(first.days + second.days))
    return DayProfile(days=days, rows=first.rows + second.rows, columns=columns,
                      sample=_merge_samples(first, second, days))


def _merge_samples(first: DayProfile, second: DayProfile, days: tuple[dt.date, ...]) -> pd.DataFrame | None:
    """Both samples, earlier days first; past ``MAX_MERGED_SAMPLE_ROWS`` a seeded uniform subsample of them.
    None when either side has none: a sample missing some days would misrepresent the window."""
    if first.sample is None or second.sample is None:
        return None
    earlier, later = (first, second) if first.days[0] <= second.days[0] else (second, first)
    parts = [part.sample for part in (earlier, later) if len(part.sample)]
    if not parts:
        return earlier.sample
    rows = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    positions = _sample_positions(len(rows), MAX_MERGED_SAMPLE_ROWS, [SAMPLE_SEED, *(d.toordinal() for d in days)])
    return rows if len(positions) == len(rows) else rows.iloc[positions].reset_index(drop=True)


def merge_all(profiles: Iterable[DayProfile]) -> DayProfile:
    """Merge any number of profiles (in any order: the result is the same up to the sketches' randomness),
    earliest first, so the row samples of single days follow each other in date order."""
    profiles = sorted(profiles, key=lambda profile: profile.days[:1])
    if not profiles:
        raise ProfileError("no profiles to merge")
    return functools.reduce(merge, profiles)


def _merge_columns(name: str, left, right):
    if type(left) is not type(right):
        raise ProfileError(f"column '{name}' was profiled as {_kind(left)} on some days and as {_kind(right)} on "
                           "others; profile it with one kind every day")
    if isinstance(left, NumericProfile):
        return _merge_numeric(name, left, right)
    return _merge_categorical(left, right)


def _merge_numeric(name: str, left: NumericProfile, right: NumericProfile) -> NumericProfile:
    left_edges = left.histogram.edges if left.histogram else None
    right_edges = right.histogram.edges if right.histogram else None
    if left_edges != right_edges:
        raise ProfileError(
            f"column '{name}' was binned on different edges ({_describe_edges(left_edges)} and "
            f"{_describe_edges(right_edges)}); histograms merge only on equal edges, so profile every day of "
            "the reference with the same edges, or drop the histograms and use sketch_bin_counts")
    sketch = copy.copy(left.sketch)
    sketch.merge(right.sketch)
    max_distinct = min(left.max_distinct, right.max_distinct)
    value_counts = None
    if left.value_counts is not None and right.value_counts is not None:
        value_counts = _add_counts(left.value_counts, right.value_counts)
        value_counts = value_counts if len(value_counts) <= max_distinct else None
    histogram = None
    if left.histogram is not None:
        histogram = Histogram(left_edges, tuple(a + b for a, b in zip(left.histogram.counts, right.histogram.counts)))
    return NumericProfile(
        rows=left.rows + right.rows,
        nulls=left.nulls + right.nulls,
        not_numbers=left.not_numbers + right.not_numbers,
        negative_infinities=left.negative_infinities + right.negative_infinities,
        positive_infinities=left.positive_infinities + right.positive_infinities,
        moments=left.moments.merge(right.moments),
        sketch=sketch,
        value_counts=value_counts,
        max_distinct=max_distinct,
        histogram=histogram,
    )


def without_histograms(profile: DayProfile) -> DayProfile:
    """The same profile with no histograms, so days binned on different edges can still be merged."""
    columns = {name: _replace_histogram(column) for name, column in profile.columns.items()}
    return DayProfile(profile.days, profile.rows, columns, profile.sample)


def _replace_histogram(column):
    if not isinstance(column, NumericProfile) or column.histogram is None:
        return column
    return NumericProfile(column.rows, column.nulls, column.not_numbers, column.negative_infinities,
                          column.positive_infinities, column.moments, column.sketch, column.value_counts,
                          column.max_distinct, None)


def _merge_categorical(left: CategoricalProfile, right: CategoricalProfile) -> CategoricalProfile:
    """Exact while the union of categories fits under the smaller cap (so the result does not depend on order)."""
    rows, nulls = left.rows + right.rows, left.nulls + right.nulls
    max_categories = min(left.max_categories, right.max_categories)
    if left.exact and right.exact:
        return _categorical(rows, nulls, _add_counts(left.counts, right.counts), max_categories)
    sketch = copy.copy(left.sketch) if left.sketch is not None else _frequent_items_of(left.counts)
    sketch.merge(right.sketch if right.sketch is not None else _frequent_items_of(right.counts))
    return CategoricalProfile(rows, nulls, None, sketch, max_categories)


def _add_counts(left: Mapping, right: Mapping) -> dict:
    total = dict(left)
    for key, count in right.items():
        total[key] = total.get(key, 0) + count
    return total


def _kind(column) -> str:
    return "numeric" if isinstance(column, NumericProfile) else "categorical"


def _describe_edges(edges: tuple[float, ...] | None) -> str:
    if edges is None:
        return "no edges"
    shown = ", ".join(f"{edge:g}" for edge in edges[:4]) + (", ..." if len(edges) > 4 else "")
    return f"{len(edges)} edges [{shown}]"


# --- serialisation --------------------------------------------------------------------------------

def _encode(sketch) -> str:
    return base64.b64encode(sketch.serialize()).decode("ascii")


def _decode(kind, text: str):
    return kind.deserialize(base64.b64decode(text, validate=True))


def _sample_document(sample: pd.DataFrame) -> str:
    """Parquet (zstd) as base64: column types, nulls and timestamps' time zones come back as they were."""
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(sample, preserve_index=False), sink, compression="zstd")
    return base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii")


def _sample_from_document(text: str) -> pd.DataFrame:
    return pq.read_table(pa.BufferReader(base64.b64decode(text, validate=True))).to_pandas()


def _column_document(column) -> dict:
    if isinstance(column, CategoricalProfile):
        return {
            "kind": "categorical", "rows": column.rows, "nulls": column.nulls,
            "max_categories": column.max_categories, "counts": column.counts,
            "frequent_items": None if column.sketch is None else _encode(column.sketch),
        }
    moments = column.moments
    return {
        "kind": "numeric", "rows": column.rows, "nulls": column.nulls, "not_numbers": column.not_numbers,
        "negative_infinities": column.negative_infinities, "positive_infinities": column.positive_infinities,
        "count": moments.count, "mean": moments.mean, "m2": moments.m2, "min": moments.minimum,
        "max": moments.maximum, "kll": _encode(column.sketch), "max_distinct": column.max_distinct,
        "value_counts": None if column.value_counts is None else sorted(column.value_counts.items()),
        "histogram": None if column.histogram is None else {"edges": column.histogram.edges,
                                                            "counts": column.histogram.counts},
    }


def _column_from_document(document: dict):
    if document["kind"] == "categorical":
        sketch = document["frequent_items"]
        return CategoricalProfile(
            rows=document["rows"], nulls=document["nulls"], counts=document["counts"],
            sketch=None if sketch is None else _decode(datasketches.frequent_strings_sketch, sketch),
            max_categories=document["max_categories"],
        )
    if document["kind"] != "numeric":
        raise ValueError(f"unknown column kind {document['kind']!r}")
    histogram = document["histogram"]
    value_counts = document["value_counts"]
    return NumericProfile(
        rows=document["rows"], nulls=document["nulls"], not_numbers=document["not_numbers"],
        negative_infinities=document["negative_infinities"], positive_infinities=document["positive_infinities"],
        moments=Moments(document["count"], document["mean"], document["m2"], document["min"], document["max"]),
        sketch=_decode(datasketches.kll_doubles_sketch, document["kll"]),
        value_counts=None if value_counts is None else {float(value): count for value, count in value_counts},
        max_distinct=document["max_distinct"],
        histogram=None if histogram is None else Histogram(tuple(map(float, histogram["edges"])),
                                                           tuple(histogram["counts"])),
    )
