"""Multivariate drift: PCA reconstruction error of all features together (NannyML's data reconstruction).

Fitted on the reference, as NannyML's ``DataReconstructionDriftCalculator`` does:

1. impute: a numeric null (or ±inf, or text) becomes the reference mean, a categorical null the
   reference's most frequent value;
2. encode each categorical by frequency: a value becomes its share of the reference rows (a value
   the reference never saw becomes 0);
3. scale every column to zero mean and unit variance over the reference (a constant column is only
   centred);
4. keep the fewest principal components whose explained variance exceeds ``variance`` (0.65), as
   ``sklearn.decomposition.PCA(n_components=0.65)``;
5. each row's error is the Euclidean distance to its reconstruction from those components; a day's
   value is the mean over its rows.

The threshold is the band ``mean +/- k_std * std`` of the same value over the reference chunks
(days): a day drifts when its error leaves the band on either side, as in NannyML. Unlike NannyML,
each chunk is scored by a PCA fitted on the other chunks (same imputation, encoding and scaling), so
the band describes days the PCA has not seen, as every new day is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitoring_jobs.drift.calibration import Band, ReferenceChunks, band
from monitoring_jobs.storage import ParquetColumns


@dataclass(frozen=True)
class ReconstructionDrift:
    error: float
    band: Band
    components: int
    columns: int
    sampled: str = ""
    """Which side was sampled (``MAX_ROWS``), said in the figure's detail; empty when every row counted."""

    @property
    def drifted(self) -> bool:
        return not self.band.lower <= self.error <= self.band.upper


@dataclass(frozen=True)
class _Pca:
    """Principal components of scaled rows, from their sums (``gram = X^T X``, ``total``, ``rows``)."""

    gram: np.ndarray
    total: np.ndarray
    rows: int
    mean: np.ndarray
    basis: np.ndarray

    @property
    def components(self) -> int:
        return self.basis.shape[1]

    @classmethod
    def fit(cls, gram: np.ndarray, total: np.ndarray, rows: int, variance: float) -> _Pca | None:
        """The fewest components explaining more than ``variance`` (as sklearn's float ``n_components``)."""
        if rows < 2:
            return None
        mean = total / rows
        eigenvalues, eigenvectors = np.linalg.eigh(gram - rows * np.outer(mean, mean))
        order = np.argsort(eigenvalues)[::-1]
        eigenvalues = np.clip(eigenvalues[order], 0.0, None)
        if eigenvalues.sum() <= 0:
            return None
        explained = np.cumsum(eigenvalues) / eigenvalues.sum()
        components = min(int(np.searchsorted(explained, variance, side="right")) + 1, len(mean))
        return cls(gram, total, rows, mean, eigenvectors[:, order[:components]])

    def errors(self, matrix: np.ndarray) -> np.ndarray:
        """Euclidean distance of each row to its reconstruction from the components."""
        centred = matrix - self.mean
        return np.linalg.norm(centred - centred @ self.basis @ self.basis.T, axis=1)


BLOCK_ROWS = 131_072
"""Rows encoded at a time: the PCA reads sums over rows, so a day of any size costs a block's matrix in memory."""
MAX_ROWS = 500_000
"""Above this many rows, the PCA is fitted and the error averaged on a seeded sample of about this many rows of
each side (a mean over 500,000 rows moves by a few 0.1% of its spread): 5M-row days cost 1 s, not 11."""


@dataclass(frozen=True)
class _Encoder:
    """The reference's imputation values, category frequencies, centre and scale."""

    numeric_fill: dict[str, float]
    frequencies: dict[str, pd.Series]
    mode_share: dict[str, float]
    centre: np.ndarray
    scale: np.ndarray

    def columns(self, frame: pd.DataFrame):
        """Each feature imputed and encoded, unscaled, one column at a time."""
        for name, fill in self.numeric_fill.items():
            values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            yield np.where(np.isfinite(values), values, fill)
        for name, shares in self.frequencies.items():
            codes, uniques = pd.factorize(frame[name])  # a null gets code -1
            share_of = shares.reindex(uniques).fillna(0.0).to_numpy(dtype=np.float64)
            yield np.where(codes >= 0, share_of[codes] if share_of.size else 0.0, self.mode_share[name])

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        return (np.column_stack(list(self.columns(frame))) - self.centre) / self.scale

    def blocks(self, frame: pd.DataFrame | ParquetColumns):
        """(first row, scaled matrix) for each block of at most ``BLOCK_ROWS`` rows (streamed from a file)."""
        if isinstance(frame, ParquetColumns):
            parts = frame.blocks([*self.numeric_fill, *self.frequencies], BLOCK_ROWS)
        else:
            parts = ((start, frame.iloc[start:start + BLOCK_ROWS]) for start in range(0, len(frame), BLOCK_ROWS))
        for start, part in parts:
            yield start, self.matrix(part)


