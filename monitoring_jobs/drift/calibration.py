"""Thresholds learnt from the reference itself (NannyML's approach): how much a statistic varies day to day.

The reference is cut into chunks, its UTC days when it has timestamps, and a statistic computed on
each chunk; a day is judged against ``mean +/- k_std * std`` of those values (sample std, ddof=1, as
pandas and NannyML), so an alert means "more change than the reference saw between its own days".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_CHUNKS = 3
"""Fewer chunks give no usable spread: the band is then not computed."""


@dataclass(frozen=True)
class ReferenceChunks:
    """``labels[i]`` is the chunk of reference row i (-1: in none, e.g. no timestamp)."""

    labels: np.ndarray
    count: int
    description: str


def reference_chunks(reference: pd.DataFrame, timestamp: str, equal_chunks: int) -> ReferenceChunks:
    """The reference's UTC days when its timestamps cover at least ``MIN_CHUNKS`` of them, else
    ``equal_chunks`` runs of consecutive rows (fewer if the reference has fewer rows)."""
    rows = len(reference)
    why = "the reference has no timestamps"
    if timestamp in reference.columns and pd.api.types.is_datetime64_any_dtype(reference[timestamp]):
        days = reference[timestamp].dt.floor("D")
        labels, uniques = pd.factorize(days, sort=True)
        if len(uniques) >= MIN_CHUNKS:
            first, last = (f"{uniques[i]:%Y-%m-%d}" for i in (0, -1))
            return ReferenceChunks(labels.astype(np.int64), len(uniques),
                                   f"{len(uniques)} reference days ({first} to {last})")
        why = f"the reference covers {len(uniques)} day(s)"
    count = min(equal_chunks, rows)
    labels = (np.arange(rows, dtype=np.int64) * count) // max(rows, 1)
    return ReferenceChunks(labels, count, f"{count} equal chunks of reference rows ({why})")


@dataclass(frozen=True)
class Band:
    """``mean +/- k_std * std`` of a statistic over the reference chunks that gave a value."""

    mean: float
    std: float
    k_std: float
    chunks: int

    @property
    def lower(self) -> float:
        return self.mean - self.k_std * self.std

    @property
    def upper(self) -> float:
        return self.mean + self.k_std * self.std

    def describe(self, what: str, source: str) -> str:
        return (f"{what} band {self.lower:.4g} to {self.upper:.4g}: mean {self.mean:.4g} +/- {self.k_std:g} x std "
                f"{self.std:.4g} over {self.chunks} chunks ({source})")


def band(values: list[float], k_std: float) -> Band | None:
    """The band of the finite values, or None when fewer than ``MIN_CHUNKS`` are finite."""
    finite = [value for value in values if math.isfinite(value)]
    if len(finite) < MIN_CHUNKS:
        return None
    return Band(float(np.mean(finite)), float(np.std(finite, ddof=1)), k_std, len(finite))
