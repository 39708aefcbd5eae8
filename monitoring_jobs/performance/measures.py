"""Model quality measures, each written once for a matrix of row weights, computed directly with numpy.

A sample (``BinarySample``, ``MulticlassSample``, ``RegressionSample``) holds one scope's aligned labels and
outputs; ``measures(weights)`` takes ``weights`` of shape ``(R, n)``, R weightings of the same n rows, and
returns one value per weighting for every measure. The point value is the weighting of all ones; a bootstrap
resample is the weighting that counts how often each row was drawn (``intervals.py``), so the figure and its
interval come from the same formula. With integer weights every measure equals scikit-learn's on the rows
repeated that many times. A binary sample counts its point value instead (``BinarySample.point``): the same
figures without ordering millions of rows, tested equal to the weighted formula.

Measures are NaN (never raise, never warn) where undefined, so the caller can report *why* instead of a
misleading 0. Labels and outputs must not be null: the caller drops those rows first.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
import pandas as pd

NAN = float("nan")
EPS = np.finfo(np.float64).eps
RESIDUAL_QUANTILES = {"residual_p05": 0.05, "residual_p25": 0.25, "residual_p50": 0.5, "residual_p75": 0.75,
                      "residual_p95": 0.95}
CONFUSION_COUNTS = ("true_positives", "false_positives", "true_negatives", "false_negatives")
POINT_BLOCK_ROWS = 1 << 16
"""Rows a point figure's per-row terms are computed for at a time, then summed: the temporaries stay in the cache
instead of taking fresh memory for every row of the day (a 5M-row day: 40 MB an array, about ten of them)."""


def unit_weights(size: int) -> np.ndarray:
    """The weighting of the rows as they are: one row of ones."""
    return np.ones((1, size))


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Elementwise ratio, NaN where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator != 0, numerator / np.where(denominator != 0, denominator, 1.0), NAN)


class RowSample:
    """A sample of rows that can be rebuilt from a subset of them (what the bootstrap of a large day resamples):
    each subclass keeps its constructor's per-row arrays in ``_rows`` and its other arguments in ``_options``."""

    size: int
    _rows: tuple
    _options: dict

    def subset(self, rows: np.ndarray):
        return type(self)(*(None if values is None else np.asarray(values)[rows] for values in self._rows),
                          **self._options)

    @functools.cached_property
    def point(self) -> dict[str, np.ndarray]:
        """The measures of the rows as they are (once: the figure and its bootstrap both read them)."""
        return self.measures(unit_weights(self.size))


