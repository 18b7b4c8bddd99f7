"""The owner's inbox: a widget's conversations filtered and keyset-paged, one conversation in full.

Takes the session and the workspace explicitly; another workspace's ids are "not found".
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from porch.chat.inbox.schemas import (
    ConversationDetail,
    ConversationSummary,
    ConversationTotals,
    InboxMessage,
    InboxPage,
    InboxUser,
    MessageSource,
    MessageUsage,
    RatingSummary,
)
from porch.chat.inbox.waiting import mark_waiting
from porch.errors import BadRequest, NotFound
from porch.models import Conversation, Message, User
from porch.models.base import utcnow
from porch.realtime import events as ev
from porch.realtime.hub import Realtime
from porch.schemas import check_day, check_days
from porch.widgets import service as widgets

PAGE_DEFAULT = 25
PAGE_MAX = 100
PREVIEW_CHARS = 160
_VISIBLE_ROLES = ("user", "assistant", "agent")
_MARKUP = re.compile(r"\*\*|__|`|^#+\s*|\s?\[\d+\]", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class InboxFilter:
    status: str | None = None
    rating: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended: the last row's (last_message_at, id), newest first."""

    last_message_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        raw = orjson.dumps([self.last_message_at.isoformat(), self.id.hex])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            stamp, hex_id = orjson.loads(raw)
            at = datetime.fromisoformat(stamp)
            # In UTC, and in the days a filter may name: a crafted stamp near year 1 or
            # 9999 would overflow when the database driver converts it.
            at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
            check_day(at.date())
            return cls(at, uuid.UUID(hex=hex_id))
        except (
            ValueError,
            TypeError,
            OverflowError,
            binascii.Error,
            orjson.JSONDecodeError,
        ) as exc:
            raise BadRequest(
                "The cursor is not one this API gave out.", code="invalid_cursor"
            ) from exc


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def like_pattern(text: str) -> str:
    """`%text%` with LIKE's wildcards escaped (escape character: backslash)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _preview(text: str | None) -> str | None:
    """One line of plain text: no markdown emphasis, no [1] citation marks."""
    if text is None:
        return None
    flat = " ".join(_MARKUP.sub("", text).split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1].rstrip() + "…"


def _user(c: Conversation) -> InboxUser | None:
    if not (c.user_external_id or c.user_name or c.user_email):
        return None
    return InboxUser(id=c.user_external_id, name=c.user_name, email=c.user_email)


def _summary(
    c: Conversation,
    preview: str | None,
    question: str | None,
    ratings: RatingSummary,
    names: dict[uuid.UUID, str] | None = None,
) -> ConversationSummary:
    return ConversationSummary(
        id=c.id,
        widget_id=c.widget_id,
        status=c.status,
        page_url=c.page_url,
        page_title=c.page_title,
        locale=c.locale,
        user=_user(c),
        message_count=c.message_count,
        last_message_at=c.last_message_at,
        created_at=c.created_at,
        last_message_preview=_preview(preview),
        last_question=_preview(question),
        rating_summary=ratings,
        unread_count=c.unread_count,
        assigned_user_id=c.assigned_user_id,
        assigned_name=(names or {}).get(c.assigned_user_id) if c.assigned_user_id else None,
        handoff_requested_at=c.handoff_requested_at,
    )


async def list_conversations(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    filters: InboxFilter,
    *,
    cursor: str | None = None,
    limit: int = PAGE_DEFAULT,
) -> InboxPage:
    """One page of a widget's conversations, most recently active first."""
    check_days(filters.date_from, filters.date_to)
    await widgets.get(session, workspace_id, widget_id)
    c = Conversation
    last = aliased(Message)
    preview = (
        select(last.content)
        .where(last.conversation_id == c.id, last.role.in_(_VISIBLE_ROLES))
        .order_by(last.id.desc())
        .limit(1)
        .correlate(c)
        .scalar_subquery()
    )
    asked = aliased(Message)
    question = (
        select(asked.content)
        .where(asked.conversation_id == c.id, asked.role == "user")
        .order_by(asked.id.desc())
        .limit(1)
        .correlate(c)
        .scalar_subquery()
    )
    stmt = select(c, preview.label("preview"), question.label("question")).where(
        c.workspace_id == workspace_id, c.widget_id == widget_id
    )
    for condition in _conditions(filters):
        stmt = stmt.where(condition)
    if cursor:
        at = Cursor.decode(cursor)
        stmt = stmt.where(
            or_(
                c.last_message_at < at.last_message_at,
                and_(c.last_message_at == at.last_message_at, c.id < at.id),
            )
        )
    limit = max(1, min(limit, PAGE_MAX))
    stmt = stmt.order_by(c.last_message_at.desc(), c.id.desc()).limit(limit + 1)
    rows = (await session.execute(stmt)).all()
    page, more = rows[:limit], len(rows) > limit
    ratings = await _ratings(session, [row[0].id for row in page])
    names = await agent_names(session, {row[0].assigned_user_id for row in page})
    items = [
        _summary(conv, text, asked_last, ratings.get(conv.id, RatingSummary()), names)
        for conv, text, asked_last in page
    ]
    await mark_waiting(session, items)
    next_cursor = None
    if more and page:
        tail = page[-1][0]
        next_cursor = Cursor(tail.last_message_at, tail.id).encode()
    return InboxPage(conversations=items, next_cursor=next_cursor)


