"""Rate-limit windows in this process's memory: the embedded default, and the fallback when
Redis is away.

Written here rather than taken from `limits`' async memory storage, which sweeps every key
through a thread-pool call on each hit (measured: ~1 ms of CPU per chat message with a
few hundred visitors). Short periods are exact moving windows; days are fixed windows,
so a widget's daily counter is one integer, not a list of every message's time.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from porch.limits.rules import PERIOD_SECONDS, Rule, Verdict

SWEEP_SECONDS = 30.0


class LocalWindows:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._moving: dict[tuple[str, str], deque[float]] = {}
        self._fixed: dict[tuple[str, str], tuple[int, int]] = {}  # key -> (window number, count)
        self._next_sweep = clock() + SWEEP_SECONDS

    def hit(self, rule: Rule, key: str) -> Verdict:
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        if rule.period == "day":
            return self._hit_fixed(rule, key, now)
        return self._hit_moving(rule, key, now)

    def peek(self, rule: Rule, key: str) -> Verdict:
        """What a hit would say, without counting one (moving windows only)."""
        now = self._clock()
        times = self._moving.get((rule.name, key), deque())
        while times and times[0] <= now - rule.seconds:
            times.popleft()
        if len(times) >= rule.amount:
            return Verdict(rule, False, 0, times[0] + rule.seconds)
        return Verdict(rule, True, rule.amount - len(times), now + rule.seconds)

    def _hit_moving(self, rule: Rule, key: str, now: float) -> Verdict:
        times = self._moving.setdefault((rule.name, key), deque())
        while times and times[0] <= now - rule.seconds:
            times.popleft()
        if len(times) >= rule.amount:
            return Verdict(rule, False, 0, times[0] + rule.seconds)
        times.append(now)
        return Verdict(rule, True, rule.amount - len(times), times[0] + rule.seconds)

    def _hit_fixed(self, rule: Rule, key: str, now: float) -> Verdict:
        window = int(now // rule.seconds)
        reset_at = (window + 1) * rule.seconds
        seen, count = self._fixed.get((rule.name, key), (window, 0))
        if seen != window:
            count = 0
        if count >= rule.amount:
            return Verdict(rule, False, 0, reset_at)
        self._fixed[(rule.name, key)] = (window, count + 1)
        return Verdict(rule, True, rule.amount - count - 1, reset_at)

    def _sweep(self, now: float) -> None:
        """Forget windows that have emptied, so idle visitors cost nothing."""
        self._next_sweep = now + SWEEP_SECONDS
        for name_key, times in list(self._moving.items()):
            if not times or times[-1] <= now - PERIOD_SECONDS["hour"]:  # the longest moving one
                del self._moving[name_key]
        for name_key, (window, _) in list(self._fixed.items()):
            if window < int(now // 86400):
                del self._fixed[name_key]

    def clear(self) -> None:
        self._moving.clear()
        self._fixed.clear()
