"""The realtime facade the rest of porch uses: record and publish events, hold the sockets."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from porch.db import after_commit
from porch.pubsub import PubSub
from porch.realtime import events
from porch.realtime.broker import Broker
from porch.realtime.connection import Heartbeat
from porch.realtime.events import Envelope
from porch.realtime.revoker import Revoker
from porch.settings import Settings


class Realtime:
    def __init__(self, settings: Settings, pubsub: PubSub) -> None:
        self.settings = settings
        self.broker = Broker(pubsub)
        self.heartbeat = Heartbeat(settings.ws_ping_seconds, settings.ws_missed_pongs)
        # Closes sockets whose access ended (sign-out, removal, expiry: realtime/revoker.py).
        self.revoker = Revoker(pubsub, self.heartbeat)

    async def start(self) -> None:
        await self.broker.start()
        self.heartbeat.start()

    async def aclose(self) -> None:
        self.heartbeat.close_all()
        await self.heartbeat.aclose()
        await self.revoker.aclose()
        await self.broker.aclose()

    async def emit(
        self,
        conn: AsyncConnection,
        workspace_id: uuid.UUID,
        conversation_id: uuid.UUID,
        type_: str,
        data: dict[str, Any],
    ) -> Envelope:
        """Store and publish at once: for autocommit connections, where the row is durable."""
        env = await events.record(conn, workspace_id, conversation_id, type_, data)
        self.broker.publish(env)
        return env

    async def emit_after_commit(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        conversation_id: uuid.UUID,
        type_: str,
        data: dict[str, Any],
    ) -> Envelope:
        """Store in the request's transaction; publish only once it has committed."""
        conn = await session.connection()
        env = await events.record(conn, workspace_id, conversation_id, type_, data)

        async def publish() -> None:
            self.broker.publish(env)

        after_commit(session, publish)
        return env

    def signal(
        self,
        workspace_id: uuid.UUID,
        conversation_id: uuid.UUID,
        type_: str,
        data: dict[str, Any],
    ) -> None:
        """An ephemeral event (token, typing): published, never stored; dropped at once
        (before building anything) when no socket anywhere would show it."""
        if not self.broker.wanted(type_, data, workspace_id, conversation_id):
            return
        self.broker.publish(Envelope(None, type_, workspace_id, conversation_id, data))
