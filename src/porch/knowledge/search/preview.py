"""How many of a widget's recent questions each threshold would have answered."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from porch.knowledge.search import tuning
from porch.knowledge.search.retriever import Retriever
from porch.knowledge.search.store import current_version
from porch.widgets import service as widgets

DEFAULT_VALUES = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)
# A threshold no cosine reaches: what stays is what keyword evidence alone keeps.
_NEVER = 1.01


@dataclass(frozen=True, slots=True)
class Point:
    threshold: float
    answered: int


@dataclass(frozen=True, slots=True)
class Preview:
    questions: int
    current: float | None
    source: str
    points: list[Point]


async def preview(
    session: AsyncSession,
    retriever: Retriever,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    values: Sequence[float] | None = None,
    limit: int = tuning.RECENT_QUESTIONS,
) -> Preview:
    """Each question is searched once; its candidates' similarities then answer for every
    value (a candidate is kept at t when its cosine reaches t or keyword evidence keeps it)."""
    await widgets.get(session, workspace_id, widget_id)
    questions = await tuning.recent_questions(session, widget_id, limit)
    version = await current_version(session, widget_id)
    points = sorted(set(values or DEFAULT_VALUES))
    best: list[tuple[bool, float | None]] = []  # (kept on evidence alone, best cosine)
    for question in questions:
        found = await retriever.search(
            session, widget_id, question, 5, version=version, min_similarity=_NEVER
        )
        cosines = [c.cosine for c in found.candidates if c.cosine is not None]
        best.append((bool(found), max(cosines, default=None)))
    applied = await retriever.threshold_for(session, widget_id, version)
    current, source = applied.value, applied.source
    return Preview(
        questions=len(questions),
        current=current,
        source=source,
        points=[
            Point(t, sum(1 for kept, cos in best if kept or (cos is not None and cos >= t)))
            for t in points
        ],
    )
