"""Model quality measures on aligned arrays of labels and predictions, computed directly with numpy.

They equal scikit-learn's where scikit-learn is defined and return NaN (never raise, never warn)
where the measure is undefined, so the caller can report *why* instead of a misleading 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

NAN = float("nan")


def classification_metrics(y_true, score, *, threshold: float, positive_label: int | str) -> dict[str, float]:
    """Binary classifier quality from labels and positive-class probabilities.

    A row is predicted positive when ``score >= threshold``. ``roc_auc`` is the Mann-Whitney form
    ``(sum of positive ranks - P(P+1)/2) / (P N)`` with tied scores given their average rank
    (equal to ``sklearn.metrics.roc_auc_score``); ``log_loss`` clips probabilities to
    ``[eps, 1 - eps]`` with ``eps`` the float64 machine epsilon, as scikit-learn does.
    Undefined, hence NaN: ``roc_auc`` with a single class, ``precision`` with no positive
    prediction, ``recall`` with no positive label, ``f1`` with neither, everything when empty.
    """
    is_positive = _matches(y_true, positive_label)
    score = np.asarray(score, dtype=np.float64)
    predicted_positive = score >= threshold
    size = is_positive.size
    true_positive = int(np.count_nonzero(is_positive & predicted_positive))
    false_positive = int(np.count_nonzero(~is_positive & predicted_positive))
    false_negative = int(np.count_nonzero(is_positive & ~predicted_positive))
    eps = np.finfo(np.float64).eps
    clipped = np.clip(score, eps, 1.0 - eps)
    return {
        "roc_auc": _roc_auc(is_positive, score),
        "accuracy": _ratio(size - false_positive - false_negative, size),
        "precision": _ratio(true_positive, true_positive + false_positive),
        "recall": _ratio(true_positive, true_positive + false_negative),
        "f1": _ratio(2 * true_positive, 2 * true_positive + false_positive + false_negative),
        "log_loss": float(-np.mean(np.where(is_positive, np.log(clipped), np.log1p(-clipped)))) if size else NAN,
    }


def multiclass_metrics(y_true, y_pred) -> dict[str, float]:
    """Accuracy and macro-averaged precision, recall and F1 over every class seen in labels or predictions.

    A class's precision (never predicted) or recall (never labelled) counts as 0 in the average,
    which is scikit-learn's ``average="macro", zero_division=0``. Labels and predictions are compared
    as text, integral numbers written without decimals, so label ``1.0`` (an int column that went
    through NaN) matches prediction ``1``.
    """
    true_labels = _class_labels(y_true)
    predicted_labels = _class_labels(y_pred)
    if not true_labels.size:
        return {"accuracy": NAN, "precision": NAN, "recall": NAN, "f1": NAN}
    classes, codes = np.unique(np.concatenate((true_labels, predicted_labels)), return_inverse=True)
    true_codes, predicted_codes = codes[:true_labels.size], codes[true_labels.size:]
    count = classes.size
    confusion = np.bincount(true_codes * count + predicted_codes, minlength=count * count).reshape(count, count)
    hits = np.diag(confusion).astype(np.float64)
    labelled = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, hits / predicted, 0.0)
        recall = np.where(labelled > 0, hits / labelled, 0.0)
        f1 = 2 * hits / (labelled + predicted)
    return {
        "accuracy": float(hits.sum() / true_labels.size),
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
    }


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """``mae = mean|e|``, ``rmse = sqrt(mean e^2)``, ``r2 = 1 - sum e^2 / sum (y - mean y)^2`` with ``e = y - y_hat``.

    ``r2`` is NaN when the labels are constant (scikit-learn's ``force_finite=False`` gives NaN
    or -inf there; its default silently substitutes 1.0 or 0.0). Constancy is tested on the labels
    themselves: the mean of [0.1, 0.1, 0.1] is not exactly 0.1, so ``sum (y - mean y)^2`` is a tiny
    positive number that would turn r2 into about -5e31.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    errors = y_true - np.asarray(y_pred, dtype=np.float64)
    if not errors.size:
        return {"mae": NAN, "rmse": NAN, "r2": NAN}
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    squared = float(np.sum(errors ** 2))
    return {
        "mae": float(np.mean(np.abs(errors))),
        "rmse": float(np.sqrt(squared / errors.size)),
        "r2": 1.0 - squared / total if total > 0 and y_true.min() < y_true.max() else NAN,
    }


def _roc_auc(is_positive: np.ndarray, score: np.ndarray) -> float:
    positives = int(np.count_nonzero(is_positive))
    negatives = is_positive.size - positives
    if not positives or not negatives:
        return NAN
    positive_rank_sum = float(rankdata(score)[is_positive].sum())
    return (positive_rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else NAN


def _matches(labels, positive_label: int | str) -> np.ndarray:
    """Which labels are the positive class; numbers compare as numbers (so 1, 1.0 and "1" agree)."""
    series = pd.Series(labels)
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        try:
            wanted = float(positive_label)
        except ValueError:
            raise ValueError(f"positive_label '{positive_label}' is not a number, but the labels are numeric") from None
        return series.to_numpy(dtype=np.float64, na_value=np.nan) == wanted
    wanted = _class_labels(pd.Series([positive_label]))[0]
    # pandas compares the objects one by one; numpy's == would make ``wanted`` a NUL-stripping str array.
    return pd.Series(_class_labels(series), dtype=object).eq(wanted).to_numpy(dtype=bool)


def _class_labels(values) -> np.ndarray:
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
