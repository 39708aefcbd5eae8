"""The BLAS thread limit the stages share: one thread while any of them computes, the process's own after."""

from __future__ import annotations

import threading

import numpy as np  # loads numpy's OpenBLAS, the library limited
import threadpoolctl
from threadpoolctl import threadpool_info, threadpool_limits

from monitoring_jobs.blas import single_threaded_blas


def blas_threads() -> set[int]:
    """BLAS's thread count as the calling thread reads it."""
    assert (np.ones((3, 3)) @ np.ones(3)).tolist() == [3.0] * 3
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_blas_runs_on_one_thread_until_the_last_of_several_callers_leaves(monkeypatch):
    """Callers in two threads, the first leaving while the second is inside: the limit is set when the first
    enters and lifted when the second leaves, once each (threadpoolctl recorded, so the order is exact)."""
    events = []

    class Limits:
        def __init__(self, limits: int, user_api: str) -> None:
            events.append(("set", limits, user_api))

        def restore_original_limits(self) -> None:
            events.append(("restored",))

    monkeypatch.setattr(threadpoolctl, "threadpool_limits", Limits)
    first_in, second_in, first_may_leave, first_out, second_may_leave = (threading.Event() for _ in range(5))

    def first() -> None:
        with single_threaded_blas():
            first_in.set()
            first_may_leave.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with single_threaded_blas():
            second_in.set()
            second_may_leave.wait(5)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert second_in.wait(5)
    both_inside = list(events)
    first_may_leave.set()
    assert first_out.wait(5)
    second_alone = list(events)
    second_may_leave.set()
    for thread in threads:
        thread.join(5)
    assert both_inside == second_alone == [("set", 1, "blas")]
    assert events == [("set", 1, "blas"), ("restored",)]


def test_blas_is_limited_inside_and_the_limit_is_lifted_when_the_work_inside_raises():
    with threadpool_limits(limits=2, user_api="blas"):
        try:
            with single_threaded_blas():
                assert blas_threads() == {1}
                raise ValueError("a stage failed")
        except ValueError:
            pass
        assert blas_threads() == {2}
