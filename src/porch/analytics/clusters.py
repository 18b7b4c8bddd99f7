"""Unanswered questions grouped by meaning: embeddings and a greedy cosine clustering.

Questions are taken most-asked first; each joins the first group whose founding question
it is at least `THRESHOLD` similar to, or founds a new group. Greedy and order-dependent,
but stable, explainable ("these were asked like this one") and fast for the few hundred
distinct questions a widget has in a range. Without an embedder, groups are exact texts.
"""

from __future__ import annotations

import numpy as np

from porch.analytics.schemas import UnansweredGroup, UnansweredQuestion
from porch.embeddings.base import Embedder

THRESHOLD = 0.72
MAX_QUESTIONS = 300
GROUPS_SHOWN = 30


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: np.ndarray = matrix / norms
    return result


def greedy(vectors: np.ndarray, threshold: float = THRESHOLD) -> list[list[int]]:
    """Indices grouped: each row joins the first group whose founder it is similar enough to."""
    unit = _unit(vectors.astype(np.float32))
    founders: list[int] = []
    groups: list[list[int]] = []
    for i in range(len(unit)):
        if founders:
            sims = unit[founders] @ unit[i]
            best = int(np.argmax(sims))
            if float(sims[best]) >= threshold:
                groups[best].append(i)
                continue
        founders.append(i)
        groups.append([i])
    return groups


async def group_questions(
    questions: list[UnansweredQuestion], embedder: Embedder | None
) -> list[UnansweredGroup]:
    items = sorted(questions, key=lambda q: (-q.count, q.question))[:MAX_QUESTIONS]
    if not items:
        return []
    if embedder is not None and embedder.enabled:
        vectors = np.asarray(await embedder.embed_passages([q.question for q in items]))
        index_groups = greedy(vectors) if vectors.size else [[i] for i in range(len(items))]
    else:
        index_groups = [[i] for i in range(len(items))]
    out: list[UnansweredGroup] = []
    for members in index_groups:
        qs = [items[i] for i in members]
        latest = max(qs, key=lambda q: q.last_asked_at)
        out.append(
            UnansweredGroup(
                question=qs[0].question,
                count=sum(q.count for q in qs),
                questions=[q.question for q in qs],
                last_asked_at=latest.last_asked_at,
                conversation_id=latest.conversation_id,
            )
        )
    out.sort(key=lambda g: (-g.count, -g.last_asked_at.timestamp()))
    return out[:GROUPS_SHOWN]
