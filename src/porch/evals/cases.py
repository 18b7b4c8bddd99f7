"""Eval cases of a widget: by hand, from a conversation ("add to tests"), from curated
answers, imported as JSONL. Takes the session and the workspace explicitly."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.errors import BadRequest, NotFound
from porch.evals.schemas import CaseIn, CaseOut, CasePatch, FromConversation
from porch.models import Conversation, CuratedAnswer, EvalCase, Message
from porch.models.base import utcnow
from porch.widgets import service as widgets

MAX_CASES = 2000


def to_out(row: EvalCase) -> CaseOut:
    return CaseOut(
        id=row.id,
        widget_id=row.widget_id,
        name=row.name,
        turns=list(row.turns or []),
        assertions=list(row.assertions or []),
        tags=list(row.tags or []),
        origin=row.origin,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _dump(body: CaseIn | CasePatch, name: str) -> list[dict[str, Any]]:
    items = getattr(body, name) or []
    return [i.model_dump(mode="json", exclude_none=True) for i in items]


async def get(session: AsyncSession, workspace_id: uuid.UUID, eid: uuid.UUID) -> EvalCase:
    row = await session.get(EvalCase, eid)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound("No such eval case.", code="eval_case_not_found")
    return row


async def list_all(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID, tag: str | None = None
) -> list[EvalCase]:
    await widgets.get(session, workspace_id, widget_id)
    rows = (
        await session.execute(
            select(EvalCase)
            .where(EvalCase.widget_id == widget_id)
            .order_by(EvalCase.created_at, EvalCase.id)
        )
    ).scalars()
    return [r for r in rows if tag is None or tag in (r.tags or [])]


async def create(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    body: CaseIn,
    origin: str = "manual",
) -> EvalCase:
    await widgets.get(session, workspace_id, widget_id)
    count = len(
        (await session.execute(select(EvalCase.id).where(EvalCase.widget_id == widget_id))).all()
    )
    if count >= MAX_CASES:
        raise BadRequest(f"A widget has at most {MAX_CASES} eval cases.", code="too_many_cases")
    now = utcnow()
    row = EvalCase(
        workspace_id=workspace_id,
        widget_id=widget_id,
        name=body.name,
        turns=_dump(body, "turns"),
        assertions=_dump(body, "assertions"),
        tags=list(dict.fromkeys(body.tags)),
        origin=origin,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def update(
    session: AsyncSession, workspace_id: uuid.UUID, eid: uuid.UUID, body: CasePatch
) -> EvalCase:
    row = await get(session, workspace_id, eid)
    if body.name is not None:
        row.name = body.name
    if body.turns is not None:
        row.turns = _dump(body, "turns")
    if body.assertions is not None:
        row.assertions = _dump(body, "assertions")
    if body.tags is not None:
        row.tags = list(dict.fromkeys(body.tags))
    row.updated_at = utcnow()
    await session.flush()
    return row


async def delete(session: AsyncSession, workspace_id: uuid.UUID, eid: uuid.UUID) -> None:
    await session.delete(await get(session, workspace_id, eid))
    await session.flush()


async def from_conversation(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    conversation_id: uuid.UUID,
    body: FromConversation,
) -> EvalCase:
    """The conversation's visitor turns; asserting that the last reply cites what it cited
    (or, when it cited nothing, that it still does not know)."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.workspace_id != workspace_id:
        raise NotFound("No such conversation.", code="conversation_not_found")
    widget_id = conversation.widget_id
    messages = list(
        (
            await session.execute(
                select(Message)
                .where(Message.conversation_id == conversation.id)
                .order_by(Message.id)
            )
        ).scalars()
    )
    turns = [{"content": m.content} for m in messages if m.role == "user"][:20]
    if not turns:
        raise BadRequest("The conversation has no visitor message.", code="empty_conversation")
    last = next((m for m in reversed(messages) if m.role == "assistant"), None)
    assertions: list[dict[str, Any]] = []
    for source in (last.sources or [])[:3] if last is not None else []:
        if source.get("source_id"):
            assertions.append({"type": "cites", "source_id": str(source["source_id"])})
    if not assertions:
        assertions.append({"type": "refuses"})
    name = body.name or turns[-1]["content"][:200]
    case = CaseIn.model_validate(
        {"name": name, "turns": turns, "assertions": assertions, "tags": body.tags}
    )
    return await create(session, workspace_id, widget_id, case, origin="conversation")


async def from_curated(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID
) -> list[EvalCase]:
    """A case per approved curated answer (and each variant asked as a turn of its own case)
    not yet covered: the question must get that curated answer."""
    existing = await list_all(session, workspace_id, widget_id)
    covered = {
        str(a.get("curated_answer_id"))
        for c in existing
        for a in c.assertions or []
        if a.get("type") == "curated"
    }
    rows = (
        await session.execute(
            select(CuratedAnswer)
            .where(CuratedAnswer.widget_id == widget_id, CuratedAnswer.status == "approved")
            .order_by(CuratedAnswer.created_at, CuratedAnswer.id)
        )
    ).scalars()
    made: list[EvalCase] = []
    for qa in rows:
        if str(qa.id) in covered:
            continue
        case = CaseIn.model_validate(
            {
                "name": qa.question[:200],
                "turns": [{"content": qa.question[:4000]}],
                "assertions": [{"type": "curated", "curated_answer_id": str(qa.id)}],
                "tags": ["curated"],
            }
        )
        made.append(await create(session, workspace_id, widget_id, case, origin="curated"))
    return made


async def import_jsonl(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID, raw: bytes
) -> list[EvalCase]:
    """One case per line, all checked before any is stored."""
    await widgets.get(session, workspace_id, widget_id)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("The file is not UTF-8 text.", code="invalid_import") from None
    parsed: list[CaseIn] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            parsed.append(CaseIn.model_validate(orjson.loads(line)))
        except orjson.JSONDecodeError:
            raise BadRequest(f"Line {number} is not JSON.", code="invalid_import") from None
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err.get("loc", ()))
            raise BadRequest(
                f"Line {number}: {where}: {err.get('msg')}", code="invalid_import"
            ) from None
    if not parsed:
        raise BadRequest("The file holds no eval cases.", code="invalid_import")
    return [await create(session, workspace_id, widget_id, c, origin="import") for c in parsed]
