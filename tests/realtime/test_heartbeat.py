"""The heartbeat spreads its pings: no event-loop turn carries thousands of sends."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from typing import cast

from porch.realtime.connection import CLOSE_HEARTBEAT, Connection, Heartbeat
from tests.waiting import wait_until


class FakeSocket:
    """What the heartbeat touches on a connection, recording the loop turn of each ping."""

    def __init__(self, turns: list[int], last_seen: float) -> None:
        self.turns = turns
        self.last_seen = last_seen
        self.pinged_in: list[int] = []
        self.pinged_at: list[float] = []
        self.closed: tuple[int, str] | None = None
        self.deadline = math.inf

    def push(self, text: str) -> None:
        assert text == '{"type":"ping"}'
        self.pinged_in.append(self.turns[0])
        self.pinged_at.append(time.monotonic())

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def count_turns() -> list[int]:
    """A counter the event loop bumps once per turn (a callback that reschedules itself)."""
    turns = [0]
    loop = asyncio.get_running_loop()

    def bump() -> None:
        turns[0] += 1
        if turns[0] < 1_000_000:
            loop.call_soon(bump)

    loop.call_soon(bump)
    return turns


async def test_each_socket_is_pinged_once_per_interval_spread_over_the_interval() -> None:
    turns = count_turns()
    beat = Heartbeat(interval=1.0, missed=2)
    sockets = [FakeSocket(turns, time.monotonic()) for _ in range(400)]
    for s in sockets:
        beat.add(cast(Connection, s))
    start = time.monotonic()
    beat.start()
    async with asyncio.timeout(5):
        while not all(s.pinged_in for s in sockets):
            await asyncio.sleep(0.005)
    await beat.aclose()
    # Every socket once before any socket twice: the first group's next ping is a step away.
    assert all(len(s.pinged_in) == 1 for s in sockets)
    # Pings went out group by group through the interval, not in one burst.
    moments = sorted(s.pinged_at[0] - start for s in sockets)
    assert moments[-1] - moments[0] > 0.5 * beat.interval
    assert len({round(m / (beat.interval / Heartbeat.SLICES)) for m in moments}) >= 15


async def test_a_large_group_is_pinged_a_few_sockets_per_loop_turn() -> None:
    turns = count_turns()
    beat = Heartbeat(interval=20, missed=2)
    sockets = [FakeSocket(turns, time.monotonic()) for _ in range(1000)]
    await beat._ping_group(cast(set[Connection], set(sockets)))
    per_turn = Counter(s.pinged_in[0] for s in sockets)
    assert sum(per_turn.values()) == 1000
    assert max(per_turn.values()) <= Heartbeat.PER_TURN
    assert len(per_turn) >= 1000 // Heartbeat.PER_TURN


async def test_sockets_silent_too_long_are_closed_and_removed_ones_are_left_alone() -> None:
    turns = count_turns()
    beat = Heartbeat(interval=0.2, missed=1)
    silent = FakeSocket(turns, time.monotonic() - 10)
    alive = FakeSocket(turns, time.monotonic())
    gone = FakeSocket(turns, time.monotonic())
    for s in (silent, alive, gone):
        beat.add(cast(Connection, s))
    beat.discard(cast(Connection, gone))
    beat.start()
    # One beat (0.2 s) pings the live socket and closes the silent one.
    await wait_until(lambda: silent.closed is not None and bool(alive.pinged_in), timeout=5)
    await beat.aclose()
    assert silent.closed == (CLOSE_HEARTBEAT, "no answer to pings") and not silent.pinged_in
    assert alive.closed is None and alive.pinged_in
    assert gone.closed is None and not gone.pinged_in
    beat.close_all()
    assert alive.closed is not None and alive.closed[0] == 1001
    assert silent.closed[0] == 1001
