"""A reply's events on their way to the reader: a bounded queue, read in groups."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from porch.chat.answer.events import Event, Token


class ReplyQueue(asyncio.Queue[Event | None]):
    """The events of one reply on their way to its reader, holding a bounded number of them.

    A reader that falls behind (a slow phone, a stalled tab) finds the tokens it has not taken
    merged into one pending token once PENDING_EVENTS wait: it holds the reply's unsent text,
    never a growing backlog of event objects, and the reply itself is never slowed or lost.
    """

    PENDING_EVENTS = 64

    def _put(self, item: Event | None) -> None:
        pending = self._queue  # type: ignore[attr-defined]
        last = pending[-1] if pending else None
        if len(pending) >= self.PENDING_EVENTS and isinstance(item, Token):
            if isinstance(last, _Backlog):
                last.add(item.delta)
                return
            if isinstance(last, Token):
                pending[-1] = _Backlog([last.delta, item.delta])
                return
        pending.append(item)

    def _get(self) -> Event | None:
        item = self._queue.popleft()  # type: ignore[attr-defined]
        return Token("".join(item.parts)) if isinstance(item, _Backlog) else item


class _Backlog:
    """Unsent tokens, joined every so often so they cost their text and little more."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[str]) -> None:
        self.parts = parts

    def add(self, delta: str) -> None:
        self.parts.append(delta)
        if len(self.parts) >= 256:
            self.parts[:] = ["".join(self.parts)]


async def batches(
    queue: asyncio.Queue[Event | None], flush_ms: float = 0.0
) -> AsyncIterator[list[Event]]:
    """Events in the order made, grouped by what had arrived when the reader got to them.

    A stream writes each group in one send: when the model outpaces the connection, tokens
    share a write instead of costing a syscall each. With `flush_ms` (PORCH_STREAM_FLUSH_MS) a
    token waits up to that long for the ones right behind it, and neighbouring tokens become
    one token event (one frame, one JSON encoding); at 0 nothing is held back or merged.
    """
    loop = asyncio.get_running_loop()
    while True:
        event = await queue.get()
        group: list[Event] = []
        deadline = loop.time() + flush_ms / 1000 if flush_ms else 0.0
        while event is not None:
            group.append(event)
            if queue.empty():
                wait = deadline - loop.time() if isinstance(event, Token) else 0.0
                if wait <= 0:
                    break
                try:
                    async with asyncio.timeout(wait):
                        event = await queue.get()
                except TimeoutError:
                    break
                continue
            event = queue.get_nowait()
        if group:
            yield _merge_tokens(group) if flush_ms else group
        if event is None:
            return


def _merge_tokens(group: list[Event]) -> list[Event]:
    if len(group) < 2:
        return group
    out: list[Event] = []
    for event in group:
        last = out[-1] if out else None
        if isinstance(event, Token) and isinstance(last, Token):
            out[-1] = Token(last.delta + event.delta)
        else:
            out.append(event)
    return out


async def events(queue: asyncio.Queue[Event | None]) -> AsyncIterator[Event]:
    async for group in batches(queue):
        for event in group:
            yield event
