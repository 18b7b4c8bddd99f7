"""The inbox's live view of a conversation's action calls: `action_call.updated` events.

Each time a call of a conversation is recorded or changes state (a card shown, a call
started, finished, declined, expired), a durable realtime event carrying the call as the
call log shows it (arguments secret-masked, response only as projected) is stored in the
call's own transaction and published once that commits, however the caller commits it:
the request scope, the answer turn, or a confirmation. A rolled-back call tells nobody.

The process hands its publisher to every session through the session factory's `info`
(`install`, called by the lifespan), as notify.py does for webhooks. Visitors' sockets
never get these events (realtime/views.py sends them only what a person says).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from porch.actions.calls import to_out
from porch.db import when_committed
from porch.models import ActionCall
from porch.realtime import events
from porch.realtime.events import Envelope

CALL_UPDATED = "action_call.updated"
Publish = Callable[[Envelope], None]
_PUBLISH = "porch.actions.live.publish"


def install(sessionmaker: async_sessionmaker[AsyncSession], publish: Publish) -> None:
    """Every session the factory makes from now on publishes call events with `publish`."""
    info = dict(sessionmaker.kw.get("info") or {})
    info[_PUBLISH] = publish
    sessionmaker.configure(info=info)


async def changed(session: AsyncSession, call: ActionCall) -> None:
    """Store the call's event in the session's transaction (flushed first); publish on commit."""
    if call.conversation_id is None:
        return
    session.add(call)
    await session.flush()
    env = await events.record(
        await session.connection(),
        call.workspace_id,
        call.conversation_id,
        CALL_UPDATED,
        {"call": to_out(call).model_dump(mode="json")},
    )
    publish: Publish | None = session.info.get(_PUBLISH)
    if publish is not None:
        when_committed(session, lambda: publish(env))
