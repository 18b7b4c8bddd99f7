"""What a search returns: the passages kept, and how the decision saw every candidate."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from porch.knowledge.search.keyword import Hit


@dataclass(frozen=True, slots=True)
class Explained:
    """One candidate as the decision saw it: for the owner's search and the playground."""

    chunk_id: uuid.UUID
    title: str
    heading: str
    cosine: float | None
    keyword: float
    coverage: float
    score: float
    kept: bool
    reason: str


class Retrieval(list[Hit]):
    """Hits, best first, with the instructions the page's context rules add, and why."""

    instructions: tuple[str, ...] = ()
    best_similarity: float | None = None
    # The similarity threshold that applied (None: keywords only, no threshold) and the
    # corpus size it was derived from; `refused` says why nothing was kept.
    threshold: float | None = None
    threshold_source: str = "automatic"
    passages: int = 0
    candidates: tuple[Explained, ...] = ()
    refused: str | None = None


def refusal(explained: Sequence[Explained], limit: float | None) -> str:
    if not explained:
        return "no passage matches the question"
    best = explained[0]
    if best.cosine is None or limit is None:
        return "no passage has the question's words"
    return (
        f"the closest passage ({best.title or 'untitled'}) has similarity {best.cosine:.2f}, "
        f"under the threshold {limit:.2f}, and only {best.coverage:.0%} of the question's words"
    )
