"""The offline answerer: quote the passages' sentences that best match the question, no model."""

from __future__ import annotations

import math
import re
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass

from porch.language import content_terms
from porch.providers.base import (
    CompletionRequest,
    Grounding,
    Passage,
    StreamEvent,
    TextDelta,
    Usage,
)

NO_ANSWER = "I don't know that yet."
MAX_WORDS = 80
MAX_SENTENCES = 3
# Share of the question's weighted content words a sentence must cover to be an answer.
MIN_COVERAGE = 0.3
# Further sentences must score at least this share of the best one.
RELATIVE_CUTOFF = 0.6
WORDS_PER_DELTA = 3

_WORD = re.compile(r"[a-z0-9]+")  # for telling repeated sentences apart
# A sentence ends at . ! or ? followed by space and a capital, digit, quote or bracket.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])")
_LINE_MARK = re.compile(r"^\s*(?:[-*•#>]+|\d+[.)])\s*")


@dataclass(slots=True)
class _Sentence:
    text: str
    passage: int  # position among the passages, best retrieved first
    position: int  # order inside its passage
    terms: frozenset[str]
    score: float = 0.0


def split_sentences(text: str) -> list[str]:
    """Sentences of the passage: list markers and headings' hashes dropped, and lines of a
    wrapped paragraph joined first, so a hard line break never cuts a sentence in two."""
    paragraphs: list[str] = []
    joinable = False  # whether the next plain line continues the last paragraph
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            joinable = False
            continue
        marker = _LINE_MARK.match(line)
        body = _LINE_MARK.sub("", line).strip()
        if marker is None and joinable and paragraphs:
            paragraphs[-1] += " " + line
        elif body:
            paragraphs.append(body)
        # A heading stands alone; list items and prose may wrap onto the next line.
        joinable = marker is None or not marker.group(0).lstrip().startswith("#")
    sentences: list[str] = []
    for paragraph in paragraphs:
        sentences.extend(s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip())
    return sentences


class ExtractiveModel:
    """Answers with the passages' own sentences, cited; says so when nothing matches."""

    provider = "extractive"
    model = "extractive"

    async def stream(self, request: CompletionRequest) -> AsyncGenerator[StreamEvent, None]:
        chosen = select(request.question, request.passages)
        text = compose(chosen, request.passages) if chosen else NO_ANSWER
        yield Grounding(answered=bool(chosen))
        words = text.split(" ")
        for i in range(0, len(words), WORDS_PER_DELTA):
            chunk = " ".join(words[i : i + WORDS_PER_DELTA])
            yield TextDelta(chunk if i + WORDS_PER_DELTA >= len(words) else chunk + " ")
        # Words stand in for tokens: there is no tokenizer and no bill.
        prompt = len(request.question.split()) + sum(len(p.text.split()) for p in request.passages)
        yield Usage(prompt_tokens=prompt, completion_tokens=len(words))


def select(question: str, passages: Sequence[Passage]) -> list[_Sentence]:
    """The best 1-3 sentences in reading order, or none when none covers enough of the question."""
    query = set(content_terms(question))
    if not query or not passages:
        return []
    sentences = [
        _Sentence(text, p, i, frozenset(content_terms(text)))
        for p, passage in enumerate(passages)
        for i, text in enumerate(split_sentences(passage.text))
    ]
    # idf across passages: a word every passage has tells them apart least. A question word
    # no passage has weighs like one they all have: often filler ("how long does it take").
    per_passage = _passage_terms(sentences, len(passages))
    n = len(passages)
    idf = {}
    for term in query:
        df = sum(1 for terms in per_passage if term in terms) or n
        idf[term] = math.log(1 + (n + 1) / (df + 0.5))
    total = sum(idf.values())
    for s in sentences:
        matched = sum(idf[t] for t in query & s.terms)
        # A small bonus for the retriever's order breaks ties toward its best passage.
        s.score = matched / total + (0.05 / (1 + s.passage) if matched else 0.0)
    ranked = sorted(sentences, key=lambda s: s.score, reverse=True)
    if not ranked or ranked[0].score < MIN_COVERAGE:
        return []
    best = ranked[0]
    chosen = [best]
    covered = query & best.terms
    words = len(best.text.split())
    seen = {_normal(best.text)}
    candidates = [s for s in ranked[1:] if s.score >= best.score * RELATIVE_CUTOFF]
    while candidates and len(chosen) < MAX_SENTENCES:
        # Prefer what answers another part of the question over more of the same.
        pick = max(
            candidates, key=lambda s: (sum(idf[t] for t in s.terms & (query - covered)), s.score)
        )
        candidates.remove(pick)
        size = len(pick.text.split())
        if _normal(pick.text) in seen or words + size > MAX_WORDS:
            continue
        chosen.append(pick)
        covered |= query & pick.terms
        seen.add(_normal(pick.text))
        words += size
    return sorted(chosen, key=lambda s: (s.passage, s.position))


def compose(chosen: Sequence[_Sentence], passages: Sequence[Passage]) -> str:
    """Join the sentences, each run from one passage followed by its [ref]."""
    parts: list[str] = []
    for i, s in enumerate(chosen):
        parts.append(_truncate(s.text, MAX_WORDS))
        last_of_run = i + 1 == len(chosen) or chosen[i + 1].passage != s.passage
        if last_of_run:
            parts.append(f"[{passages[s.passage].ref}]")
    return " ".join(parts)


def _passage_terms(sentences: Sequence[_Sentence], n: int) -> list[frozenset[str]]:
    terms: list[set[str]] = [set() for _ in range(n)]
    for s in sentences:
        terms[s.passage] |= s.terms
    return [frozenset(t) for t in terms]


def _normal(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _truncate(text: str, limit: int) -> str:
    words = text.split()
    return text if len(words) <= limit else " ".join(words[:limit]) + "…"
