"""Scoring a visitor's question against a widget's curated answers, in memory.

First an exact match of the question or a variant after normalisation (score 1.0); then,
for each text, `SEMANTIC_WEIGHT` x the embedding's cosine plus `KEYWORD_WEIGHT` x a
keyword score (the idf-weighted Dice overlap of content words), the best text per answer.
Without an embedder the keyword score alone decides. Pure functions and arrays: no I/O.
"""

from __future__ import annotations

import math
import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from porch.embeddings.vectors import Matrix
from porch.knowledge.search.query import terms

SEMANTIC_WEIGHT = 0.75
KEYWORD_WEIGHT = 0.25
RANKED = 5
_NOT_WORD = re.compile(r"[^\w]+")


def normalise(text: str) -> str:
    """Case, accents' compatibility forms, punctuation and spacing removed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NOT_WORD.sub(" ", folded).split())


def _stem(word: str) -> str:
    # Enough to meet "passwords" with "password" and "resetting" with "reset".
    for suffix in ("ing", "es", "ed", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    return list(dict.fromkeys(_stem(w) for w in terms(text)))


@dataclass(frozen=True, slots=True)
class Entry:
    """An approved curated answer, as the matcher needs it."""

    id: uuid.UUID
    question: str
    answer: str
    mode: str
    threshold: float | None
    valid_until: datetime | None = None
    texts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Scored:
    entry: Entry
    score: float
    components: dict[str, float | str]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The ranking, the threshold that applied to the best, and what won."""

    ranked: list[Scored]
    threshold: float
    winner: Scored | None = None
    grounding: list[Scored] = field(default_factory=list)

    @property
    def verbatim(self) -> Scored | None:
        return self.winner if self.winner and self.winner.entry.mode == "verbatim" else None


NO_VERDICT = Verdict([], 0.0)


class WidgetAnswers:
    """One widget's approved curated answers, indexed for matching."""

    def __init__(self, entries: Sequence[Entry], matrix: Matrix | None) -> None:
        self.entries = list(entries)
        # Texts are laid out entry by entry, so a per-entry maximum is one reduceat.
        self._owner: list[int] = []
        self._exact: dict[str, int] = {}
        postings: dict[str, list[int]] = {}
        text_words: list[list[str]] = []
        for i, entry in enumerate(self.entries):
            for text in entry.texts:
                t = len(self._owner)
                self._owner.append(i)
                self._exact.setdefault(normalise(text), i)
                ws = words(text)
                text_words.append(ws)
                for w in ws:
                    postings.setdefault(w, []).append(t)
        n = max(1, len(self._owner))
        self._idf = {w: math.log(1.0 + n / len(ts)) for w, ts in postings.items()}
        self._unseen_idf = math.log(1.0 + n)
        self._postings = {w: np.asarray(ts, dtype=np.intp) for w, ts in postings.items()}
        self._text_weight = np.asarray(
            [sum(self._idf[w] for w in ws) for ws in text_words], dtype=np.float32
        )
        starts = [0]
        for i in range(1, len(self._owner)):
            if self._owner[i] != self._owner[i - 1]:
                starts.append(i)
        self._starts = np.asarray(starts if self._owner else [], dtype=np.intp)
        self._entry_at = [self._owner[s] for s in starts] if self._owner else []
        ends = [*starts[1:], len(self._owner)]
        self._range = (
            {self._owner[a]: (a, b) for a, b in zip(starts, ends, strict=True)}
            if self._owner
            else {}
        )
        usable = matrix is not None and matrix.shape[0] == len(self._owner) and matrix.shape[1]
        self.matrix = matrix if usable else None

    def __len__(self) -> int:
        return len(self.entries)

    def rank(
        self, question: str, query: Matrix | None, *, now: datetime, limit: int = RANKED
    ) -> list[Scored]:
        if not self._owner:
            return []
        keyword = self._keyword(question)
        semantic = None
        if query is not None and self.matrix is not None and query.shape[0] == self.matrix.shape[1]:
            semantic = self.matrix @ query
            combined = SEMANTIC_WEIGHT * semantic + KEYWORD_WEIGHT * keyword
        else:
            combined = keyword
        best = np.maximum.reduceat(combined, self._starts)
        exact = self._exact.get(normalise(question))
        order = np.argsort(-best)
        out: list[Scored] = []
        if exact is not None:
            out.append(self._scored(exact, 1.0, keyword, semantic, exact=True))
        for g in order:
            i = self._entry_at[int(g)]
            if len(out) >= limit:
                break
            entry = self.entries[i]
            if i == exact or (entry.valid_until is not None and entry.valid_until <= now):
                continue
            out.append(self._scored(i, float(best[g]), keyword, semantic))
        return [s for s in out if s.entry.valid_until is None or s.entry.valid_until > now]

    def _scored(
        self,
        i: int,
        score: float,
        keyword: np.ndarray,
        semantic: np.ndarray | None,
        *,
        exact: bool = False,
    ) -> Scored:
        a, b = self._range[i]
        kw = float(keyword[a:b].max())
        components: dict[str, float | str] = {
            "exact": 1.0 if exact else 0.0,
            "keyword": round(kw, 4),
        }
        if semantic is not None:
            components["semantic"] = round(float(semantic[a:b].max()), 4)
        return Scored(self.entries[i], round(min(1.0, score), 4), components)

    def _keyword(self, question: str) -> np.ndarray:
        scores = np.zeros(len(self._owner), dtype=np.float32)
        qs = words(question)
        if not qs:
            return scores
        q_weight = sum(self._idf.get(w, self._unseen_idf) for w in qs)
        for w in qs:
            found = self._postings.get(w)
            if found is not None:
                scores[found] += self._idf[w]
        denominator = q_weight + self._text_weight
        result: np.ndarray = np.divide(
            2.0 * scores, denominator, out=np.zeros_like(scores), where=denominator > 0
        )
        return result


def decide(ranked: list[Scored], default_threshold: float) -> Verdict:
    """The best answer at or above its threshold wins; grounding answers that qualify (up to
    two) are given to the model. A verbatim winner answers alone."""

    def threshold(s: Scored) -> float:
        return s.entry.threshold if s.entry.threshold is not None else default_threshold

    eligible = [s for s in ranked if s.score >= threshold(s)]
    top = threshold(ranked[0]) if ranked else default_threshold
    if not eligible:
        return Verdict(ranked, top)
    winner = eligible[0]
    if winner.entry.mode == "verbatim":
        return Verdict(ranked, threshold(winner), winner)
    grounding = [s for s in eligible if s.entry.mode == "grounding"][:2]
    return Verdict(ranked, threshold(winner), winner, grounding)
