"""Rate limits on the `limits` library: memory storage embedded, Redis when configured."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import cast

import structlog
from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from limits.storage import storage_from_string

from porch.errors import RateLimited

log = structlog.get_logger("porch.limits")

_PERIODS: dict[str, type[RateLimitItem]] = {
    "minute": RateLimitItemPerMinute,
    "hour": RateLimitItemPerHour,
    "day": RateLimitItemPerDay,
}


@dataclass(frozen=True, slots=True)
class Rule:
    """One limit: `amount` per `period`, counted under `name` for a key."""

    name: str
    amount: int
    period: str

    def item(self) -> RateLimitItem:
        return _PERIODS[self.period](self.amount)


@dataclass(frozen=True, slots=True)
class Verdict:
    rule: Rule
    allowed: bool
    remaining: int
    reset_at: float

    def headers(self) -> dict[str, str]:
        reset = max(0, math.ceil(self.reset_at - time.time()))
        return {
            "RateLimit-Limit": str(self.rule.amount),
            "RateLimit-Remaining": str(max(0, self.remaining)),
            "RateLimit-Reset": str(reset),
        }


class RateLimits:
    """Counts a message against every rule that applies to it; the first exhausted one refuses."""

    def __init__(self, redis_url: str | None) -> None:
        self._fallback = MemoryStorage()
        self._storage: Storage = cast(Storage, (
            # redis-py is already a dependency; limits would otherwise want coredis.
            storage_from_string(
                f"async+{redis_url}",
                implementation="redispy",
                socket_timeout=2,
                socket_connect_timeout=2,
            )
            if redis_url
            else self._fallback
        ))
        self._shared = redis_url is not None
        # Moving windows for short periods (no burst at the edge); fixed for days (cheap).
        self._moving = MovingWindowRateLimiter(self._storage)
        self._fixed = FixedWindowRateLimiter(self._storage)
        self._moving_local = MovingWindowRateLimiter(self._fallback)
        self._fixed_local = FixedWindowRateLimiter(self._fallback)
        self.degraded = False

    def _limiter(self, rule: Rule, local: bool) -> MovingWindowRateLimiter | FixedWindowRateLimiter:
        if rule.period == "day":
            return self._fixed_local if local else self._fixed
        return self._moving_local if local else self._moving

    async def check(self, checks: list[tuple[Rule, str]]) -> list[Verdict]:
        """Counts one hit against each (rule, key), raising RateLimited if any is exhausted."""
        try:
            verdicts = await self._apply(checks, local=False)
            self.degraded = False
        except RateLimited:
            raise
        except Exception:
            if not self._shared:
                raise
            # Redis is away: limits fall back to per-process counting rather than failing open.
            if not self.degraded:
                log.warning("rate_limits_degraded")
            self.degraded = True
            verdicts = await self._apply(checks, local=True)
        return verdicts

    async def _apply(self, checks: list[tuple[Rule, str]], local: bool) -> list[Verdict]:
        # `hit` is one atomic increment per rule, which keeps counts exact across processes;
        # a refused request still counts against the narrower rules checked before it.
        verdicts: list[Verdict] = []
        for rule, key in checks:
            limiter = self._limiter(rule, local)
            item = rule.item()
            ok = await limiter.hit(item, rule.name, key)
            if not ok or not verdicts:
                stats = await limiter.get_window_stats(item, rule.name, key)
                verdict = Verdict(rule, ok, stats.remaining, stats.reset_time)
                if not ok:
                    retry = max(1, math.ceil(stats.reset_time - time.time()))
                    raise RateLimited(
                        _message(rule),
                        retry_after=retry,
                        code="rate_limited",
                        headers=verdict.headers(),
                    )
                verdicts.append(verdict)
        return verdicts

    async def ping(self) -> bool:
        try:
            return bool(await self._storage.check())
        except Exception:
            return False

    async def reset(self) -> None:
        await self._storage.reset()
        await self._fallback.reset()


def _message(rule: Rule) -> str:
    who = rule.name.split(".")[0]
    return f"Too many messages: the {who} limit is {rule.amount} per {rule.period}. Try again soon."
