"""Curated answers of a widget: create, read, change, delete, test a match, improve a reply.

Takes the session and the workspace explicitly; another workspace's ids are "not found".
Every change tells each process's index (`CuratedIndex.announce`) once it is committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.curation.index import CuratedIndex, split_vectors, texts_of
from porch.curation.matching import normalise
from porch.curation.schemas import (
    CuratedIn,
    CuratedOut,
    CuratedPatch,
    ImproveIn,
    MatchOut,
    MatchResult,
)
from porch.db import after_commit
from porch.embeddings.vectors import decode_many, dimension
from porch.errors import BadRequest, Conflict, NotFound
from porch.models import CuratedAnswer, Message
from porch.models.base import utcnow
from porch.widgets import service as widgets

MAX_PER_WIDGET = 10_000
# Questions this close (cosine of their vectors) are the same question asked twice.
DUPLICATE_COSINE = 0.95


def to_out(row: CuratedAnswer) -> CuratedOut:
    return CuratedOut(
        id=row.id,
        widget_id=row.widget_id,
        question=row.question,
        variants=list(row.variants or []),
        answer=row.answer,
        mode=row.mode,
        threshold=row.threshold,
        status=row.status,
        locale=row.locale,
        tags=list(row.tags or []),
        valid_until=row.valid_until,
        origin=row.origin,
        origin_message_id=row.origin_message_id,
        created_by=row.created_by,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
        hit_count=row.hit_count,
        last_hit_at=row.last_hit_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def changed(session: AsyncSession, index: CuratedIndex, widget_id: uuid.UUID) -> None:
    async def tell() -> None:
        await index.announce(widget_id)

    after_commit(session, tell)


async def get(session: AsyncSession, workspace_id: uuid.UUID, qid: uuid.UUID) -> CuratedAnswer:
    row = await session.get(CuratedAnswer, qid)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound("No such curated answer.", code="curated_answer_not_found")
    return row


async def list_all(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    *,
    status: str | None = None,
    tag: str | None = None,
) -> list[CuratedAnswer]:
    await widgets.get(session, workspace_id, widget_id)
    query = select(CuratedAnswer).where(CuratedAnswer.widget_id == widget_id)
    if status is not None:
        query = query.where(CuratedAnswer.status == status)
    rows = list((await session.execute(query.order_by(CuratedAnswer.created_at))).scalars())
    return [r for r in rows if tag is None or tag in (r.tags or [])]


def _first_vector(row: CuratedAnswer, name: str) -> bytes | None:
    if row.embedder != name:
        return None
    parts = split_vectors(row.embedding, 1 + len(row.variants or []))
    return parts[0] if parts else None


async def _duplicate(
    session: AsyncSession,
    widget_id: uuid.UUID,
    question: str,
    answer: str,
    first: bytes | None,
    embedder: str,
    *,
    other_than: uuid.UUID | None = None,
) -> None:
    """409 when the widget already has this question (or one this close) with another answer."""
    rows = (
        await session.execute(
            select(CuratedAnswer).where(
                CuratedAnswer.widget_id == widget_id, CuratedAnswer.status != "archived"
            )
        )
    ).scalars()
    wanted, reply = normalise(question), normalise(answer)
    query = decode_many([first], dimension(first))[0] if first else None
    for row in rows:
        if row.id == other_than or normalise(row.answer) == reply:
            continue
        same = normalise(row.question) == wanted or wanted in {
            normalise(v) for v in row.variants or []
        }
        if not same and query is not None:
            theirs = _first_vector(row, embedder)
            if theirs is not None and dimension(theirs) == query.shape[0]:
                cosine = float(decode_many([theirs], dimension(theirs))[0] @ query)
                same = cosine >= DUPLICATE_COSINE
        if same:
            raise Conflict(
                "This widget already has a curated answer to this question, with another "
                "answer; change that one instead.",
                code="duplicate_question",
                fields={"existing_id": str(row.id)},
            )


async def _vectors_for(
    index: CuratedIndex, question: str, variants: Sequence[str]
) -> tuple[bytes | None, bytes | None]:
    """The stored vectors of the texts, and the question's own (for the duplicate check)."""
    texts = texts_of(question, list(variants))
    vectors = await index.vectors(texts)
    parts = split_vectors(vectors, len(texts))
    return vectors, parts[0] if parts else None


