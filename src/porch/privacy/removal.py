"""Removing what a set of conversations left behind, in dependency order, in one transaction.

Shared by the retention sweep and by erasure. Rows are locked first with SKIP LOCKED on
PostgreSQL, so a conversation a message is being written to right now is left for the next
batch instead of being waited for; every statement re-checks the hold and the cut-off, so a
conversation that came back to life after it was selected is kept.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, delete, false, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from porch import revocation
from porch.models import Conversation, ConversationEvent, Message, VisitorToken, WebhookDelivery

conversations = cast(Table, Conversation.__table__)
messages = cast(Table, Message.__table__)
events = cast(Table, ConversationEvent.__table__)
tokens = cast(Table, VisitorToken.__table__)
deliveries = cast(Table, WebhookDelivery.__table__)


async def _lock(
    session: AsyncSession, ids: Sequence[uuid.UUID], guard: ColumnElement[bool] | None
) -> list[uuid.UUID]:
    query = select(conversations.c.id).where(
        conversations.c.id.in_(ids), conversations.c.legal_hold == false()
    )
    if guard is not None:
        query = query.where(guard)
    locked = await session.execute(query.with_for_update(skip_locked=True))
    return list(locked.scalars())


async def _derived(session: AsyncSession, ids: list[uuid.UUID], *, with_deliveries: bool) -> None:
    """Everything that hangs off the conversations: replayable events, extra visitor tokens,
    and (for an erase) the webhook deliveries that carried them."""
    await session.execute(delete(events).where(events.c.conversation_id.in_(ids)))
    await session.execute(delete(tokens).where(tokens.c.conversation_id.in_(ids)))
    if with_deliveries:
        cid = deliveries.c.payload["conversation_id"].as_string()
        await session.execute(delete(deliveries).where(cid.in_([str(i) for i in ids])))


async def delete_conversations(
    session: AsyncSession,
    ids: Sequence[uuid.UUID],
    *,
    guard: ColumnElement[bool] | None = None,
    with_deliveries: bool = False,
    close_sockets_in: uuid.UUID | None = None,
) -> tuple[int, int]:
    """Delete the conversations (not held, still matching `guard`) and all they hold.
    Returns (conversations, messages) removed.

    `close_sockets_in`: the workspace whose open sockets on these conversations (visitors'
    and agents') close once the caller's commit is announced (porch.revocation). An erase
    asks for it; the sweep removes conversations idle for days, which nobody watches."""
    if not ids:
        return 0, 0
    locked = await _lock(session, ids, guard)
    if not locked:
        return 0, 0
    if close_sockets_in is not None:
        for cid in locked:
            revocation.revoke(session, revocation.conversation_deleted(close_sockets_in, cid))
    await _derived(session, locked, with_deliveries=with_deliveries)
    gone = await session.execute(delete(messages).where(messages.c.conversation_id.in_(locked)))
    await session.execute(delete(conversations).where(conversations.c.id.in_(locked)))
    return len(locked), int(gone.rowcount)  # type: ignore[attr-defined]


async def anonymize_conversations(
    session: AsyncSession,
    ids: Sequence[uuid.UUID],
    *,
    now: datetime,
    guard: ColumnElement[bool] | None = None,
) -> tuple[int, int]:
    """Remove the content and who wrote it; keep counts, times, ratings, tokens and costs, so
    every analytics figure stays the same. The visitor's token stops working."""
    if not ids:
        return 0, 0
    locked = await _lock(session, ids, guard)
    if not locked:
        return 0, 0
    await _derived(session, locked, with_deliveries=False)
    emptied = await session.execute(
        update(messages)
        .where(messages.c.conversation_id.in_(locked))
        .values(content="", feedback_comment=None, author_name=None, sources=[], redactions=None)
    )
    for cid in locked:
        # A hash of nothing anyone holds: the visitor token can never match again.
        dead = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
        await session.execute(
            update(conversations)
            .where(conversations.c.id == cid)
            .values(
                visitor_token_hash=dead,
                page_url=None,
                page_title=None,
                user_external_id=None,
                user_name=None,
                user_email=None,
                user_claims=None,
                client_ip=None,
                anonymized_at=now,
            )
        )
    return len(locked), int(emptied.rowcount)  # type: ignore[attr-defined]
