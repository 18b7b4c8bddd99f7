"""Waiting on a condition instead of sleeping a fixed time and hoping it holds."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]],
    *,
    timeout: float = 10.0,
    interval: float = 0.01,
    message: str = "",
) -> None:
    """Return as soon as `condition()` (sync or async) is true; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met in {timeout} s")
        await asyncio.sleep(interval)
