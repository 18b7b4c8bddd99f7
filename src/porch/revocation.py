"""Access that ends: what a credential admitted, and the message that takes it back.

Every long-lived connection (a WebSocket) keeps the `Grant` it was admitted with: which
session, API key, member, role, or visitor token. Services that end any of these (sign-out,
removing a member, changing a role, deleting a key, a widget or a workspace) describe it
with `revoke(session, Revocation…)` in the request's transaction; once that transaction has
committed, the request boundary (`porch.deps.get_session`) announces it on pub/sub, and every
process closes the sockets it names (realtime/revoker.py). Code that commits a session of
its own calls `announce` after its commit.

Close codes, sent with a short reason:

  4401  the credential is gone (signed out, session or visitor token expired, member removed,
        key, widget or workspace deleted): do not reconnect with it; sign in again.
  4403  still signed in, but the rights the socket was admitted with changed (a role change):
        reconnect, and the new socket gets what the new role allows.
  4404  what the socket watched is gone (its conversation, or the conversation's widget,
        was deleted): do not reconnect.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Any, Literal

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from porch.pubsub import PubSub

CHANNEL = "access.revoked"
CLOSE_SIGNED_OUT = 4401
CLOSE_RIGHTS_CHANGED = 4403
CLOSE_GONE = 4404
_PENDING = "porch.revocations"

Via = Literal["session", "api_key", "visitor_token"]


@dataclass(frozen=True, slots=True)
class Grant:
    """What a socket was let in with; a revocation names some of these fields."""

    via: Via
    workspace_id: uuid.UUID
    user_id: uuid.UUID | None = None
    role: str | None = None
    session_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    widget_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None
    # Which of a conversation's visitor tokens, by its SHA-256 (never the token itself);
    # None for the conversation's own.
    token_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Revocation:
    """Closes every socket whose grant has all the ids given here (at least one is)."""

    code: int
    reason: str
    workspace_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    widget_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None
    via: Via | None = None

    def __post_init__(self) -> None:
        if not any(
            (
                self.workspace_id,
                self.user_id,
                self.session_id,
                self.api_key_id,
                self.widget_id,
                self.conversation_id,
            )
        ):
            raise ValueError("a revocation names at least one id")

    @property
    def agents_only(self) -> bool:
        """Names a person's credential, so no visitor's socket can match."""
        return bool(self.user_id or self.session_id or self.api_key_id)

    def matches(self, grant: Grant) -> bool:
        return (
            _same(self.workspace_id, grant.workspace_id)
            and _same(self.user_id, grant.user_id)
            and _same(self.session_id, grant.session_id)
            and _same(self.api_key_id, grant.api_key_id)
            and _same(self.widget_id, grant.widget_id)
            and _same(self.conversation_id, grant.conversation_id)
            and (self.via is None or self.via == grant.via)
        )

    def encode(self) -> bytes:
        # str(): asyncpg hands back ids of its own UUID type, which orjson does not know.
        fields = asdict(self).items()
        return orjson.dumps({k: v if k in _PLAIN else str(v) for k, v in fields if v is not None})

    @classmethod
    def decode(cls, raw: bytes) -> Revocation:
        body: dict[str, Any] = orjson.loads(raw)
        ids = {k: uuid.UUID(v) for k, v in body.items() if k.endswith("_id")}
        return cls(int(body["code"]), str(body["reason"])[:100], via=body.get("via"), **ids)


_PLAIN = frozenset({"code", "reason", "via"})


def _same(wanted: uuid.UUID | None, held: uuid.UUID | None) -> bool:
    return wanted is None or wanted == held


# ---- the revocations services describe ------------------------------------------------------
def session_ended(session_id: uuid.UUID) -> Revocation:
    return Revocation(CLOSE_SIGNED_OUT, "signed out", session_id=session_id)


def sessions_ended(user_id: uuid.UUID) -> Revocation:
    """Signed out everywhere: every session of the user; their API keys stay."""
    return Revocation(CLOSE_SIGNED_OUT, "signed out everywhere", user_id=user_id, via="session")


def member_removed(workspace_id: uuid.UUID, user_id: uuid.UUID) -> Revocation:
    """Their sessions and API keys in that workspace."""
    return Revocation(
        CLOSE_SIGNED_OUT, "removed from this workspace", workspace_id=workspace_id, user_id=user_id
    )


def role_changed(workspace_id: uuid.UUID, user_id: uuid.UUID) -> Revocation:
    return Revocation(
        CLOSE_RIGHTS_CHANGED, "role changed", workspace_id=workspace_id, user_id=user_id
    )


def api_key_deleted(api_key_id: uuid.UUID) -> Revocation:
    return Revocation(CLOSE_SIGNED_OUT, "API key revoked", api_key_id=api_key_id)


def workspace_deleted(workspace_id: uuid.UUID) -> Revocation:
    """Everyone in it: members' sockets and visitors'."""
    return Revocation(CLOSE_SIGNED_OUT, "workspace deleted", workspace_id=workspace_id)


def widget_deleted(workspace_id: uuid.UUID, widget_id: uuid.UUID) -> Revocation:
    """The sockets on its conversations (visitors' and agents'), which went with it."""
    return Revocation(CLOSE_GONE, "widget deleted", workspace_id=workspace_id, widget_id=widget_id)


def conversation_deleted(workspace_id: uuid.UUID, conversation_id: uuid.UUID) -> Revocation:
    """A conversation deleted (or erased): the sockets on it, visitors' and agents'."""
    return Revocation(
        CLOSE_GONE,
        "conversation deleted",
        workspace_id=workspace_id,
        conversation_id=conversation_id,
    )


# ---- telling every process ---------------------------------------------------------------------
def revoke(session: AsyncSession, revocation: Revocation) -> None:
    """Announce `revocation` once the session's transaction commits (nothing if it rolls back)."""
    session.info.setdefault(_PENDING, []).append(revocation)


async def announce(session: AsyncSession, pubsub: PubSub) -> None:
    """After commit: publish what the transaction revoked, to every process's sockets."""
    for revocation in session.info.pop(_PENDING, []):
        await pubsub.publish(CHANNEL, revocation.encode())
