"""Rate limits: in-process windows embedded; the `limits` library on Redis at scale, exact
across processes, falling back to per-process windows while Redis is away."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import structlog
from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from limits.storage import storage_from_string

from porch.errors import RateLimited
from porch.limits.local import LocalWindows
from porch.limits.rules import Rule, Verdict

log = structlog.get_logger("porch.limits")

_ITEMS: dict[str, Callable[[int], RateLimitItem]] = {
    "minute": RateLimitItemPerMinute,
    "quarter_hour": lambda amount: RateLimitItemPerMinute(amount, 15),
    "hour": RateLimitItemPerHour,
    "day": RateLimitItemPerDay,
}


class RedisWindows:
    """The same windows as LocalWindows, kept in Redis by `limits` (atomic Lua scripts)."""

    def __init__(self, redis_url: str) -> None:
        # redis-py is already a dependency; limits would otherwise want coredis.
        self.storage = cast(
            Storage,
            storage_from_string(
                f"async+{redis_url}",
                implementation="redispy",
                socket_timeout=2,
                socket_connect_timeout=2,
            ),
        )
        self._moving = MovingWindowRateLimiter(self.storage)
        self._fixed = FixedWindowRateLimiter(self.storage)

    async def hit(self, rule: Rule, key: str, *, need_stats: bool) -> Verdict:
        limiter = self._fixed if rule.period == "day" else self._moving
        item = _ITEMS[rule.period](rule.amount)
        ok = await limiter.hit(item, rule.name, key)
        if ok and not need_stats:
            return Verdict(rule, True, -1, 0.0)
        stats = await limiter.get_window_stats(item, rule.name, key)
        return Verdict(rule, ok, stats.remaining, stats.reset_time)

    async def peek(self, rule: Rule, key: str) -> Verdict:
        item = _ITEMS[rule.period](rule.amount)
        if await self._moving.test(item, rule.name, key):
            return Verdict(rule, True, -1, 0.0)
        stats = await self._moving.get_window_stats(item, rule.name, key)
        return Verdict(rule, False, 0, stats.reset_time)


class RateLimits:
    """Counts a message against every rule that applies; the first exhausted one refuses."""

    def __init__(self, redis_url: str | None) -> None:
        self.local = LocalWindows()
        self.redis = RedisWindows(redis_url) if redis_url else None
        self.degraded = False

    async def check(self, checks: list[tuple[Rule, str]]) -> list[Verdict]:
        """Raises RateLimited (429 with Retry-After and RateLimit headers) when refused.

        Each rule is one atomic increment, which keeps counts exact across processes; a
        refused request still counts against the narrower rules checked before it.
        """
        verdicts = await self._shared(checks) if self.redis is not None else None
        if verdicts is None:
            verdicts = [self.local.hit(rule, key) for rule, key in checks]
        for verdict in verdicts:
            if not verdict.allowed:
                raise RateLimited(
                    _message(verdict.rule),
                    retry_after=verdict.retry_after,
                    headers=verdict.headers(),
                )
        return verdicts

    async def _shared(self, checks: list[tuple[Rule, str]]) -> list[Verdict] | None:
        assert self.redis is not None
        verdicts: list[Verdict] = []
        try:
            for rule, key in checks:
                verdict = await self.redis.hit(rule, key, need_stats=not verdicts)
                verdicts.append(verdict)
                if not verdict.allowed:
                    break
        except Exception:
            # Redis is away: count per process rather than failing open or failing the visitor.
            if not self.degraded:
                log.warning("rate_limits_degraded")
            self.degraded = True
            return None
        self.degraded = False
        return verdicts

    async def peek(self, checks: list[tuple[Rule, str]]) -> None:
        """Raises RateLimited if any rule is already exhausted, counting nothing: for limits
        on failures (sign-in), which are checked before the attempt and counted after it."""
        verdicts: list[Verdict] | None = None
        if self.redis is not None:
            try:
                verdicts = [await self.redis.peek(rule, key) for rule, key in checks]
            except Exception:
                self.degraded = True
        if verdicts is None:
            verdicts = [self.local.peek(rule, key) for rule, key in checks]
        for verdict in verdicts:
            if not verdict.allowed:
                raise RateLimited(
                    _message(verdict.rule),
                    retry_after=verdict.retry_after,
                    headers=verdict.headers(),
                )

    async def reset(self) -> None:
        self.local.clear()
        if self.redis is not None:
            await self.redis.storage.reset()


def _message(rule: Rule) -> str:
    who = rule.name.split(".")[0]
    return f"Too many messages: the {who} limit is {rule.amount} per {rule.period}. Try again soon."
