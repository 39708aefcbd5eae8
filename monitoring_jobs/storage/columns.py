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
import pyarrow as pa
import pyarrow.parquet as pq


class ParquetColumns:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        metadata = pq.read_metadata(self.path)
        schema = metadata.schema.to_arrow_schema()
        self.columns = pd.Index(schema.names)
        self._rows = metadata.num_rows
        self._text = {field.name for field in schema
                      if pa.types.is_string(field.type) or pa.types.is_large_string(field.type)}

    def __len__(self) -> int:
        return self._rows

    def __getitem__(self, name: str) -> pd.Series:
        if name not in self.columns:
            raise KeyError(name)
        table = pq.read_table(self.path, columns=[name], read_dictionary=self._dictionary([name]))
        return table.column(name).to_pandas().rename(name)

    def get(self, name: str) -> pd.Series | None:
        return self[name] if name in self.columns else None

    def frame(self, names: list[str]) -> pd.DataFrame:
        """The named columns (those the file has) as one DataFrame."""
        return pq.read_table(self.path, columns=[name for name in names if name in self.columns]).to_pandas()

    def blocks(self, names: list[str], rows: int) -> Iterator[tuple[int, pd.DataFrame]]:
        """(first row, frame of the named columns) for consecutive blocks of at most ``rows`` rows."""
        start = 0
        parquet = pq.ParquetFile(self.path, read_dictionary=self._dictionary(names))
        for batch in parquet.iter_batches(batch_size=rows, columns=names):
            yield start, batch.to_pandas()
            start += batch.num_rows

    def _dictionary(self, names: list[str]) -> list[str]:
        return [name for name in names if name in self._text]
