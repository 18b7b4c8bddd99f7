"""Split a document into passages: by headings first, then paragraphs, then by size."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# all-MiniLM-L6-v2 reads 256 tokens; documentation prose runs ~2.2 tokens a word.
CHUNK_WORDS = 110
# Neighbouring passages of a long section share this share of words, so a sentence cut at
# a boundary is whole in one of them.
OVERLAP = 0.1
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_ANCHOR = re.compile(r"\s*\{#([^}\s]{1,200})\}$")


@dataclass(frozen=True, slots=True)
class Piece:
    heading: str  # "Install > On Linux": the heading path the passage sits under
    text: str
    anchor: str = ""  # the section's id on its page ("on-linux"), for a link into the page


def _count_words(text: str) -> int:
    return len(text.split())


@lru_cache(maxsize=4)
def _chunker(size: int) -> Any:
    import semchunk  # 25 ms of start-up for a server that may never ingest

    return semchunk.chunkerify(_count_words, size)  # type: ignore[attr-defined]


def sections(text: str) -> list[tuple[str, str, str]]:
    """(heading path, body, anchor) for each Markdown section; text before any heading has
    path ''. A heading may end in a pandoc-style `{#anchor}` (see structure.py)."""
    path: list[tuple[int, str, str]] = []
    out: list[tuple[str, str, str]] = []
    body: list[str] = []

    def flush() -> None:
        joined = "\n".join(body).strip()
        if joined:
            anchor = next((a for _, _, a in reversed(path) if a), "")
            out.append((" > ".join(h for _, h, _ in path), joined, anchor))
        body.clear()

    in_fence = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            title = match.group(2)
            found = _ANCHOR.search(title)
            anchor = found.group(1) if found else ""
            title = title[: found.start()] if found else title
            path = [p for p in path if p[0] < level] + [(level, title, anchor)]
        else:
            body.append(line)
    flush()
    return out


def chunk(text: str, size: int = CHUNK_WORDS) -> list[Piece]:
    """Passages of at most `size` words, each knowing its heading path and anchor."""
    pieces: list[Piece] = []
    for heading, body, anchor in sections(text):
        if _count_words(body) <= size:
            pieces.append(Piece(heading, body, anchor))
            continue
        for part in _chunker(size)(body, overlap=OVERLAP):
            assert isinstance(part, str)
            if part.strip():
                pieces.append(Piece(heading, part.strip(), anchor))
    return pieces


def embedding_input(title: str, heading: str, text: str) -> str:
    """What gets embedded: the passage with its page title and section, which often carry
    the words a visitor uses ("Pricing > Refunds") when the body does not."""
    title, heading = title.strip(), heading.strip()
    if heading.startswith(title):
        title = ""  # the page's own top heading already says it
    context = " > ".join(part for part in (title, heading) if part)
    return f"{context}\n{text}" if context else text
