"""Performance of a binary classifier estimated without labels: confidence-based performance estimation (CBPE).

As NannyML defines it: an isotonic regression fitted on the reference's scores and labels turns each
score into a calibrated probability p that the row is positive. A row the model calls positive
(``score >= decision_threshold``) is then an expected ``p`` true positive and ``1 - p`` false positive; one it
calls negative an expected ``1 - p`` true negative and ``p`` false negative. Summed over the day they make the
expected confusion matrix, and accuracy, precision, recall and F1 follow from it. The estimated ROC AUC walks
the rows from the highest score down, accumulating ``p`` as expected true positives and ``1 - p`` as expected
false positives, and takes the area under that expected ROC curve.

The estimate needs no label of the day, so it moves the day the population moves. It assumes what CBPE
assumes: P(label | score) is the same as in the reference (covariate shift, not concept drift) and the day's
scores fall where the reference has examples. Its interval is a bootstrap over the day's rows: the day's
sampling error, not the calibration's.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitoring_jobs.config import MonitorConfig
from monitoring_jobs.metrics import Metric, Status
from monitoring_jobs.performance.intervals import Figure, bootstrap, describe_interval, judge_figure
from monitoring_jobs.performance.labels import output_column
from monitoring_jobs.performance.measures import CONFUSION_COUNTS, POINT_BLOCK_ROWS, RowSample, matches_label
from monitoring_jobs.performance.quality import Figures

AREA = "performance"
PREFIX = "estimated_"
ESTIMATED_RATES = ("roc_auc", "accuracy", "precision", "recall", "f1")
NAN = float("nan")


@dataclass(frozen=True)
class Calibration:
    """Isotonic map from score to the probability of the positive class, fitted on ``rows`` reference rows: linear
    between the fitted ``thresholds`` (scores) and their ``levels`` (probabilities), clipped beyond them, as
    scikit-learn's ``IsotonicRegression(out_of_bounds="clip").predict``. Kept as those arrays so a fit can be
    stored and read back (``to_json``) instead of refitted on the same reference every day."""

    thresholds: np.ndarray
    levels: np.ndarray
    rows: int

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        return np.interp(scores, self.thresholds, self.levels)

    def to_json(self) -> bytes:
        """JSON writes each float as the shortest text that reads back to it: the round trip is exact."""
        return json.dumps({"thresholds": self.thresholds.tolist(), "levels": self.levels.tolist(),
                           "rows": self.rows}).encode()

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        raw = json.loads(text)
        return cls(np.array(raw["thresholds"], dtype=np.float64), np.array(raw["levels"], dtype=np.float64),
                   int(raw["rows"]))


def fit_calibration(reference: pd.DataFrame, monitor: MonitorConfig) -> Calibration | str:
    """The calibration learnt from the reference's labeled, scored rows, or why there is none."""
    label, score = monitor.columns.label, output_column(monitor)
    missing = [f"'{c}'" for c in (label, score) if c not in reference.columns]
    if missing:
        return (f"the reference has no {' or '.join(missing)} column; CBPE calibrates the scores on a reference "
                f"that carries its labels, so add a '{label}' column to the reference file")
    scores = pd.to_numeric(reference[score], errors="coerce").to_numpy(dtype=np.float64)
    usable = np.isfinite(scores) & reference[label].notna().to_numpy()
    positive = matches_label(reference[label][usable], monitor.performance.positive_label)
    minimum = monitor.performance.min_labels
    if usable.sum() < minimum or positive.all() or not positive.any():
        return (f"the reference has {int(usable.sum())} scored, labeled rows ({int(positive.sum())} positive); "
                f"CBPE needs at least min_labels={minimum} with both classes")
    from sklearn.isotonic import IsotonicRegression  # here: 1.5 s to import, for days that fit a calibration

    model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    model.fit(scores[usable], positive.astype(np.float64))
    return Calibration(model.X_thresholds_.astype(np.float64), model.y_thresholds_.astype(np.float64),
                       int(usable.sum()))


