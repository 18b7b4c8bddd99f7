"""The rate limiter (memory or Redis) the lifespan built, for routes: `LimitsDep`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from porch.deps import built
from porch.limits.service import RateLimits


async def get_limits(conn: HTTPConnection) -> RateLimits:
    limits: RateLimits = built(conn, "limits")
    return limits


LimitsDep = Annotated[RateLimits, Depends(get_limits)]
