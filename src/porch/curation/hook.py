"""What the answer pipeline asks of curation: does a curated answer apply to this question?

A verbatim winner answers alone (`VerbatimModel`: its text as is, no model call, citing the
curated answer); grounding winners go to the model ahead of the retrieved passages, titled
as approved answers. Each match is recorded for the message with its score's components.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import insert, update

from porch.curation.index import CuratedIndex
from porch.curation.matching import NO_VERDICT, Scored, Verdict
from porch.ids import uuid7
from porch.knowledge.search.keyword import Executor
from porch.models import CuratedAnswer, CuratedHit
from porch.models.base import utcnow
from porch.providers.base import (
    CompletionRequest,
    Grounding,
    Passage,
    StreamEvent,
    TextDelta,
    Usage,
)

PROVIDER = "curated"
APPROVED = "Approved answer"


def passage_of(s: Scored, ref: int) -> Passage:
    return Passage(
        ref=ref,
        chunk_id=f"curated:{s.entry.id}",
        source_id=f"curated:{s.entry.id}",
        title=f"{APPROVED}: {s.entry.question}",
        url=None,
        text=s.entry.answer,
        score=s.score,
    )


class VerbatimModel:
    """Streams a curated answer exactly as the owner wrote it; no vendor is called."""

    def __init__(self, text: str) -> None:
        self._text = text

    @property
    def provider(self) -> str:
        return PROVIDER

    @property
    def model(self) -> str:
        return PROVIDER

    async def stream(self, request: CompletionRequest) -> AsyncGenerator[StreamEvent, None]:
        yield Grounding(answered=True)
        yield TextDelta(self._text)
        yield Usage(0, 0)


@dataclass(frozen=True, slots=True)
class Curated:
    verdict: Verdict = NO_VERDICT

    @property
    def verbatim(self) -> bool:
        return self.verdict.verbatim is not None

    def model(self) -> VerbatimModel | None:
        winner = self.verdict.verbatim
        return VerbatimModel(winner.entry.answer) if winner is not None else None

    def ahead(self, passages: Sequence[Passage]) -> list[Passage]:
        """The curated passages first (numbered from 1), then the retrieved ones after them."""
        chosen = [self.verdict.verbatim] if self.verdict.verbatim else self.verdict.grounding
        first = [passage_of(s, i) for i, s in enumerate(chosen, start=1)]
        return first + [replace(p, ref=p.ref + len(first)) for p in passages]

    @property
    def applied(self) -> list[Scored]:
        return [self.verdict.verbatim] if self.verdict.verbatim else list(self.verdict.grounding)


async def lookup(
    index: CuratedIndex,
    conn: Executor,
    *,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    question: str,
    message_id: uuid.UUID | None,
) -> Curated:
    """Match the question; with a message id, record what applied and count its hits."""
    verdict = await index.verdict(conn, widget_id, question)
    found = Curated(verdict)
    if message_id is not None and found.applied:
        await record(conn, found, workspace_id, widget_id, message_id)
    return found


async def record(
    conn: Executor,
    found: Curated,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    message_id: uuid.UUID,
) -> None:
    now = utcnow()
    rows = [
        {
            "id": uuid7(),
            "workspace_id": workspace_id,
            "widget_id": widget_id,
            "curated_answer_id": s.entry.id,
            "message_id": message_id,
            "mode": s.entry.mode,
            "score": s.score,
            "components": dict(s.components),
            "created_at": now,
        }
        for s in found.applied
    ]
    await conn.execute(insert(CuratedHit), rows)
    ids = [s.entry.id for s in found.applied]
    await conn.execute(
        update(CuratedAnswer)
        .where(CuratedAnswer.id.in_(ids))
        .values(
            hit_count=CuratedAnswer.hit_count + 1,
            last_hit_at=now,
            # A hit is not a change: the eval watch reads updated_at.
            updated_at=CuratedAnswer.updated_at,
        )
    )
