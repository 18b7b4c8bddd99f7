"""Garbage collection for a long-running server process.

Python's defaults (a young collection every 700 net allocations, full ones that walk every
object) suit scripts. A worker holds ~400k long-lived objects once its libraries, models and
metadata are loaded, and each message allocates thousands of short-lived ones; on
bench/chat.py collection took 1.3 ms of CPU per message with the defaults, 0.6 ms with the
start-up objects frozen, and 0.05 ms with the young threshold raised as well.
"""

from __future__ import annotations

import gc
import time
from typing import Any

import structlog

log = structlog.get_logger("porch.gc")


def settle(young_threshold: int) -> None:
    """Freeze what start-up loaded and collect less often; 0 leaves the defaults."""
    if young_threshold <= 0:
        return
    gc.collect()
    # Frozen objects are never scanned again: start-up's hundreds of thousands of modules,
    # functions and tables stop costing every full collection.
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)


class PauseLog:
    """A `gc.callbacks` hook logging the collections longer than a threshold.

    Collections are stop-the-world: every request and token of the worker waits for them, so
    long ones show up as latency that no code path explains (docs/performance.md, Stalls).
    """

    def __init__(self, threshold_ms: float) -> None:
        self.threshold_ms = threshold_ms
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        ms = (time.perf_counter() - self._began) * 1000
        if ms >= self.threshold_ms:
            log.warning(
                "gc_pause",
                generation=info["generation"],
                ms=round(ms, 1),
                collected=info["collected"],
            )


def log_pauses(threshold_ms: float) -> None:
    """Log collections longer than `threshold_ms` (0: off); one hook per process."""
    for hook in [c for c in gc.callbacks if isinstance(c, PauseLog)]:
        gc.callbacks.remove(hook)
    if threshold_ms > 0:
        gc.callbacks.append(PauseLog(threshold_ms))
