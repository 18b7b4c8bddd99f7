"""Split a document into passages: by headings first, then paragraphs, then by size."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import semchunk

# all-MiniLM-L6-v2 reads 256 tokens; documentation prose runs ~2.2 tokens a word.
CHUNK_WORDS = 110
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True, slots=True)
class Piece:
    heading: str  # "Install > On Linux": the heading path the passage sits under
    text: str


def _count_words(text: str) -> int:
    return len(text.split())


@lru_cache(maxsize=4)
def _chunker(size: int) -> Any:
    return semchunk.chunkerify(_count_words, size)  # type: ignore[attr-defined]


def sections(text: str) -> list[tuple[str, str]]:
    """(heading path, body) for each Markdown section; text before any heading has path ''."""
    path: list[tuple[int, str]] = []
    out: list[tuple[str, str]] = []
    body: list[str] = []

    def flush() -> None:
        joined = "\n".join(body).strip()
        if joined:
            out.append((" > ".join(h for _, h in path), joined))
        body.clear()

    in_fence = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            path = [(lvl, h) for lvl, h in path if lvl < level] + [(level, match.group(2))]
        else:
            body.append(line)
    flush()
    return out


def chunk(text: str, size: int = CHUNK_WORDS) -> list[Piece]:
    """Passages of at most `size` words, each knowing its heading path."""
    pieces: list[Piece] = []
    for heading, body in sections(text):
        if _count_words(body) <= size:
            pieces.append(Piece(heading, body))
            continue
        for part in _chunker(size)(body):
            assert isinstance(part, str)
            if part.strip():
                pieces.append(Piece(heading, part.strip()))
    return pieces
