"""A parquet file read one column at a time, for work that goes column by column over a large day.

``ParquetColumns`` answers the part of a pandas DataFrame's interface that such work uses (``columns``,
``len``, ``get``, ``[name]``) by reading the one column asked for, so comparing a 5M-row day with its
reference holds a column or two of each in memory instead of both whole days. ``blocks`` streams rows
for work that needs every column of a row at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq


class ParquetColumns:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        metadata = pq.read_metadata(self.path)
        self.columns = pd.Index(metadata.schema.to_arrow_schema().names)
        self._rows = metadata.num_rows

    def __len__(self) -> int:
        return self._rows

    def __getitem__(self, name: str) -> pd.Series:
        if name not in self.columns:
            raise KeyError(name)
        return pq.read_table(self.path, columns=[name]).column(name).to_pandas().rename(name)

    def get(self, name: str) -> pd.Series | None:
        return self[name] if name in self.columns else None

    def frame(self, names: list[str]) -> pd.DataFrame:
        """The named columns (those the file has) as one DataFrame."""
        return pq.read_table(self.path, columns=[name for name in names if name in self.columns]).to_pandas()

    def blocks(self, names: list[str], rows: int) -> Iterator[tuple[int, pd.DataFrame]]:
        """(first row, frame of the named columns) for consecutive blocks of at most ``rows`` rows."""
        start = 0
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=rows, columns=names):
            yield start, batch.to_pandas()
            start += batch.num_rows
