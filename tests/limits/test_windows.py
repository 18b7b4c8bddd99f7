"""The limit windows themselves: exact moving windows, daily fixed windows, Redis and fallback."""

from __future__ import annotations

import pytest

from porch.errors import RateLimited
from porch.limits.local import LocalWindows
from porch.limits.rules import Rule
from porch.limits.service import RateLimits
from tests.conftest import REDIS_URL


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_moving_window_is_exact() -> None:
    clock = Clock()
    windows = LocalWindows(clock)
    rule = Rule("visitor.minute", 3, "minute")
    for _ in range(3):
        assert windows.hit(rule, "v").allowed
        clock.now += 10
    refused = windows.hit(rule, "v")
    assert not refused.allowed and refused.reset_at == pytest.approx(1_000_060.0)
    clock.now = 1_000_060.001  # the first hit has left the window, and only it
    assert windows.hit(rule, "v").allowed
    assert not windows.hit(rule, "v").allowed
    assert windows.hit(rule, "other").allowed  # keys are independent


def test_daily_window_resets_at_the_day_boundary() -> None:
    clock = Clock()
    clock.now = 86400 * 20 + 86000.0  # 400 s before midnight UTC
    windows = LocalWindows(clock)
    rule = Rule("widget.day", 2, "day")
    assert windows.hit(rule, "w").remaining == 1
    assert windows.hit(rule, "w").allowed and not windows.hit(rule, "w").allowed
    clock.now += 400
    assert windows.hit(rule, "w").allowed


def test_sweep_forgets_idle_visitors() -> None:
    clock = Clock()
    windows = LocalWindows(clock)
    for i in range(1000):
        windows.hit(Rule("visitor.minute", 5, "minute"), f"v{i}")
    clock.now += 3601
    windows.hit(Rule("visitor.minute", 5, "minute"), "fresh")
    assert len(windows._moving) == 1


@pytest.mark.redis
async def test_redis_limits_are_shared_between_processes() -> None:
    first, second = RateLimits(REDIS_URL), RateLimits(REDIS_URL)
    await first.reset()
    rule = Rule("visitor.minute", 3, "minute")
    await first.check([(rule, "shared")])
    await second.check([(rule, "shared")])
    await first.check([(rule, "shared")])
    with pytest.raises(RateLimited) as refused:
        await second.check([(rule, "shared")])
    assert refused.value.headers["RateLimit-Remaining"] == "0"
    assert 1 <= refused.value.retry_after <= 60
    assert not second.degraded


async def test_redis_away_falls_back_to_this_process() -> None:
    limits = RateLimits("redis://127.0.0.1:1/0")  # nothing listens there
    rule = Rule("visitor.minute", 2, "minute")
    await limits.check([(rule, "v")])
    await limits.check([(rule, "v")])
    assert limits.degraded
    with pytest.raises(RateLimited):
        await limits.check([(rule, "v")])
