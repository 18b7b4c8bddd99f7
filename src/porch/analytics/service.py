"""Analytics of one widget over a range of UTC days, aggregated in SQL on SQLite and PostgreSQL.

The database groups rows by day (a dialect switch spells the day bucket); Python only fills
the empty days in and merges question texts that differ in case, spacing or end punctuation.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, and_, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from porch.analytics.actions import action_stats
from porch.analytics.clusters import group_questions
from porch.analytics.handoffs import handoff_stats
from porch.analytics.schemas import AnalyticsOut, Counts, DayStats, UnansweredQuestion
from porch.embeddings.base import Embedder
from porch.errors import BadRequest
from porch.models import Conversation, Message
from porch.models.base import utcnow
from porch.schemas import FIRST_DAY, check_days
from porch.widgets import service as widgets

DEFAULT_DAYS = 30
MAX_DAYS = 366
UNANSWERED_SHOWN = 50
# Groups read from SQL before merging near-duplicates in Python.
_UNANSWERED_GROUPS = 1000
_TRAILING = re.compile(r"[\s?!.,;:¿¡]+$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class DayRange:
    first: date
    last: date  # inclusive

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=(self.last - self.first).days + 1)


def day_range(date_from: date | None, date_to: date | None, today: date | None = None) -> DayRange:
    """The asked range; `to` defaults to today (UTC), `from` to 30 days before `to`."""
    check_days(date_from, date_to)
    last = date_to or today or utcnow().date()
    first = date_from or max(FIRST_DAY, last - timedelta(days=DEFAULT_DAYS - 1))
    check_days(first, last)  # `from` alone may be after today
    if (last - first).days + 1 > MAX_DAYS:
        raise BadRequest(f"Ask for at most {MAX_DAYS} days at once.", code="range_too_long")
    return DayRange(first, last)


def day_bucket(column: Any, dialect: str) -> Any:
    """The UTC day of a timestamp column as 'YYYY-MM-DD' text."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    # SQLite stores timestamps as UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'.
    return func.substr(column, 1, 10)


def normalize_question(text: str) -> str:
    """What makes two questions the same: case, runs of spaces and end punctuation do not."""
    return _TRAILING.sub("", _SPACES.sub(" ", text).strip().lower())


async def widget_analytics(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    date_from: date | None = None,
    date_to: date | None = None,
    embedder: Embedder | None = None,
    include_tests: bool = False,
) -> AnalyticsOut:
    """Counts per day and in total; unanswered questions grouped by meaning with `embedder`;
    action calls (owners' test runs only with `include_tests`)."""
    await widgets.get(session, workspace_id, widget_id)
    span = day_range(date_from, date_to)
    dialect = session.get_bind().dialect.name
    per_day: dict[date, DayStats] = {d: DayStats(date=d) for d in span.days}
    for day, count in await _conversations_per_day(session, workspace_id, widget_id, span, dialect):
        per_day[date.fromisoformat(day)].conversations = int(count)
    for row in await _messages_per_day(session, workspace_id, widget_id, span, dialect):
        stats = per_day[date.fromisoformat(row.day)]
        stats.questions = int(row.questions or 0)
        stats.replies = int(row.replies or 0)
        stats.messages = stats.questions + stats.replies
        stats.prompt_tokens = int(row.prompt_tokens or 0)
        stats.completion_tokens = int(row.completion_tokens or 0)
        stats.tokens = stats.prompt_tokens + stats.completion_tokens
        stats.cost_usd = round(float(row.cost_usd or 0.0), 6)
        stats.thumbs_up = int(row.thumbs_up or 0)
        stats.thumbs_down = int(row.thumbs_down or 0)
        stats.unanswered = int(row.unanswered or 0)
    days = [per_day[d] for d in span.days]
    unanswered = await unanswered_questions(session, workspace_id, widget_id, span)
    return AnalyticsOut(
        widget_id=widget_id,
        date_from=span.first,
        date_to=span.last,
        totals=_sum(days),
        days=days,
        unanswered=unanswered,
        unanswered_groups=await group_questions(unanswered, embedder),
        handoffs=await handoff_stats(session, workspace_id, widget_id, span.start, span.end),
        actions=await action_stats(
            session, workspace_id, widget_id, span.start, span.end, include_tests
        ),
    )