class BinarySample(RowSample):
    """Labels and positive-class scores of a binary classifier; a row is predicted positive when
    ``score >= threshold``.

    ``roc_auc`` is the Mann-Whitney form (tied scores count half, equal to ``sklearn.metrics.roc_auc_score``);
    ``pr_auc`` is average precision (``sklearn.metrics.average_precision_score``: precision at each distinct
    score, weighted by the recall it adds); ``log_loss`` clips probabilities to ``[eps, 1 - eps]`` as
    scikit-learn does; ``brier_score`` is the mean squared difference of score and outcome; ``ece``, the
    expected calibration error, is ``sum_b |positives_b - sum of scores_b| / n`` over ``bins`` equal-width
    score bins (scikit-learn's ``calibration_curve`` binning, scores clipped to [0, 1]).
    Undefined, hence NaN: ``roc_auc`` with a single class, ``pr_auc`` and ``recall`` with no positive label,
    ``precision`` with no positive prediction, ``f1`` with neither, everything when empty.
    """

    def __init__(self, y_true, score, *, threshold: float, positive_label: int | str, bins: int = 10) -> None:
        self._rows, self._options = (y_true, score), {"threshold": threshold, "positive_label": positive_label,
                                                      "bins": bins}
        self.is_positive = matches_label(y_true, positive_label)
        self.score = np.asarray(score, dtype=np.float64)
        self.size = self.score.size
        self.threshold, self.bins = threshold, bins

    def _probability(self, rows: slice = slice(None)) -> np.ndarray:
        return np.clip(np.nan_to_num(self.score[rows], posinf=1.0, neginf=0.0), 0.0, 1.0)

    def _row_losses(self, rows: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """Each row's log loss and squared error (of ``rows`` only, when given)."""
        score, positive = self.score[rows], self.is_positive[rows]
        clipped = np.clip(score, EPS, 1.0 - EPS)
        with np.errstate(invalid="ignore", over="ignore"):
            loss = -np.where(positive, np.log(clipped), np.log1p(-clipped))
            squared = (score - positive) ** 2
        return loss, squared

    def _score_bins(self, probability: np.ndarray) -> np.ndarray:
        """Each row's calibration bin (scikit-learn's ``calibration_curve`` edges), as small integers."""
        edges = np.linspace(0.0, 1.0, self.bins + 1)
        return np.searchsorted(edges[1:-1], probability).astype(np.min_scalar_type(self.bins))

    @functools.cached_property
    def _weighted(self) -> SimpleNamespace:
        """What any weighting needs: per-row cells for ``W @ cells`` and the orders that group rows by score
        and by calibration bin. Built only for weightings other than the point (the bootstrap's resamples)."""
        positive = self.is_positive.astype(np.float64)
        predicted = self.score >= self.threshold
        loss, squared = self._row_losses()
        # columns of W @ cells: TP, FP, TN, FN, positives, then the per-row log loss and squared error
        cells = np.column_stack([
            self.is_positive & predicted, ~self.is_positive & predicted, ~self.is_positive & ~predicted,
            self.is_positive & ~predicted, positive, loss, squared]).astype(np.float64)
        # Rows of equal score are summed as a group, and with whole-number weights (bootstrap counts) the sums
        # are exact in any order: numpy's unstable sort (vectorised) is 3x faster than a stable one.
        order = np.argsort(self.score)
        ordered = self.score[order]
        group_starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if self.size else ordered
        probability = self._probability()
        # rows grouped by score bin, so a bin's calibration gap is one segment sum (no rows x bins matrix)
        bin_of_row = self._score_bins(probability)
        bin_order = np.argsort(bin_of_row, kind="stable")  # small integers: a radix sort
        ordered_bins = bin_of_row[bin_order]
        bin_starts = np.flatnonzero(np.r_[True, ordered_bins[1:] != ordered_bins[:-1]]) if self.size else ordered_bins
        return SimpleNamespace(cells=cells, order=order, group_starts=group_starts, bin_order=bin_order,
                               bin_starts=bin_starts, ordered_gap=(positive - probability)[bin_order])

    @functools.cached_property
    def point(self) -> dict[str, np.ndarray]:
        """The measures of the rows as they are, by counting instead of weighting: the ranking comes from each
        class's scores sorted on their own (no argsort, no rows x cells matrix), the losses and calibration gaps
        from sums over blocks of rows (``POINT_BLOCK_ROWS``). Equal to ``measures(unit_weights(size))`` up to the
        order of float additions."""
        if not self.size:
            return self.measures(unit_weights(0))
        positive = self.is_positive
        predicted = self.score >= self.threshold
        positives = int(np.count_nonzero(positive))
        negatives = self.size - positives
        tp = np.count_nonzero(positive & predicted)
        fp = np.count_nonzero(predicted) - tp
        tn, fn = negatives - fp, positives - tp
        loss = squared = 0.0
        gaps = np.zeros(self.bins)
        for start in range(0, self.size, POINT_BLOCK_ROWS):
            rows = slice(start, start + POINT_BLOCK_ROWS)
            block_loss, block_squared = self._row_losses(rows)
            loss, squared = loss + block_loss.sum(), squared + block_squared.sum()
            probability = self._probability(rows)
            gaps += np.bincount(self._score_bins(probability), weights=positive[rows] - probability,
                                minlength=self.bins)
        roc_auc, pr_auc = _ranking_by_class(np.sort(self.score[positive]), np.sort(self.score[~positive]))
        one = functools.partial(np.full, 1, dtype=np.float64)
        return self._figures(*(one(count) for count in (tp, fp, tn, fn, self.size)), one(roc_auc), one(pr_auc),
                             one(loss), one(squared), one(np.abs(gaps).sum()))

    def measures(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        weights = np.atleast_2d(weights)
        if not self.size:
            empty = np.full(weights.shape[0], NAN)
            return {name: empty for name in ("roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1",
                                             "log_loss", "brier_score", "ece", *CONFUSION_COUNTS)}
        weighted = self._weighted
        tp, fp, tn, fn, positives, loss, squared = (weights @ weighted.cells).T
        total = weights.sum(axis=1)
        roc_auc, pr_auc = self._ranking(weights, positives, total - positives)
        with np.errstate(invalid="ignore"):  # an infinite score times a zero weight
            gaps = np.add.reduceat(weights[:, weighted.bin_order] * weighted.ordered_gap, weighted.bin_starts, axis=1)
            ece = np.abs(gaps).sum(axis=1)
        return self._figures(tp, fp, tn, fn, total, roc_auc, pr_auc, loss, squared, ece)

    @staticmethod
    def _figures(tp, fp, tn, fn, total, roc_auc, pr_auc, loss, squared, ece) -> dict[str, np.ndarray]:
        """The measures from a weighting's sums (one value per weighting in each array)."""
        return {
            "roc_auc": roc_auc,
            "pr_auc": pr_auc,
            "accuracy": _divide(tp + tn, total),
            "precision": _divide(tp, tp + fp),
            "recall": _divide(tp, tp + fn),
            "f1": _divide(2 * tp, 2 * tp + fp + fn),
            "log_loss": _divide(loss, total),
            "brier_score": _divide(squared, total),
            "ece": _divide(ece, total),
            "true_positives": tp, "false_positives": fp, "true_negatives": tn, "false_negatives": fn,
        }

    def _ranking(self, weights: np.ndarray, positives: np.ndarray,
                 negatives: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ROC AUC and average precision from the weight of each class at each distinct score."""
        order, starts = self._weighted.order, self._weighted.group_starts
        ordered = weights[:, order]
        positive_weight = ordered * self.is_positive[order]
        if starts.size == self.size:  # every score distinct: each row is its own group
            group_positive, group_negative = positive_weight, ordered - positive_weight
        else:
            group_positive = np.add.reduceat(positive_weight, starts, axis=1)
            group_negative = np.add.reduceat(ordered, starts, axis=1) - group_positive
        negatives_below = np.cumsum(group_negative, axis=1) - group_negative
        pairs = (group_positive * (negatives_below + 0.5 * group_negative)).sum(axis=1)
        roc_auc = np.where((positives > 0) & (negatives > 0), _divide(pairs, positives * negatives), NAN)
        # average precision walks the scores from the highest down
        found = np.cumsum(group_positive[:, ::-1], axis=1)
        flagged = found + np.cumsum(group_negative[:, ::-1], axis=1)
        gained = group_positive[:, ::-1]
        precision_gain = np.where(gained > 0, gained * _divide(found, flagged), 0.0)
        return roc_auc, _divide(precision_gain.sum(axis=1), positives)


def _ranking_by_class(positive_scores: np.ndarray, negative_scores: np.ndarray) -> tuple[float, float]:
    """ROC AUC and average precision from each class's sorted scores: for every distinct positive score, the
    negatives below and equal to it (Mann-Whitney pairs) and the rows at or above it (precision there)."""
    positives, negatives = positive_scores.size, negative_scores.size
    if not positives:
        return NAN, NAN
    first = np.flatnonzero(np.r_[True, positive_scores[1:] != positive_scores[:-1]])
    values, counts = positive_scores[first], np.diff(np.r_[first, positives])
    below = np.searchsorted(negative_scores, values, side="left")
    equal = np.searchsorted(negative_scores, values, side="right") - below
    roc_auc = float((counts * (below + 0.5 * equal)).sum()) / (positives * negatives) if negatives else NAN
    found = positives - first  # positives scored at or above each value
    average_precision = float((counts * (found / (found + negatives - below))).sum()) / positives
    return roc_auc, average_precision


class MulticlassSample(RowSample):
    """Labels and predicted classes of a multiclass model, with class probabilities when known.

    Classes are every value seen in the labels or predictions, compared as text with integral numbers
    written without decimals (label ``1.0`` matches prediction ``1``). Precision, recall and ``f1`` are
    macro averages over the classes present, a class's undefined precision or recall counting as 0
    (scikit-learn's ``average="macro", zero_division=0``); ``f1_weighted`` weights each class's F1 by its
    labelled rows. ``log_loss`` needs ``probabilities`` (rows x ``probability_classes``); it is NaN when they
    are not given or a label has no probability column. Probabilities are clipped to ``[eps, 1 - eps]``
    and not renormalised, as in scikit-learn.
    """

    def __init__(self, y_true, y_pred, probabilities: np.ndarray | None = None,
                 probability_classes: tuple[str, ...] = ()) -> None:
        self._rows, self._options = (y_true, y_pred, probabilities), {"probability_classes": probability_classes}
        true_labels, predicted_labels = class_labels(y_true), class_labels(y_pred)
        self.size = true_labels.size
        self.classes, codes = np.unique(np.concatenate((true_labels, predicted_labels)), return_inverse=True)
        self._cells = codes[:self.size] * self.classes.size + codes[self.size:]
        self._loss = None
        if probabilities is not None and self.size:
            column = {name: index for index, name in enumerate(probability_classes)}
            positions = np.array([column.get(label, -1) for label in true_labels])
            if (positions >= 0).all():
                chosen = np.asarray(probabilities, dtype=np.float64)[np.arange(self.size), positions]
                self._loss = -np.log(np.clip(chosen, EPS, 1.0 - EPS))

    def confusion(self, weights: np.ndarray) -> np.ndarray:
        """``(R, classes, classes)``: weight of rows labelled i (axis 1) and predicted j (axis 2)."""
        weights = np.atleast_2d(weights)
        count, cells = self.classes.size, self.classes.size ** 2
        offsets = (np.arange(weights.shape[0]) * cells)[:, None]
        flat = np.bincount((self._cells[None, :] + offsets).ravel(), weights=weights.ravel(),
                           minlength=weights.shape[0] * cells)
        return flat.reshape(weights.shape[0], count, count)

    def measures(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        weights = np.atleast_2d(weights)
        if not self.size:
            empty = np.full(weights.shape[0], NAN)
            return {name: empty for name in ("accuracy", "precision", "recall", "f1", "f1_weighted", "log_loss")}
        confusion = self.confusion(weights)
        hits = np.diagonal(confusion, axis1=1, axis2=2)
        labelled, predicted = confusion.sum(axis=2), confusion.sum(axis=1)
        present = (labelled + predicted) > 0
        classes_present = present.sum(axis=1)
        precision = np.nan_to_num(_divide(hits, predicted))
        recall = np.nan_to_num(_divide(hits, labelled))
        f1 = np.nan_to_num(_divide(2 * hits, labelled + predicted))
        total = labelled.sum(axis=1)
        loss = _divide(weights @ self._loss, total) if self._loss is not None else np.full(total.shape, NAN)
        return {
            "accuracy": _divide(hits.sum(axis=1), total),
            "precision": _divide(precision.sum(axis=1), classes_present),
            "recall": _divide(recall.sum(axis=1), classes_present),
            "f1": _divide(f1.sum(axis=1), classes_present),
            "f1_weighted": _divide((f1 * labelled).sum(axis=1), total),
            "log_loss": loss,
        }


class RegressionSample(RowSample):
    """Labels and predictions of a regression model; ``residual = label - prediction``.

    ``mae``, ``rmse``, ``mape`` (``|residual| / max(|label|, eps)``, as scikit-learn) and
    ``r2 = 1 - sum residual^2 / sum (label - mean label)^2``; ``mean_error`` is the mean residual (the bias:
    positive when the model predicts too low). ``r2`` is NaN when the labels are constant (scikit-learn's
    ``force_finite=False`` gives NaN or -inf there; its default silently substitutes 1.0 or 0.0); constancy is
    tested on the labels themselves, since the mean of [0.1, 0.1, 0.1] is not exactly 0.1 and the tiny
    positive spread would turn r2 into about -5e31.
    """

    def __init__(self, y_true, y_pred) -> None:
        self._rows, self._options = (y_true, y_pred), {}
        self.y_true = np.asarray(y_true, dtype=np.float64)
        self.residuals = self.y_true - np.asarray(y_pred, dtype=np.float64)
        self.size = self.residuals.size
        with np.errstate(over="ignore", invalid="ignore"):
            self._cells = np.column_stack([np.abs(self.residuals), self.residuals ** 2,
                                           np.abs(self.residuals) / np.maximum(np.abs(self.y_true), EPS),
                                           self.residuals, self.y_true])

    def measures(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        weights = np.atleast_2d(weights)
        if not self.size:
            return {name: np.full(weights.shape[0], NAN) for name in ("mae", "rmse", "mape", "r2", "mean_error")}
        total = weights.sum(axis=1)
        with np.errstate(over="ignore", invalid="ignore"):  # inf - inf and squares past 1.8e308 are float64's
            absolute, squared, relative, residual, label_sum = (weights @ self._cells).T
            mean_label = _divide(label_sum, total)
            spread = (weights * (self.y_true[None, :] - mean_label[:, None]) ** 2).sum(axis=1)
            drawn = weights > 0
            varies = (np.where(drawn, self.y_true, -np.inf).max(axis=1)
                      > np.where(drawn, self.y_true, np.inf).min(axis=1))
            r2 = np.where(varies & (spread > 0), 1.0 - _divide(squared, np.where(spread > 0, spread, 1.0)), NAN)
            return {
                "mae": _divide(absolute, total),
                "rmse": np.sqrt(_divide(squared, total)),
                "mape": _divide(relative, total),
                "r2": r2,
                "mean_error": _divide(residual, total),
            }

    def residual_quantiles(self) -> dict[str, float]:
        """Quantiles of the residuals (numpy's default linear interpolation); NaN when empty."""
        if not self.size:
            return dict.fromkeys(RESIDUAL_QUANTILES, NAN)
        with np.errstate(invalid="ignore"):
            values = np.quantile(self.residuals, list(RESIDUAL_QUANTILES.values()))
        return {name: float(value) for name, value in zip(RESIDUAL_QUANTILES, values)}


def _point(measures: dict[str, np.ndarray]) -> dict[str, float]:
    return {name: float(values[0]) for name, values in measures.items()}


def classification_metrics(y_true, score, *, threshold: float, positive_label: int | str,
                           bins: int = 10) -> dict[str, float]:
    """Binary classifier quality and confusion counts from labels and positive-class probabilities."""
    sample = BinarySample(y_true, score, threshold=threshold, positive_label=positive_label, bins=bins)
    return _point(sample.point)


def multiclass_metrics(y_true, y_pred, probabilities: np.ndarray | None = None,
                       probability_classes: tuple[str, ...] = ()) -> dict[str, float]:
    """Multiclass quality of aligned labels and predicted classes (see ``MulticlassSample``)."""
    sample = MulticlassSample(y_true, y_pred, probabilities, probability_classes)
    return _point(sample.point)


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """Regression quality and residual quantiles of aligned labels and predictions."""
    sample = RegressionSample(y_true, y_pred)
    return {**_point(sample.point), **sample.residual_quantiles()}


def matches_label(labels, positive_label: int | str) -> np.ndarray:
    """Which labels are the positive class; numbers compare as numbers (so 1, 1.0 and "1" agree)."""
    series = pd.Series(labels)
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        try:
            wanted = float(positive_label)
        except ValueError:
            raise ValueError(f"positive_label '{positive_label}' is not a number, but the labels are numeric") from None
        return series.to_numpy(dtype=np.float64, na_value=np.nan) == wanted
    wanted = class_labels(pd.Series([positive_label]))[0]
    # pandas compares the objects one by one; numpy's == would make ``wanted`` a NUL-stripping str array.
    return pd.Series(class_labels(series), dtype=object).eq(wanted).to_numpy(dtype=bool)


def class_labels(values) -> np.ndarray:
    """Labels as text; integral numbers without a decimal part, booleans as 0/1.

    Text stays in an object array: numpy's fixed-width ``str`` dtype drops trailing NUL characters,
    which would silently merge the labels ``"a\\x00"`` and ``"a"``.
    """
    series = pd.Series(values)
    if pd.api.types.is_bool_dtype(series):
        series = series.astype(np.int64)
    if pd.api.types.is_numeric_dtype(series):
        numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.all(np.isfinite(numbers) & (numbers == np.round(numbers))):
            return numbers.astype(np.int64).astype(str)
        return numbers.astype(str)
    return series.astype(str).to_numpy(dtype=object, na_value="nan")
