"""Suggestions: curated answers proposed from the inbox, for an owner to review.

A conversation becomes one when a visitor gave a reply a thumbs-down, or when a human agent
resolved (closed) it: the question is the visitor's, the answer only the agent's own
messages (never the assistant's). Questions that ask the same thing, by the same scoring as
curated answers, are grouped into one suggestion with a count. Conversations are read when
an owner lists the suggestions; each is claimed once (a thumbs-down first, its agent's
answer later when it is resolved), so two readers never count it twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from porch.curation import service
from porch.curation.index import CuratedIndex, split_vectors
from porch.curation.matching import Entry, WidgetAnswers
from porch.curation.schemas import ApproveIn, CuratedIn, CuratedPatch, SuggestionOut
from porch.embeddings.vectors import decode_many, dimension
from porch.errors import BadRequest, Conflict, NotFound
from porch.models import Conversation, Message, Suggestion, SuggestionSeen
from porch.models.base import utcnow
from porch.widgets import service as widgets

BATCH = 200


def to_out(row: Suggestion) -> SuggestionOut:
    return SuggestionOut(
        id=row.id,
        question=row.question,
        answer=row.answer,
        count=row.count,
        conversation_ids=[uuid.UUID(str(c)) for c in row.conversation_ids or []],
        reasons=list(row.reasons or []),
        status=row.status,
        curated_answer_id=row.curated_answer_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _signals(widget_id: uuid.UUID) -> list[ColumnElement[bool]]:
    m = Message
    down = exists().where(
        m.conversation_id == Conversation.id, m.role == "assistant", m.rating == "down"
    )
    by_agent = exists().where(m.conversation_id == Conversation.id, m.role == "agent")
    seen = SuggestionSeen
    return [
        Conversation.widget_id == widget_id,
        or_(down, and_(Conversation.status == "closed", by_agent)),
        or_(
            seen.stage.is_(None),
            and_(seen.stage == "feedback", Conversation.status == "closed"),
        ),
    ]


async def _claim(
    session: AsyncSession, widget_id: uuid.UUID, cid: uuid.UUID, stage: str | None, resolved: bool
) -> bool:
    """Take the conversation for this reader; False when another reader already has."""
    if stage is None:
        dialect = session.bind.dialect.name if session.bind else "sqlite"
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        claimed = await session.execute(
            insert(SuggestionSeen)
            .values(
                conversation_id=cid,
                widget_id=widget_id,
                stage="resolved" if resolved else "feedback",
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
            .returning(SuggestionSeen.conversation_id)
        )
        return claimed.first() is not None
    upgraded = await session.execute(
        update(SuggestionSeen)
        .where(SuggestionSeen.conversation_id == cid, SuggestionSeen.stage == "feedback")
        .values(stage="resolved")
    )
    return bool(getattr(upgraded, "rowcount", 0))


def _read(messages: Sequence[Message]) -> tuple[str | None, str, bool]:
    """The visitor's question, the agents' answer, and whether a reply was rated down."""
    down = next(
        (i for i, m in enumerate(messages) if m.role == "assistant" and m.rating == "down"), None
    )
    first_agent = next((i for i, m in enumerate(messages) if m.role == "agent"), None)
    pivot = down if down is not None else first_agent
    question = None
    if pivot is not None:
        question = next((m.content for m in reversed(messages[:pivot]) if m.role == "user"), None)
    after = pivot or 0
    answer = "\n\n".join(m.content.strip() for m in messages[after:] if m.role == "agent")
    return question, answer, down is not None


async def refresh(
    session: AsyncSession, index: CuratedIndex, widget_id: uuid.UUID, workspace_id: uuid.UUID
) -> int:
    """Read the conversations not yet read; the number turned into (part of) a suggestion."""
    rows = (
        await session.execute(
            select(Conversation.id, Conversation.status, SuggestionSeen.stage)
            .outerjoin(SuggestionSeen, SuggestionSeen.conversation_id == Conversation.id)
            .where(*_signals(widget_id))
            .order_by(Conversation.last_message_at)
            .limit(BATCH)
        )
    ).all()
    made = 0
    open_ = await _open(session, widget_id)
    for cid, status, stage in rows:
        messages = list(
            (
                await session.execute(
                    select(Message).where(Message.conversation_id == cid).order_by(Message.id)
                )
            ).scalars()
        )
        question, answer, down = _read(messages)
        resolved = status == "closed" and any(m.role == "agent" for m in messages)
        if not await _claim(session, widget_id, cid, stage, resolved) or not question:
            continue
        reasons = (["feedback"] if down else []) + (["resolved"] if resolved else [])
        await _add(session, index, open_, workspace_id, widget_id, cid, question, answer, reasons)
        made += 1
    await session.flush()
    return made


async def _open(session: AsyncSession, widget_id: uuid.UUID) -> list[Suggestion]:
    return list(
        (
            await session.execute(
                select(Suggestion)
                .where(Suggestion.widget_id == widget_id, Suggestion.status == "open")
                .order_by(Suggestion.created_at, Suggestion.id)
            )
        ).scalars()
    )


def _group_of(
    open_: list[Suggestion], question: str, vector: bytes | None, threshold: float
) -> Suggestion | None:
    """The open suggestion asking the same thing, scored like curated answers."""
    if not open_:
        return None
    entries = [
        Entry(s.id, s.question, s.answer, "verbatim", None, None, (s.question,)) for s in open_
    ]
    blobs = [s.embedding for s in open_]
    matrix = query = None
    if vector is not None and all(b is not None for b in blobs):
        dims = {dimension(b) for b in blobs if b is not None} | {dimension(vector)}
        if len(dims) == 1:
            dim = dims.pop()
            matrix = decode_many([b for b in blobs if b is not None], dim)
            query = decode_many([vector], dim)[0]
    ranked = WidgetAnswers(entries, matrix).rank(question, query, now=utcnow(), limit=1)
    if ranked and ranked[0].score >= threshold:
        return next(s for s in open_ if s.id == ranked[0].entry.id)
    return None


async def _add(
    session: AsyncSession,
    index: CuratedIndex,
    open_: list[Suggestion],
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    cid: uuid.UUID,
    question: str,
    answer: str,
    reasons: list[str],
) -> None:
    mine = [s for s in open_ if str(cid) in (s.conversation_ids or [])]
    if mine:
        # The same conversation, now resolved: its agent's answer completes the suggestion.
        target = mine[0]
        target.answer = target.answer or answer
        target.reasons = list(dict.fromkeys([*target.reasons, *reasons]))
        target.updated_at = utcnow()
        return
    stored = await index.vectors([question])
    parts = split_vectors(stored, 1)
    vector = parts[0] if parts else None
    group = _group_of(open_, question, vector, index.settings.curated_threshold)
    if group is not None:
        group.count += 1
        group.conversation_ids = [*group.conversation_ids, str(cid)]
        group.reasons = list(dict.fromkeys([*group.reasons, *reasons]))
        group.answer = group.answer or answer
        group.updated_at = utcnow()
        return
    now = utcnow()
    row = Suggestion(
        workspace_id=workspace_id,
        widget_id=widget_id,
        question=question.strip(),
        answer=answer,
        count=1,
        conversation_ids=[str(cid)],
        reasons=reasons,
        status="open",
        embedding=vector,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    open_.append(row)


async def list_open(
    session: AsyncSession,
    index: CuratedIndex,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    status: str = "open",
) -> list[Suggestion]:
    await widgets.get(session, workspace_id, widget_id)
    await refresh(session, index, widget_id, workspace_id)
    rows = await session.execute(
        select(Suggestion)
        .where(Suggestion.widget_id == widget_id, Suggestion.status == status)
        .order_by(Suggestion.count.desc(), Suggestion.updated_at.desc())
    )
    return list(rows.scalars())


async def get(session: AsyncSession, workspace_id: uuid.UUID, sid: uuid.UUID) -> Suggestion:
    row = await session.get(Suggestion, sid)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound("No such suggestion.", code="suggestion_not_found")
    return row


async def approve(
    session: AsyncSession,
    index: CuratedIndex,
    workspace_id: uuid.UUID,
    sid: uuid.UUID,
    body: ApproveIn,
    *,
    user_id: uuid.UUID | None,
) -> Suggestion:
    """A curated answer from the suggestion (edited, or merged into an existing one)."""
    row = await get(session, workspace_id, sid)
    if row.status != "open":
        raise Conflict(f"This suggestion is already {row.status}.", code="suggestion_closed")
    question = body.question or row.question
    answer = body.answer or row.answer
    if body.merge_into is not None:
        target = await service.get(session, workspace_id, body.merge_into)
        if target.widget_id != row.widget_id:
            raise NotFound("No such curated answer.", code="curated_answer_not_found")
        variants = [*target.variants, question]
        patch = CuratedPatch(variants=variants, **({"answer": body.answer} if body.answer else {}))
        curated = await service.update(
            session, index, workspace_id, target.id, patch, user_id=user_id
        )
        row.status = "merged"
    else:
        if not answer.strip():
            raise BadRequest(
                "No agent answered this yet: write the answer.", code="answer_required"
            )
        origin = "feedback" if "feedback" in (row.reasons or []) else "conversation"
        curated = await service.create(
            session,
            index,
            workspace_id,
            row.widget_id,
            CuratedIn(
                question=question, answer=answer, mode=body.mode, status="approved", origin=origin
            ),
            user_id=user_id,
        )
        row.status = "approved"
    row.curated_answer_id = curated.id
    row.updated_at = utcnow()
    await session.flush()
    return row


async def dismiss(session: AsyncSession, workspace_id: uuid.UUID, sid: uuid.UUID) -> Suggestion:
    row = await get(session, workspace_id, sid)
    row.status = "dismissed"
    row.updated_at = utcnow()
    await session.flush()
    return row