class EstimationSample(RowSample):
    """The day's scores with their calibrated probabilities; ``measures`` follows ``measures.py``'s contract."""

    def __init__(self, scores: np.ndarray, probabilities: np.ndarray, threshold: float) -> None:
        self._rows, self._options = (scores, probabilities), {"threshold": threshold}
        self.size = scores.size
        self.scores, self.probabilities, self.threshold = scores, probabilities, threshold

    @functools.cached_property
    def _weighted(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-row cells for ``W @ cells`` and the rows in descending score order, with their probabilities:
        built only for weightings other than the point (the bootstrap's resamples)."""
        called_positive, probabilities = self.scores >= self.threshold, self.probabilities
        cells = np.column_stack([np.where(called_positive, probabilities, 0.0),
                                 np.where(called_positive, 1.0 - probabilities, 0.0),
                                 np.where(called_positive, 0.0, 1.0 - probabilities),
                                 np.where(called_positive, 0.0, probabilities)])
        # the order among tied scores does not change the area (see ``_roc_auc``): numpy's unstable sort
        descending = np.argsort(-self.scores)
        return cells, descending, probabilities[descending]

    @functools.cached_property
    def point(self) -> dict[str, np.ndarray]:
        """The rows as they are, without ordering the rows: the calibration never lowers a probability as the
        score rises, so the probabilities in descending score order are the probabilities sorted descending. The
        curve's area is summed over blocks of them (``POINT_BLOCK_ROWS``), the trapezoids ``_roc_auc`` draws."""
        called_positive, probabilities = self.scores >= self.threshold, self.probabilities
        expected_positive = np.sum(probabilities, where=called_positive)
        expected_negative = np.sum(probabilities, where=~called_positive)
        tp, fp = expected_positive, called_positive.sum() - expected_positive
        fn, tn = expected_negative, (~called_positive).sum() - expected_negative
        descending = np.sort(probabilities)[::-1]
        found_before, area = 0.0, 0.0  # the expected positives above the block, and twice the area so far
        for start in range(0, self.size, POINT_BLOCK_ROWS):
            block = descending[start: start + POINT_BLOCK_ROWS]
            found = found_before + np.cumsum(block)
            # each row adds a step of 1 - p expected negatives, under the trapezoid between the found before and after
            area += float(((1.0 - block) * (2.0 * found - block)).sum())
            found_before = float(found[-1])
        negatives = self.size - found_before
        roc_auc = area / (2.0 * found_before * negatives) if found_before > 0 and negatives > 0 else NAN
        return self._figures(*(np.full(1, value, dtype=np.float64) for value in (tp, fp, tn, fn, self.size, roc_auc)))

    def measures(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        weights = np.atleast_2d(weights)
        cells, descending, ordered_probabilities = self._weighted
        tp, fp, tn, fn = (weights @ cells).T
        return self._figures(tp, fp, tn, fn, weights.sum(axis=1),
                             _roc_auc(ordered_probabilities, weights[:, descending]))

    @staticmethod
    def _figures(tp, fp, tn, fn, total, roc_auc) -> dict[str, np.ndarray]:
        """The measures from each weighting's expected confusion counts and area under the curve."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return {
                "roc_auc": roc_auc,
                "accuracy": (tp + tn) / total,
                "precision": np.where(tp + fp > 0, tp / (tp + fp), NAN),
                "recall": np.where(tp + fn > 0, tp / (tp + fn), NAN),
                "f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), NAN),
                **dict(zip(CONFUSION_COUNTS, (tp, fp, tn, fn), strict=True)),
            }


def _roc_auc(ordered_probabilities: np.ndarray, ordered_weights: np.ndarray) -> np.ndarray:
    """Each weighting's area under the expected ROC curve, from its weights in descending score order,
    ``ordered_probabilities`` being the probabilities in that order. Tied scores share one calibrated probability,
    so their points lie on one line: order among them does not change the area."""
    rows = len(ordered_weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        found = np.concatenate([np.zeros((rows, 1)), np.cumsum(ordered_weights * ordered_probabilities, axis=1)],
                               axis=1)
        false = np.concatenate([np.zeros((rows, 1)),
                                np.cumsum(ordered_weights * (1.0 - ordered_probabilities), axis=1)], axis=1)
        roc_auc = np.trapezoid(found / found[:, -1:], false / false[:, -1:], axis=1)
        return np.where((found[:, -1] > 0) & (false[:, -1] > 0), roc_auc, NAN)


def estimated_performance(frame: pd.DataFrame, calibration: Calibration | str, monitor: MonitorConfig,
                          realized: Figures, labeled_rows: int) -> list[Metric]:
    """``estimated_<metric>`` for the day's scored rows, judged like the realized figures, each detail naming
    the realized value beside it once labels exist; MISSING with the reason when there is no ``calibration``."""
    names = [PREFIX + name for name in (*ESTIMATED_RATES, *CONFUSION_COUNTS)]
    if isinstance(calibration, str):
        return [Metric(AREA, name, NAN, status=Status.MISSING, detail=calibration) for name in names]
    settings = monitor.performance
    scores = frame[output_column(monitor)].to_numpy(dtype=np.float64)
    scores = scores[np.isfinite(scores)]
    if not scores.size:
        return [Metric(AREA, name, NAN, status=Status.MISSING, detail="no scored rows to estimate from")
                for name in names]
    sample = EstimationSample(scores, calibration.probabilities(scores), settings.decision_threshold)
    point = sample.point
    intervals = bootstrap(sample, settings, "estimated")
    basis = f"CBPE on {sample.size} scored rows, calibrated on {calibration.rows} reference rows"
    metrics = []
    for name in ESTIMATED_RATES:
        figure = Figure(float(point[name][0]), intervals.get(name))
        detail = f"{basis}; {_realized_text(realized.get((name, '')), labeled_rows, settings.confidence_level)}"
        metric = judge_figure(AREA, PREFIX + name, figure, settings.thresholds.get(PREFIX + name),
                              settings.confidence_level, detail=detail, missing_reason="undefined on this day's scores")
        if sample.size < settings.min_labels and metric.status is not Status.MISSING:
            metric = dataclasses.replace(metric, status=Status.MISSING, threshold=None, detail=(
                f"only {sample.size} scored rows, fewer than min_labels={settings.min_labels}: not judged; {detail}"))
        metrics.append(metric)
    for name in CONFUSION_COUNTS:
        interval = intervals.get(name)
        metrics.append(Metric(AREA, PREFIX + name, float(point[name][0]), detail=basis,
                              lower=interval.lower if interval else None, upper=interval.upper if interval else None))
    return metrics


def _realized_text(realized: Figure | None, labeled_rows: int, level: float) -> str:
    if realized is None or not np.isfinite(realized.value):
        return f"no realized value yet ({labeled_rows} labeled rows)"
    interval = describe_interval(realized.interval, level)
    return f"realized {realized.value:.4g} on {labeled_rows} labeled rows" + (f", {interval}" if interval else "")
