"""The sources a reply lists: the passages it cites by [n], one entry per page."""

from __future__ import annotations

import re
from collections.abc import Sequence

from porch.providers.base import Passage

_CITATION = re.compile(r"\[(\d{1,2})\]")


def cited_sources(text: str, passages: Sequence[Passage]) -> list[dict[str, object]]:
    """The passages the reply cites, or the best few when it cites none."""
    cited = {int(n) for n in _CITATION.findall(text)}
    chosen = [p for p in passages if p.ref in cited] or passages[:3]
    # Several passages of one page are one source; `refs` names every [n] that points at it,
    # so the widget numbers markers by the sources it lists and the two always agree.
    seen: dict[tuple[str, str | None], list[int]] = {}
    out: list[dict[str, object]] = []
    for p in chosen:
        if (p.title, p.url) in seen:
            seen[(p.title, p.url)].append(p.ref)
            continue
        seen[(p.title, p.url)] = refs = [p.ref]
        snippet = p.text if len(p.text) <= 200 else p.text[:197].rsplit(" ", 1)[0] + "…"
        out.append(
            {
                "title": p.title,
                "url": p.url,
                "snippet": snippet,
                "chunk_id": p.chunk_id,
                "source_id": p.source_id,
                "refs": refs,
            }
        )
    return out