def _conditions(filters: InboxFilter) -> list[Any]:
    c, m = Conversation, aliased(Message)
    out: list[Any] = []
    if filters.status:
        out.append(c.status == filters.status)
    if filters.rating:
        out.append(exists().where(m.conversation_id == c.id, m.rating == filters.rating))
    # A date range keeps conversations active in it: begun before its end, active after its start.
    if filters.date_from:
        out.append(c.last_message_at >= day_start(filters.date_from))
    if filters.date_to:
        out.append(c.created_at < day_start(filters.date_to + timedelta(days=1)))
    text = (filters.q or "").strip()
    if text:
        pattern = like_pattern(text)
        found = aliased(Message)
        out.append(
            or_(
                exists().where(
                    found.conversation_id == c.id,
                    found.content.ilike(pattern, escape="\\"),
                ),
                c.user_email.ilike(pattern, escape="\\"),
                c.user_name.ilike(pattern, escape="\\"),
                c.page_url.ilike(pattern, escape="\\"),
            )
        )
    return out


async def _ratings(
    session: AsyncSession, conversation_ids: list[uuid.UUID]
) -> dict[uuid.UUID, RatingSummary]:
    if not conversation_ids:
        return {}
    m = Message
    result = await session.execute(
        select(m.conversation_id, m.rating, func.count())
        .where(m.conversation_id.in_(conversation_ids), m.rating.is_not(None))
        .group_by(m.conversation_id, m.rating)
    )
    out: dict[uuid.UUID, RatingSummary] = {}
    for conversation_id, rating, count in result.all():
        summary = out.setdefault(conversation_id, RatingSummary())
        if rating == "up":
            summary.up = int(count)
        elif rating == "down":
            summary.down = int(count)
    return out


async def get_owned(
    session: AsyncSession, workspace_id: uuid.UUID, conversation_id: uuid.UUID
) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.workspace_id != workspace_id:
        raise NotFound("No such conversation.", code="conversation_not_found")
    return conversation


