"""Candidates of one search, and the pick of the k best across pages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from porch.knowledge.search.keyword import Hit


@dataclass
class Candidate:
    chunk_id: uuid.UUID
    source_id: uuid.UUID | None = None
    url: str | None = None
    cosine: float | None = None
    keyword: float = 0.0
    dense_rank: int | None = None
    keyword_rank: int | None = None
    hit: Hit | None = None
    fused: float = 0.0


def diverse(ranked: list[Candidate], k: int, per_page: int) -> list[Candidate]:
    """The best passage of each page first, then second passages (up to `per_page`)
    only if fewer than k pages qualify. A visitor's answer is often on the second- or
    third-best page: on bench/retrieval.py, one passage per page before any second one
    raised page hit@5 from 0.88 to 0.90 and MRR from 0.719 to 0.733."""
    chosen: list[Candidate] = []
    taken: set[uuid.UUID] = set()
    for limit in range(1, per_page + 1):
        counts: dict[tuple[uuid.UUID | None, str], int] = {}
        for cand in ranked:
            if len(chosen) >= k:
                break
            page = (
                cand.source_id,
                cand.url.split("#", 1)[0] if cand.url else cand.chunk_id.hex,
            )
            seen = counts.get(page, 0)
            counts[page] = seen + 1
            if seen < limit and cand.chunk_id not in taken:
                taken.add(cand.chunk_id)
                chosen.append(cand)
    # Second passages joined after every first one: put the picks back in rank order.
    return sorted(chosen, key=lambda c: c.fused, reverse=True)