def reconstruction_drift(reference: pd.DataFrame | ParquetColumns, current: pd.DataFrame | ParquetColumns,
                         numeric: list[str], categorical: list[str], *, variance: float, chunks: ReferenceChunks,
                         k_std: float) -> ReconstructionDrift | str:
    """The day's mean reconstruction error and its reference band, or why it cannot be computed."""
    reference, chunks, reference_note = _sampled(reference, [*numeric, *categorical], chunks, "reference")
    current, _, current_note = _sampled(current, [*numeric, *categorical], None, "day")
    usable = [name for name in (*numeric, *categorical) if name in reference.columns and name in current.columns
              and reference[name].notna().any()]
    if len(usable) < 2:
        return f"needs at least 2 features with reference values, found {len(usable)}"
    encoder = _fit_encoder(reference, [n for n in numeric if n in usable], [n for n in categorical if n in usable])
    if encoder is None:
        return "no numeric feature has a finite reference value"
    width = encoder.centre.size
    if width < 2:
        return f"needs at least 2 features with finite reference values, found {width}"
    gram, total = np.zeros((width, width)), np.zeros(width)
    chunk_gram, chunk_total = np.zeros((chunks.count, width, width)), np.zeros((chunks.count, width))
    chunk_rows = np.bincount(chunks.labels[chunks.labels >= 0], minlength=chunks.count)
    for start, block in encoder.blocks(reference):
        gram += block.T @ block
        total += block.sum(axis=0)
        labels = chunks.labels[start:start + len(block)]
        for chunk in np.unique(labels[labels >= 0]):
            rows = block[labels == chunk]
            chunk_gram[chunk] += rows.T @ rows
            chunk_total[chunk] += rows.sum(axis=0)
    fitted = _Pca.fit(gram, total, len(reference), variance)
    if fitted is None:
        return "every feature is constant in the reference"
    # Each reference chunk is scored by the PCA of the other chunks: scored by a fit that saw it, a
    # chunk reconstructs better than any new day would (the smallest components overfit), which
    # would put the band too low and raise alarms on clean days.
    rests = [_Pca.fit(gram - chunk_gram[chunk], total - chunk_total[chunk], fitted.rows - int(chunk_rows[chunk]),
                      variance) if chunk_rows[chunk] else None for chunk in range(chunks.count)]
    error_sums = np.zeros(chunks.count)
    for start, block in encoder.blocks(reference):
        labels = chunks.labels[start:start + len(block)]
        for chunk in np.unique(labels[labels >= 0]):
            if rests[chunk] is not None:
                error_sums[chunk] += rests[chunk].errors(block[labels == chunk]).sum()
    per_chunk = [float(error_sums[chunk] / chunk_rows[chunk]) if rests[chunk] is not None else float("nan")
                 for chunk in range(chunks.count)]
    reference_band = band(per_chunk, k_std)
    if reference_band is None:
        return f"the reference gives fewer than 3 chunks to set the band ({chunks.description})"
    if not len(current):
        return "the current data has no rows"
    error = sum(fitted.errors(block).sum() for _, block in encoder.blocks(current)) / len(current)
    sampled = "; ".join(note for note in (reference_note, current_note) if note)
    return ReconstructionDrift(float(error), reference_band, fitted.components, width, sampled)


def _sampled(rows: pd.DataFrame | ParquetColumns, names: list[str], chunks: ReferenceChunks | None,
             side: str) -> tuple[pd.DataFrame | ParquetColumns, ReferenceChunks | None, str]:
    """At most about ``MAX_ROWS`` of the rows (a seeded Bernoulli sample, kept in order) with their chunks, and
    a note saying so; the rows themselves when there are no more than that."""
    total = len(rows)
    if total <= MAX_ROWS:
        return rows, chunks, ""
    keep = np.random.default_rng([MAX_ROWS, total]).random(total) < MAX_ROWS / total
    names = [name for name in names if name in rows.columns]
    if isinstance(rows, ParquetColumns):
        parts = [part[keep[start:start + len(part)]] for start, part in rows.blocks(names, BLOCK_ROWS)]
        sample = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=names)
    else:
        sample = rows.loc[keep, names].reset_index(drop=True)
    if chunks is not None:
        chunks = ReferenceChunks(chunks.labels[keep], chunks.count, chunks.description)
    return sample, chunks, f"{side}: a seeded sample of {len(sample):,} of its {total:,} rows"


def _fit_encoder(reference: pd.DataFrame | ParquetColumns, numeric: list[str],
                 categorical: list[str]) -> _Encoder | None:
    numeric_fill = {}
    for name in numeric:
        values = pd.to_numeric(reference[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        finite = values[np.isfinite(values)]
        if finite.size:
            numeric_fill[name] = float(finite.mean())
    frequencies = {name: reference[name].value_counts(normalize=True, dropna=True) for name in categorical}
    if not numeric_fill and not frequencies:
        return None
    mode_share = {name: float(shares.iloc[0]) for name, shares in frequencies.items()}
    encoder = _Encoder(numeric_fill, frequencies, mode_share, np.zeros(0), np.ones(0))
    centre, scale = zip(*((column.mean(), column.std()) for column in encoder.columns(reference)), strict=True)
    scale = np.array(scale)
    return _Encoder(numeric_fill, frequencies, mode_share, np.array(centre), np.where(scale > 0, scale, 1.0))
