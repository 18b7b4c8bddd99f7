"""One person's data: finding it (by visitor id, verified user id or email), counting it,
erasing it. The subject itself is only ever stored as an HMAC once a request is done."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import cast

from sqlalchemy import ColumnElement, Table, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from porch.audit import service as audit
from porch.models import PrivacyJob, PrivacyTombstone
from porch.privacy import removal

conversations = removal.conversations
messages = removal.messages
BATCH = 200
KINDS = ("visitor_id", "user_id", "email")


def fingerprint(secret: bytes, workspace_id: uuid.UUID, kind: str, value: str) -> str:
    """What stands for a subject once the request is done: keyed, so it cannot be guessed
    from a list of email addresses without the server's secret."""
    msg = f"{workspace_id}\x00{kind}\x00{normal(kind, value)}".encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def normal(kind: str, value: str) -> str:
    return value.strip().lower() if kind in ("email", "visitor_id") else value


def matches(kind: str, value: str) -> ColumnElement[bool]:
    if kind == "visitor_id":
        try:
            return conversations.c.id == uuid.UUID(value)
        except ValueError:
            return conversations.c.id.is_(None)
    if kind == "user_id":
        # Only the site's signed claim counts: an unverified visitor can type any id.
        return (conversations.c.user_external_id == value) & (
            conversations.c.user_verified == true()
        )
    email = normal(kind, value)
    # The address the page passed, or the one the site signed in the identity token.
    signed = conversations.c.user_claims["email"].as_string()
    return (func.lower(conversations.c.user_email) == email) | (func.lower(signed) == email)


async def conversation_ids(
    session: AsyncSession, workspace_id: uuid.UUID, kind: str, value: str, *, held: bool = False
) -> list[uuid.UUID]:
    """The person's conversations in the workspace, without (or, `held`, only) held ones."""
    query = select(conversations.c.id).where(
        conversations.c.workspace_id == workspace_id,
        matches(kind, value),
        conversations.c.legal_hold == held,
    )
    return list((await session.execute(query.order_by(conversations.c.id))).scalars())


async def counts(
    session: AsyncSession, workspace_id: uuid.UUID, kind: str, value: str
) -> dict[str, int]:
    """What an erase would remove, per kind; `held` is what a legal hold keeps."""
    ids = await conversation_ids(session, workspace_id, kind, value)
    held = await conversation_ids(session, workspace_id, kind, value, held=True)
    out = {
        "conversations": len(ids),
        "messages": 0,
        "feedback": 0,
        "events": 0,
        "webhook_deliveries": 0,
        "action_calls": 0,
        "attachments": 0,
        "held": len(held),
    }
    for start in range(0, len(ids), BATCH):
        part = ids[start : start + BATCH]
        m, f = (
            await session.execute(
                select(func.count(), func.count(messages.c.rating)).where(
                    messages.c.conversation_id.in_(part)
                )
            )
        ).one()
        events = await session.scalar(
            select(func.count()).where(removal.events.c.conversation_id.in_(part))
        )
        cid = removal.deliveries.c.payload["conversation_id"].as_string()
        hooks = await session.scalar(select(func.count()).where(cid.in_([str(i) for i in part])))
        out["messages"] += int(m)
        out["feedback"] += int(f)
        out["events"] += int(events or 0)
        out["webhook_deliveries"] += int(hooks or 0)
    return out


async def erase(
    session: AsyncSession, workspace_id: uuid.UUID, kind: str, value: str, subject_hmac: str
) -> dict[str, int]:
    """Delete the person's conversations and everything derived, drop unread exports of them,
    and leave a tombstone. Commits per batch; returns what was removed."""
    found = await counts(session, workspace_id, kind, value)
    ids = await conversation_ids(session, workspace_id, kind, value)
    removed_c = removed_m = 0
    for start in range(0, len(ids), BATCH):
        c, m = await removal.delete_conversations(
            session, ids[start : start + BATCH], with_deliveries=True, close_sockets_in=workspace_id
        )
        removed_c, removed_m = removed_c + c, removed_m + m
        await session.commit()
    await _drop_exports(session, workspace_id, subject_hmac, ids)
    await tombstone(session, workspace_id, kind, subject_hmac)
    return {**found, "conversations": removed_c, "messages": removed_m}


async def _drop_exports(
    session: AsyncSession, workspace_id: uuid.UUID, subject_hmac: str, ids: list[uuid.UUID]
) -> None:
    """Unread exports of the person (asked for by this subject, or holding any of the
    erased conversations under another of their identifiers) are deleted with them."""
    jobs = cast(Table, PrivacyJob.__table__)
    waiting = await session.execute(
        select(jobs.c.id, jobs.c.subject_hmac, jobs.c.result).where(
            jobs.c.workspace_id == workspace_id,
            jobs.c.kind == "export",
            jobs.c.result.is_not(None),
        )
    )
    marks = [f'"id":"{i}"' for i in ids]
    doomed = [
        jid
        for jid, mark, result in waiting.all()
        if mark == subject_hmac or any(m in result for m in marks)
    ]
    if doomed:
        await session.execute(
            update(jobs)
            .where(jobs.c.id.in_(doomed))
            .values(result=None, download_token_hash=None, status="expired")
        )


async def tombstone(
    session: AsyncSession, workspace_id: uuid.UUID, kind: str, subject_hmac: str
) -> None:
    existing = await session.scalar(
        select(PrivacyTombstone.id).where(
            PrivacyTombstone.workspace_id == workspace_id,
            PrivacyTombstone.subject_hmac == subject_hmac,
        )
    )
    if existing is None:
        session.add(
            PrivacyTombstone(
                workspace_id=workspace_id, subject_kind=kind, subject_hmac=subject_hmac
            )
        )


async def visitor_erase(
    session: AsyncSession, workspace_id: uuid.UUID, conversation_id: uuid.UUID
) -> int:
    """A visitor deletes their own data from the widget: every conversation of theirs when
    the site verified who they are, otherwise the one their token opens. Held ones stay."""
    row = (
        await session.execute(
            select(conversations.c.user_external_id, conversations.c.user_verified).where(
                conversations.c.id == conversation_id,
                conversations.c.workspace_id == workspace_id,
            )
        )
    ).first()
    if row is None:
        return 0
    user_id, verified = row
    if verified and user_id:
        ids = await conversation_ids(session, workspace_id, "user_id", user_id)
    else:
        ids = [conversation_id]
    removed, _ = await removal.delete_conversations(
        session, ids, with_deliveries=True, close_sockets_in=workspace_id
    )
    await audit.record(session, workspace_id, "privacy.visitor_erased", None, conversations=removed)
    return removed
