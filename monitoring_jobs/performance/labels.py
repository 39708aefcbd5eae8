"""Attach delayed ground truth to one day of predictions."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from monitoring_jobs.config import MonitorConfig, Task
from monitoring_jobs.storage import shared_text_codes

LABELED_AT = "labeled_at"
"""Optional column of the label files; when a request is labelled twice, the latest ``labeled_at`` wins."""


class LabelJoinError(ValueError):
    """Labels cannot be joined to the predictions (a needed column is missing or clashes)."""


@dataclass(frozen=True)
class LabelJoin:
    """The inference rows with the label column added (NaN where no label has arrived yet).

    ``predicted_rows`` are rows with a usable model output (non-null score for a binary
    classifier, non-null prediction otherwise): error rows have none and cannot be evaluated.
    ``labeled_rows`` are the predicted rows that also have a label, the rows every performance
    metric is computed on, and ``coverage = labeled_rows / predicted_rows`` (NaN without predictions).
    """

    frame: pd.DataFrame
    label_column: str
    output_column: str
    predicted_rows: int
    labeled_rows: int
    coverage: float
    duplicate_labels: int
    """Label rows superseded by a later label of the same request."""
    null_labels: int
    """Label rows without a request id or a label value, ignored."""
    matched_labels: np.ndarray = field(compare=False, repr=False)
    """Per row of the labels joined, whether its request id is one of the inference rows' (null label or not):
    what matching late labels to the day reads, known here without hashing the ids again."""

    def onto(self, inference: pd.DataFrame) -> LabelJoin:
        """This join's labels on ``inference``: the same rows in the same order (more columns of the same day),
        so a join made once on the request ids and outputs serves every stage that needs other columns."""
        if len(inference) != len(self.frame):
            raise ValueError(f"the join holds {len(self.frame)} rows, the inference data {len(inference)}")
        if self.label_column in inference.columns:
            raise LabelJoinError(f"the inference data already has a column '{self.label_column}', "
                                 "the name of the label column")
        return replace(self, frame=inference.assign(**{self.label_column: self.frame[self.label_column].to_numpy()}))


def output_column(monitor: MonitorConfig) -> str:
    """The model output that is judged: the score of a binary classifier, the prediction otherwise."""
    column = monitor.columns.score if monitor.task is Task.BINARY_CLASSIFICATION else monitor.columns.prediction
    assert column is not None, "MonitorConfig guarantees the output column of every task"
    return column


def label_coverage(output: pd.Series, label: pd.Series) -> tuple[int, int, float]:
    """``(predicted rows, labeled rows, labeled / predicted)``; a row counts once it has a non-null output."""
    usable = output.notna()
    predicted = int(usable.sum())
    labeled = int((usable & label.notna()).sum())
    return predicted, labeled, labeled / predicted if predicted else float("nan")


def join_labels(inference: pd.DataFrame, labels: pd.DataFrame | None, monitor: MonitorConfig) -> LabelJoin:
    """Left-join the labels on request id (compared as text, so 123 and "123" match).

    Labels without a request id or value are dropped (and counted) before duplicates are resolved,
    so a later empty label cannot erase an earlier real one. Among duplicates the latest
    ``labeled_at`` wins (undated ones lose to dated ones); without that column the last row wins.
    Raises :class:`LabelJoinError` when a needed column is missing.
    """
    request_id, label, output = monitor.columns.request_id, monitor.columns.label, output_column(monitor)
    for column, role in ((request_id, "request id"), (output, "model output")):
        if column not in inference.columns:
            raise LabelJoinError(f"{role} column '{column}' is not in the inference data")
    if label in inference.columns:
        raise LabelJoinError(f"the inference data already has a column '{label}', the name of the label column")
    if labels is None:
        labels = pd.DataFrame({request_id: pd.Series([], dtype="string"), label: pd.Series([], dtype="float64")})
    for column, role in ((request_id, "request id"), (label, "label")):
        if column not in labels.columns:
            raise LabelJoinError(f"{role} column '{column}' is not in the label data")

    # the label rows used, in the order duplicates are resolved in (the last one of an id wins)
    used = np.flatnonzero((labels[request_id].notna() & labels[label].notna()).to_numpy())
    if LABELED_AT in labels.columns:
        labeled_at = labels[LABELED_AT].iloc[used].reset_index(drop=True)
        used = used[labeled_at.sort_values(kind="stable", na_position="first").index.to_numpy()]
    # one code per distinct id across both sides (every label row's): duplicates are resolved and rows matched
    # among integers
    all_label_codes, row_codes = shared_text_codes(labels[request_id].astype("string"),
                                                   inference[request_id].astype("string"))
    label_codes = all_label_codes[used]
    size = max(all_label_codes.max(initial=0), row_codes.max(initial=0)) + 1
    latest_label = np.full(size, -1, dtype=np.int64)
    np.maximum.at(latest_label, label_codes, np.arange(label_codes.size))  # the last label row of each id
    positions = np.where(row_codes >= 0, latest_label[row_codes], -1)
    # position -1 is absent: NaN
    joined_labels = pd.Series(labels[label].to_numpy()[used]).reindex(positions).to_numpy()
    requested = np.zeros(size, dtype=bool)
    requested[row_codes[row_codes >= 0]] = True
    frame = inference.assign(**{label: joined_labels})
    predicted_rows, labeled_rows, coverage = label_coverage(frame[output], frame[label])
    return LabelJoin(
        frame=frame,
        label_column=label,
        output_column=output,
        predicted_rows=predicted_rows,
        labeled_rows=labeled_rows,
        coverage=coverage,
        duplicate_labels=int(used.size - np.count_nonzero(latest_label >= 0)),
        null_labels=int(len(labels) - used.size),
        matched_labels=(all_label_codes >= 0) & requested[np.maximum(all_label_codes, 0)],
    )
