"""BLAS on one thread while the stages' numeric work runs.

A day's stages already keep every core busy side by side (the metric stages in threads, drift a column per
thread). OpenBLAS's own threads would only add spinning: after each product they busy-wait for the next one on
a core the stages need (5% of a 5M-row day's CPU samples, 1.2-1.4 s of user time). One thread also makes the
figures independent of the machine: OpenBLAS splits a long dot product's sum between its threads, so its last
digits depended on how many cores it found (matrix products it splits by rows and columns: the same either way).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_inside = 0
_limits = None


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """BLAS on one thread while any caller is inside; callers in several threads share the limit, and the
    process's own setting comes back when the last of them leaves."""
    global _inside, _limits
    with _lock:
        if _inside == 0:
            from threadpoolctl import threadpool_limits  # here: the limit is read and set only when work starts

            _limits = threadpool_limits(limits=1, user_api="blas")
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0:
                _limits.restore_original_limits()
                _limits = None
