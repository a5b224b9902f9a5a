"""Timing helper shared by the benchmark scripts."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(f: Callable[[], object], repeats: int = 3, *, warm_up: bool = True) -> float:
    """Fastest of ``repeats`` timed calls of ``f`` in seconds (after one untimed call that compiles kernels and
    fills caches, unless ``warm_up=False``): the minimum is the least disturbed by other work on the machine."""
    if warm_up:
        f()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)