def _sum(days: list[DayStats]) -> Counts:
    totals = Counts()
    for field in Counts.model_fields:
        setattr(totals, field, sum(getattr(d, field) for d in days))
    totals.cost_usd = round(totals.cost_usd, 6)
    return totals


async def _conversations_per_day(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    span: DayRange,
    dialect: str,
) -> list[Any]:
    c = Conversation
    day = day_bucket(c.created_at, dialect).label("day")
    result = await session.execute(
        select(day, func.count())
        .where(
            c.workspace_id == workspace_id,
            c.widget_id == widget_id,
            c.created_at >= span.start,
            c.created_at < span.end,
        )
        .group_by(day)
    )
    return list(result.all())


def _when(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


async def _messages_per_day(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    span: DayRange,
    dialect: str,
) -> list[Any]:
    m = Message
    day = day_bucket(m.created_at, dialect).label("day")
    # A greeting is an assistant message no model wrote; it is not a reply to anything.
    reply = or_(m.role == "agent", and_(m.role == "assistant", m.provider.is_not(None)))
    result = await session.execute(
        select(
            day,
            _when(m.role == "user").label("questions"),
            _when(reply).label("replies"),
            func.sum(m.prompt_tokens).label("prompt_tokens"),
            func.sum(m.completion_tokens).label("completion_tokens"),
            func.sum(m.cost_usd).label("cost_usd"),
            _when(m.rating == "up").label("thumbs_up"),
            _when(m.rating == "down").label("thumbs_down"),
            _when(and_(m.role == "assistant", m.unanswered.is_(True))).label("unanswered"),
        )
        .where(
            m.workspace_id == workspace_id,
            m.widget_id == widget_id,
            m.created_at >= span.start,
            m.created_at < span.end,
        )
        .group_by(day)
    )
    return list(result.all())


async def unanswered_questions(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID, span: DayRange
) -> list[UnansweredQuestion]:
    """The visitor message before each unanswered reply, grouped by its normalized text."""
    reply, asked = aliased(Message), aliased(Message)
    question = (
        select(asked.content)
        .where(
            asked.conversation_id == reply.conversation_id,
            asked.role == "user",
            asked.id < reply.id,
        )
        .order_by(asked.id.desc())
        .limit(1)
        .correlate(reply)
        .scalar_subquery()
    )
    inner = (
        select(
            question.label("question"),
            reply.created_at.label("at"),
            cast(reply.conversation_id, String).label("conversation"),
        )
        .where(
            reply.workspace_id == workspace_id,
            reply.widget_id == widget_id,
            reply.role == "assistant",
            reply.unanswered.is_(True),
            reply.created_at >= span.start,
            reply.created_at < span.end,
        )
        .subquery()
    )
    key = func.lower(func.trim(inner.c.question))
    result = await session.execute(
        select(
            key.label("key"),
            func.min(inner.c.question).label("text"),
            func.count().label("n"),
            func.max(inner.c.at).label("last"),
            func.max(inner.c.conversation).label("conversation"),
        )
        .where(inner.c.question.is_not(None))
        .group_by(key)
        .order_by(func.count().desc(), key)
        .limit(_UNANSWERED_GROUPS)
    )
    return merge_questions(list(result.all()))


def merge_questions(rows: list[Any]) -> list[UnansweredQuestion]:
    """Fold SQL groups whose texts differ only in spacing or end punctuation."""
    merged: dict[str, tuple[UnansweredQuestion, int]] = {}
    for row in rows:
        text = " ".join(str(row.text).split())
        key = normalize_question(text) or text
        last = _aware(row.last)
        conversation = _uuid(row.conversation)
        count = int(row.n)
        seen = merged.get(key)
        if seen is None:
            first = UnansweredQuestion(
                question=text, count=count, last_asked_at=last, conversation_id=conversation
            )
            merged[key] = (first, count)
            continue
        item, best = seen
        if count > best:  # show the wording asked most often
            item.question, best = text, count
        item.count += count
        if last > item.last_asked_at:
            item.last_asked_at, item.conversation_id = last, conversation
        merged[key] = (item, best)
    items = [item for item, _ in merged.values()]
    items.sort(key=lambda q: (-q.count, -q.last_asked_at.timestamp(), q.question))
    return items[:UNANSWERED_SHOWN]


def _aware(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite can hand an aggregate back as text
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
