"""The scan floor: read one day's parquet into Arrow and make one pass over every column (min, max, count).

No monitoring tool can do less with the day's data, so every other contender's wall time is also given as
a multiple of this one. Runs in the project's venv:

    python scan_floor.py day.parquet out.json
"""

import sys
import time

import pyarrow.compute as pc
import pyarrow.parquet as pq
from contender_io import resident_bytes, write_json


def main(day_path: str, out_path: str) -> None:
    imports_rss = resident_bytes()
    started = time.perf_counter()
    table = pq.read_table(day_path)
    read, read_rss = time.perf_counter(), resident_bytes()
    summary = {}
    for name in table.column_names:
        column = table[name]
        extremes = pc.min_max(column)
        summary[name] = {"count": pc.count(column).as_py(), "min": str(extremes["min"]), "max": str(extremes["max"])}
    write_json(out_path, {"columns": summary, "rows": table.num_rows, "rss": {"imports": imports_rss, "read": read_rss},
                          "seconds": {"read": read - started, "work": time.perf_counter() - read}})


if __name__ == "__main__":
    main(*sys.argv[1:])
