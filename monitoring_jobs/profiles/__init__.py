"""Daily profiles: per model-day, a small stored summary that merges, so a reference of N days is a
merge of N profiles instead of a re-read of N days of raw logs (a 365-day backfill stays linear).

Typical use for one model-day (``window`` = the reference's days)::

    reference = load_reference(state_dir, model, window)                  # merges stored files only
    edges = {c: quantile_bin_edges(reference.columns[c]) for c in numeric}   # or frozen edges
    today = profile_day(frame, day, numeric=numeric, categorical=categorical, bin_edges=edges)
    save_profile(profile_path(state_dir, model, day), today)
    ks_test_from_profile(reference.columns["income"], frame["income"])                # Estimate with bound
    psi(*shared_bin_counts(reference.columns["income"], today.columns["income"]))    # drift.stats, exact

What is exact and what is approximate is said in :mod:`.profile` and :mod:`.stats`. The pipeline
stores one profile per ingested model-day with a row sample (``profile_day(..., sample=columns)``), and
its drift engine takes a merged profile as a rolling reference (``monitoring_jobs.pipeline``).
"""

# The drift engine reads profiled references and this package counts with drift.stats: importing the drift
# package first lets either be imported first without finding the other half-initialised.
import monitoring_jobs.drift  # noqa: F401, I001
from monitoring_jobs.profiles.profile import (
    DEFAULT_KLL_K,
    MAX_EXACT_CATEGORIES,
    SAMPLE_ROWS,
    CategoricalProfile,
    DayProfile,
    Histogram,
    Moments,
    NumericProfile,
    ProfileError,
    merge,
    merge_all,
    profile_categorical,
    profile_day,
    profile_numeric,
    without_histograms,
)
from monitoring_jobs.profiles.stats import (
    OTHER_CATEGORIES,
    Estimate,
    category_counts,
    cdf,
    is_exact,
    ks_test_from_profile,
    quantile_bin_edges,
    quantiles,
    shared_bin_counts,
    sketch_bin_counts,
    wasserstein_normed_from_profile,
)
from monitoring_jobs.profiles.store import (
    ProfileNotFoundError,
    load_profile,
    load_reference,
    profile_path,
    save_profile,
)

__all__ = [
    "DEFAULT_KLL_K", "MAX_EXACT_CATEGORIES", "OTHER_CATEGORIES", "CategoricalProfile", "DayProfile", "Estimate",
    "Histogram", "Moments", "NumericProfile", "ProfileError", "ProfileNotFoundError", "SAMPLE_ROWS", "category_counts",
    "cdf", "is_exact", "ks_test_from_profile", "load_profile", "load_reference", "merge", "merge_all",
    "profile_categorical", "profile_day", "profile_numeric", "profile_path", "quantile_bin_edges", "quantiles",
    "save_profile", "shared_bin_counts", "sketch_bin_counts", "wasserstein_normed_from_profile", "without_histograms",
]