async def create(
    session: AsyncSession,
    index: CuratedIndex,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    body: CuratedIn,
    *,
    user_id: uuid.UUID | None,
    origin_message_id: uuid.UUID | None = None,
) -> CuratedAnswer:
    await widgets.get(session, workspace_id, widget_id)
    count = len(
        (
            await session.execute(
                select(CuratedAnswer.id).where(CuratedAnswer.widget_id == widget_id)
            )
        ).all()
    )
    if count >= MAX_PER_WIDGET:
        raise Conflict(
            f"A widget has at most {MAX_PER_WIDGET} curated answers.", code="too_many_curated"
        )
    vectors, first = await _vectors_for(index, body.question, _clean(body.variants))
    await _duplicate(session, widget_id, body.question, body.answer, first, index.embedder.name)
    now = utcnow()
    row = CuratedAnswer(
        workspace_id=workspace_id,
        widget_id=widget_id,
        question=body.question.strip(),
        variants=_clean(body.variants),
        answer=body.answer,
        mode=body.mode,
        threshold=body.threshold,
        status=body.status,
        locale=body.locale,
        tags=list(dict.fromkeys(body.tags)),
        valid_until=body.valid_until,
        origin=body.origin,
        origin_message_id=origin_message_id,
        created_by=user_id,
        approved_by=user_id if body.status == "approved" else None,
        approved_at=now if body.status == "approved" else None,
        embedding=vectors,
        embedder=index.embedder.name if vectors else None,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    changed(session, index, widget_id)
    return row


def _clean(variants: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in variants if v.strip()))


async def update(
    session: AsyncSession,
    index: CuratedIndex,
    workspace_id: uuid.UUID,
    qid: uuid.UUID,
    body: CuratedPatch,
    *,
    user_id: uuid.UUID | None,
) -> CuratedAnswer:
    row = await get(session, workspace_id, qid)
    given = body.model_dump(exclude_unset=True)
    if "question" in given or "variants" in given or "answer" in given:
        question = (body.question or row.question).strip()
        variants = _clean(body.variants) if body.variants is not None else list(row.variants)
        answer = body.answer or row.answer
        vectors, first = await _vectors_for(index, question, variants)
        await _duplicate(
            session, row.widget_id, question, answer, first, index.embedder.name, other_than=row.id
        )
        row.question, row.variants, row.answer = question, variants, answer
        row.embedding, row.embedder = vectors, index.embedder.name if vectors else None
    for name in ("mode", "threshold", "locale", "valid_until"):
        if name in given:
            setattr(row, name, given[name])
    if body.tags is not None:
        row.tags = list(dict.fromkeys(body.tags))
    if body.status is not None and body.status != row.status:
        row.status = body.status
        if body.status == "approved":
            row.approved_by, row.approved_at = user_id, utcnow()
    row.updated_at = utcnow()
    await session.flush()
    changed(session, index, row.widget_id)
    return row


async def delete(
    session: AsyncSession, index: CuratedIndex, workspace_id: uuid.UUID, qid: uuid.UUID
) -> None:
    row = await get(session, workspace_id, qid)
    await session.delete(row)
    await session.flush()
    changed(session, index, row.widget_id)


async def match(
    session: AsyncSession,
    index: CuratedIndex,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    query: str,
) -> MatchResult:
    """The ranking the assistant would see for `query`, each score with its components."""
    await widgets.get(session, workspace_id, widget_id)
    verdict = await index.verdict(session, widget_id, query)
    default = index.settings.curated_threshold
    return MatchResult(
        matches=[
            MatchOut(
                id=s.entry.id,
                question=s.entry.question,
                mode=s.entry.mode,
                score=s.score,
                threshold=s.entry.threshold if s.entry.threshold is not None else default,
                components=s.components,
            )
            for s in verdict.ranked
        ],
        threshold=verdict.threshold if verdict.ranked else default,
        winner_id=verdict.winner.entry.id if verdict.winner else None,
        grounding_ids=[s.entry.id for s in verdict.grounding],
    )


async def improve(
    session: AsyncSession,
    index: CuratedIndex,
    workspace_id: uuid.UUID,
    message_id: uuid.UUID,
    body: ImproveIn,
    *,
    user_id: uuid.UUID | None,
) -> CuratedAnswer:
    """A curated answer from an assistant message: the owner's question and corrected answer."""
    message = await session.get(Message, message_id)
    if message is None or message.workspace_id != workspace_id:
        raise NotFound("No such message.", code="message_not_found")
    if message.role != "assistant":
        raise BadRequest("Only an assistant's reply can be improved.", code="not_assistant_message")
    fields: dict[str, Any] = {
        "question": body.question,
        "variants": body.variants,
        "answer": body.answer,
        "mode": body.mode,
        "status": "approved" if body.approve else "draft",
        "origin": "conversation",
    }
    return await create(
        session,
        index,
        workspace_id,
        message.widget_id,
        CuratedIn(**fields),
        user_id=user_id,
        origin_message_id=message.id,
    )
