"""Each widget's enabled actions, in memory: a message to a widget without actions costs nothing.

A change publishes `actions.changed` with the widget id; every process drops its copy.
After a pub/sub reconnect every copy is dropped, since changes in the gap were missed.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from porch.actions.definition import Definition, from_row
from porch.models import Action
from porch.pubsub import PubSub

CHANNEL = "actions.changed"


class ActionIndex:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], pubsub: PubSub) -> None:
        self._sessionmaker = sessionmaker
        self._entries: dict[uuid.UUID, tuple[Definition, ...]] = {}
        self._generation = 0
        pubsub.subscribe(CHANNEL, self._on_changed)
        pubsub.on_reconnect(self._on_reconnect)

    async def _on_changed(self, raw: bytes) -> None:
        self._generation += 1
        try:
            self._entries.pop(uuid.UUID(raw.decode()), None)
        except ValueError:
            self._entries.clear()

    async def _on_reconnect(self) -> None:
        self._generation += 1
        self._entries.clear()

    def peek(self, widget_id: uuid.UUID) -> tuple[Definition, ...] | None:
        return self._entries.get(widget_id)

    async def enabled(self, widget_id: uuid.UUID) -> tuple[Definition, ...]:
        found = self._entries.get(widget_id)
        if found is not None:
            return found
        generation = self._generation
        async with self._sessionmaker() as session:
            rows = await session.execute(
                select(Action)
                .where(Action.widget_id == widget_id, Action.enabled.is_(True))
                .order_by(Action.created_at)
            )
            found = tuple(from_row(r) for r in rows.scalars())
        if generation == self._generation:
            self._entries[widget_id] = found
        return found
