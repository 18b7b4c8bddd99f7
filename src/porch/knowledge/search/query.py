"""Turn a visitor's question into search terms."""

from __future__ import annotations

import re
from dataclasses import dataclass

from porch.language import STOP_WORDS

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 24


def terms(question: str) -> list[str]:
    """Distinct lowercase content words, in order, capped so a huge question stays cheap."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(question.lower()):
        for part in word.split("_"):
            if part not in STOP_WORDS and (len(part) > 1 or part.isdigit()):
                seen.setdefault(part, None)
        if len(seen) >= MAX_TERMS:
            break
    return list(seen)[:MAX_TERMS]


@dataclass(frozen=True, slots=True)
class Terms:
    """Words to match on their own, and identifiers (max_connections) to match as phrases."""

    words: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]

    def __bool__(self) -> bool:
        return bool(self.words or self.phrases)


def query_terms(question: str) -> Terms:
    """Search terms: snake_case identifiers also become phrases, so they rank exact uses first."""
    phrases: dict[tuple[str, ...], None] = {}
    for word in _WORD.findall(question.lower()):
        parts = tuple(p for p in word.split("_") if p)
        if len(parts) > 1:
            phrases.setdefault(parts[:6], None)
    return Terms(tuple(terms(question)), tuple(list(phrases)[:6]))


_IDENTIFIER = re.compile(r"`([^`]{2,80})`|\b(\w*\d\w*|\w+_\w+|[a-z]+[A-Z]\w*)\b")


def identifiers(question: str) -> list[str]:
    """Exact names a visitor pasted: error codes (42P01), settings (shared_buffers),
    camelCase names, anything in backticks. Lowercased, in order, distinct."""
    found: dict[str, None] = {}
    for match in _IDENTIFIER.finditer(question):
        token = (match.group(1) or match.group(2) or "").strip().lower()
        if token.isdigit() and len(token) < 4:
            continue  # "3 days", "top 10": numbers, not codes
        if len(token) >= 3:
            found.setdefault(token, None)
    return list(found)[:6]


def exact_terms(names: list[str]) -> Terms:
    """Search terms for identifiers, matched as written: `shared_buffers` as the phrase
    "shared buffers" (how full-text indexes split it), never as two loose words."""
    words: dict[str, None] = {}
    phrases: dict[tuple[str, ...], None] = {}
    for name in names:
        parts = tuple(p for p in re.split(r"[\W_]+", name.lower()) if p)
        if len(parts) == 1:
            words.setdefault(parts[0], None)
        elif parts:
            phrases.setdefault(parts[:6], None)
    return Terms(tuple(words)[:MAX_TERMS], tuple(phrases)[:6])
