"""A socket's grant checked again against the database: when its session or visitor token may
have run out, and after a pub/sub gap in which revocations may have been lost.

Never on the message path: a socket is re-checked at its deadline (hours away for almost
every one) and after pub/sub reconnects, one small query each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from porch.accounts.roles import parse
from porch.conversations import repository as repo
from porch.conversations.tokens import token_expires, token_state
from porch.models import ApiKey, Membership, OwnerSession
from porch.models.base import utcnow
from porch.revocation import CLOSE_GONE, CLOSE_RIGHTS_CHANGED, CLOSE_SIGNED_OUT, Grant
from porch.settings import Settings


@dataclass(frozen=True, slots=True)
class Verdict:
    """Close the socket with `close`, or keep it until `deadline` (time.monotonic; inf: no end)."""

    close: tuple[int, str] | None = None
    deadline: float = float("inf")


def deadline_of(expires_at: datetime | None) -> float:
    """A wall-clock end (None: none) as a time.monotonic deadline."""
    if expires_at is None:
        return float("inf")
    return time.monotonic() + (expires_at - utcnow()).total_seconds()


class Recheck:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    async def __call__(self, grant: Grant) -> Verdict:
        async with self.engine.connect() as conn:
            if grant.via == "visitor_token":
                return await self._visitor(conn, grant)
            return await _member(conn, grant)

    async def _visitor(self, conn: AsyncConnection, grant: Grant) -> Verdict:
        if grant.conversation_id is None:
            return Verdict((CLOSE_SIGNED_OUT, "access revoked"))
        token_hash = grant.token_hash
        if token_hash is None:  # the conversation's own token
            ref = await repo.conversation(conn, grant.conversation_id)
            if ref is None:
                return Verdict((CLOSE_GONE, "conversation deleted"))
            token_hash = ref.token_hash
        found = await token_state(conn, grant.conversation_id, token_hash)
        if found is None:
            return Verdict((CLOSE_GONE, "conversation deleted"))
        expires_at = token_expires(self.settings, found.active)
        if expires_at <= utcnow():
            return Verdict((CLOSE_SIGNED_OUT, "visitor token expired"))
        return Verdict(deadline=deadline_of(expires_at))


async def _member(conn: AsyncConnection, grant: Grant) -> Verdict:
    member_role = await conn.scalar(
        select(Membership.role).where(
            Membership.user_id == grant.user_id, Membership.workspace_id == grant.workspace_id
        )
    )
    if member_role is None:
        return Verdict((CLOSE_SIGNED_OUT, "removed from this workspace"))
    role = parse(member_role)
    expires_at = None
    if grant.via == "session":
        expires_at = await conn.scalar(
            select(OwnerSession.expires_at).where(OwnerSession.id == grant.session_id)
        )
        if expires_at is None:
            return Verdict((CLOSE_SIGNED_OUT, "signed out"))
        if expires_at <= utcnow():
            return Verdict((CLOSE_SIGNED_OUT, "session expired"))
    else:
        key_role = await conn.scalar(select(ApiKey.role).where(ApiKey.id == grant.api_key_id))
        if key_role is None:
            return Verdict((CLOSE_SIGNED_OUT, "API key revoked"))
        # A key acts with its own role, capped by its creator's (accounts/service.py).
        role = min(parse(key_role), role, key=lambda r: r.rank)
    if role.value != grant.role:
        return Verdict((CLOSE_RIGHTS_CHANGED, "role changed"))
    return Verdict(deadline=deadline_of(expires_at))
