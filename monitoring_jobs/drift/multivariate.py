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


@dataclass(frozen=True)
class ReconstructionDrift:
    error: float
    band: Band
    components: int
    columns: int

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


@dataclass(frozen=True)
class _Encoder:
    """The reference's imputation values, category frequencies, centre and scale."""

    numeric_fill: dict[str, float]
    frequencies: dict[str, pd.Series]
    mode_share: dict[str, float]
    centre: np.ndarray
    scale: np.ndarray

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        columns = []
        for name, fill in self.numeric_fill.items():
            values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            columns.append(np.where(np.isfinite(values), values, fill))
        for name, shares in self.frequencies.items():
            encoded = frame[name].map(shares).astype("float64")
            encoded = encoded.where(frame[name].notna(), self.mode_share[name]).fillna(0.0)
            columns.append(encoded.to_numpy(dtype=np.float64))
        return (np.column_stack(columns) - self.centre) / self.scale


def reconstruction_drift(reference: pd.DataFrame, current: pd.DataFrame, numeric: list[str], categorical: list[str],
                         *, variance: float, chunks: ReferenceChunks, k_std: float) -> ReconstructionDrift | str:
    """The day's mean reconstruction error and its reference band, or why it cannot be computed."""
    usable = [name for name in (*numeric, *categorical) if name in reference.columns and name in current.columns
              and reference[name].notna().any()]
    if len(usable) < 2:
        return f"needs at least 2 features with reference values, found {len(usable)}"
    encoder = _fit_encoder(reference, [n for n in numeric if n in usable], [n for n in categorical if n in usable])
    if encoder is None:
        return "no numeric feature has a finite reference value"
    scaled = encoder.matrix(reference)
    width = scaled.shape[1]
    if width < 2:
        return f"needs at least 2 features with finite reference values, found {width}"
    fitted = _Pca.fit(scaled.T @ scaled, scaled.sum(axis=0), len(scaled), variance)
    if fitted is None:
        return "every feature is constant in the reference"
    # Each reference chunk is scored by the PCA of the other chunks: scored by a fit that saw it, a
    # chunk reconstructs better than any new day would (the smallest components overfit), which
    # would put the band too low and raise alarms on clean days.
    per_chunk = []
    for chunk in range(chunks.count):
        inside = chunks.labels == chunk
        rows = scaled[inside]
        rest = _Pca.fit(fitted.gram - rows.T @ rows, fitted.total - rows.sum(axis=0), fitted.rows - len(rows),
                        variance) if len(rows) else None
        per_chunk.append(float(rest.errors(rows).mean()) if rest is not None and len(rows) else float("nan"))
    reference_band = band(per_chunk, k_std)
    if reference_band is None:
        return f"the reference gives fewer than 3 chunks to set the band ({chunks.description})"
    if not len(current):
        return "the current data has no rows"
    return ReconstructionDrift(float(fitted.errors(encoder.matrix(current)).mean()), reference_band,
                               fitted.components, width)


def _fit_encoder(reference: pd.DataFrame, numeric: list[str], categorical: list[str]) -> _Encoder | None:
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
    encoder = _Encoder(numeric_fill, frequencies, mode_share, np.zeros(1), np.ones(1))
    raw = encoder.matrix(reference)
    scale = raw.std(axis=0)
    return _Encoder(numeric_fill, frequencies, mode_share, raw.mean(axis=0), np.where(scale > 0, scale, 1.0))
