"""The day's frame as the checks see it, and what the schema check found wrong with its columns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class InspectedDay:
    """The frame with unique column names and a plain index, plus its missing and wrongly typed columns."""

    frame: pd.DataFrame
    missing: frozenset[str]  # declared columns that are absent
    not_numeric: dict[str, str]  # column -> dtype, for columns the pipeline needs as numbers
    duplicated: tuple[str, ...]

    @property
    def rows(self) -> int:
        return len(self.frame)

    def usable(self, columns: Iterable[str], *, numeric: bool = False) -> tuple[list[str], dict[str, str]]:
        """Split columns into those a check can judge and those it skips (with the reason).

        Declared columns that are missing or not numeric are reported by ``schema``; the reason says so,
        so one broken column does not fail several checks.
        """
        usable: list[str] = []
        skipped: dict[str, str] = {}
        for column in dict.fromkeys(columns):
            if column in self.missing:
                skipped[column] = "missing (reported by schema)"
            elif column not in self.frame.columns:
                skipped[column] = "missing"
            elif numeric and column in self.not_numeric:
                skipped[column] = f"not numeric, dtype {self.not_numeric[column]} (reported by schema)"
            elif numeric and not is_numeric(self.frame[column].dtype):
                skipped[column] = f"not numeric, dtype {self.frame[column].dtype}"
            else:
                usable.append(column)
        return usable, skipped


def inspect_day(frame: pd.DataFrame, declared: set[str], numeric_columns: Iterable[str]) -> InspectedDay:
    """Find missing, duplicated and wrongly typed columns; keep the first of duplicated columns."""
    duplicated = tuple(dict.fromkeys(str(c) for c in frame.columns[frame.columns.duplicated()]))
    unique = frame.loc[:, ~frame.columns.duplicated()].reset_index(drop=True)
    present = {c for c in unique.columns if isinstance(c, str)}
    not_numeric = {c: str(unique[c].dtype) for c in dict.fromkeys(numeric_columns)
                   if c in present and not is_numeric(unique[c].dtype)}
    return InspectedDay(unique, frozenset(declared - present), not_numeric, duplicated)


def is_numeric(dtype: object) -> bool:
    """Numbers, not booleans. Decided with pandas: GX's type-list expectation rejects nullable Int64."""
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