async def get_conversation(
    session: AsyncSession, workspace_id: uuid.UUID, conversation_id: uuid.UUID
) -> ConversationDetail:
    """The conversation with every message, oldest first, with sources, usage and cost."""
    conversation = await get_owned(session, workspace_id, conversation_id)
    rows = list(
        (
            await session.execute(
                select(Message)
                .where(Message.conversation_id == conversation.id)
                .order_by(Message.id)
            )
        ).scalars()
    )
    messages = [_message(m) for m in rows]
    ratings = RatingSummary(
        up=sum(m.rating == "up" for m in rows), down=sum(m.rating == "down" for m in rows)
    )
    last_visible = next((m.content for m in reversed(rows) if m.role in _VISIBLE_ROLES), None)
    last_question = next((m.content for m in reversed(rows) if m.role == "user"), None)
    names = await agent_names(session, {conversation.assigned_user_id})
    summary = _summary(conversation, last_visible, last_question, ratings, names)
    totals = ConversationTotals(
        prompt_tokens=sum(m.prompt_tokens for m in rows),
        completion_tokens=sum(m.completion_tokens for m in rows),
        cost_usd=round(sum(m.cost_usd for m in rows), 6),
    )
    return ConversationDetail(**summary.model_dump(), messages=messages, totals=totals)


def _message(m: Message) -> InboxMessage:
    return InboxMessage(
        id=m.id,
        role=m.role,
        content=m.content,
        status=m.status,
        sources=[_source(s) for s in (m.sources or []) if isinstance(s, dict)],
        provider=m.provider,
        model=m.model,
        usage=MessageUsage(prompt_tokens=m.prompt_tokens, completion_tokens=m.completion_tokens),
        cost_usd=m.cost_usd,
        latency_ms=m.latency_ms,
        first_token_ms=m.first_token_ms,
        error_code=m.error_code,
        unanswered=m.unanswered,
        rating=m.rating,
        feedback_comment=m.feedback_comment,
        author_name=m.author_name,
        created_at=m.created_at,
        redactions=m.redactions or {},
    )


def _source(raw: dict[str, Any]) -> MessageSource:
    def text(key: str) -> str | None:
        value = raw.get(key)
        return None if value is None else str(value)

    return MessageSource(
        title=text("title") or "",
        url=text("url"),
        snippet=text("snippet") or "",
        source_id=text("source_id"),
        chunk_id=text("chunk_id"),
    )


async def set_status(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    conversation_id: uuid.UUID,
    status: str,
    realtime: Realtime | None = None,
) -> Conversation:
    """Close or reopen a conversation; agents and the visitor hear of it once it is committed.

    Reopening hands it back to the assistant (`open`); closing ends any handoff.
    """
    conversation = await get_owned(session, workspace_id, conversation_id)
    if conversation.status == status:
        return conversation
    conversation.status = status
    conversation.closed_at = utcnow() if status == "closed" else None
    await session.flush()
    if realtime is not None:
        await realtime.emit_after_commit(
            session,
            workspace_id,
            conversation.id,
            ev.CONVERSATION_CLOSED if status == "closed" else ev.CONVERSATION_UPDATED,
            {"status": status, "widget_id": conversation.widget_id},
        )
    return conversation


async def agent_names(
    session: AsyncSession, user_ids: set[uuid.UUID | None]
) -> dict[uuid.UUID, str]:
    """Display names (or the email's local part) of the given users."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    rows = await session.execute(
        select(User.id, User.display_name, User.email).where(User.id.in_(ids))
    )
    return {uid: name or email.split("@")[0] for uid, name, email in rows.all()}


async def public_names(
    session: AsyncSession, user_ids: set[uuid.UUID | None]
) -> dict[uuid.UUID, str]:
    """The names visitors may see: display names only. An email (or its local part) is the
    person's address, not theirs to show; without a display name the widget says "Team
    member" in the visitor's language."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {uid: name for uid, name in rows.all() if name}


async def counts_by_widget(
    session: AsyncSession, workspace_id: uuid.UUID
) -> dict[uuid.UUID, dict[str, int]]:
    """Per widget of the workspace: how many conversations it has in each status."""
    c = Conversation
    result = await session.execute(
        select(c.widget_id, c.status, func.count())
        .where(c.workspace_id == workspace_id)
        .group_by(c.widget_id, c.status)
    )
    out: dict[uuid.UUID, dict[str, int]] = {}
    for widget_id, status, count in result.all():
        out.setdefault(widget_id, {})[status] = int(count)
    return out
