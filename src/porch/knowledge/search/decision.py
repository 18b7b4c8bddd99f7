"""Whether a passage is good enough to answer from: the similarity threshold and keyword evidence.

Two errors are possible: refusing a question the knowledge base answers, and answering one it
does not. bench/refusal.py measures both on small FAQ knowledge bases and on the documentation
set; the constants here were chosen on its tuning half (docs/knowledge.md has the figures).

* The threshold grows with the corpus: the best of 20,000 passages is close to any question by
  chance, the only passage of a one-passage base is not, so a fixed cut either refuses the
  small base's paraphrases or answers the large base's near misses.
* Keyword evidence: the question's words, stemmed (as PostgreSQL's english configuration and
  SQLite's porter tokenizer stem them), found in the passage. A support vocabulary maps common
  paraphrases to the words FAQs use ("send it back" to return, "get in touch" to contact);
  it only ever adds words to look for, so a passage without them is unaffected.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

from porch.knowledge.search.query import identifiers, terms

# threshold(n) = BASE + SLOPE x ln(n), clamped to [BASE, CEILING]: 0.25 for one passage,
# 0.33 for five, 0.40 from twenty on (bench/refusal.py, tuning half).
BASE = 0.25
SLOPE = 0.05
CEILING = 0.40
# Keyword evidence answers without dense agreement when this share of the question's words
# (or their paraphrases) is in the passage and its similarity is at least EVIDENCE_FLOOR.
COVERAGE = 0.75
EVIDENCE_FLOOR = 0.1

# Paraphrase -> stems a FAQ would use for it. Written from the benchmark's tuning half and the
# phrasings support teams meet every day; phrases are matched on word boundaries.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "send back": ("return", "refund"),
    "send it back": ("return", "refund"),
    "bring back": ("return",),
    "give back": ("return",),
    "money back": ("refund",),
    "get in touch": ("contact",),
    "talk to": ("contact",),
    "speak to": ("contact",),
    "reach": ("contact",),
    "customer service": ("support", "contact"),
    "cost": ("price",),
    "costs": ("price",),
    "how much": ("price", "cost", "fee", "charg"),
    "covered": ("warranti", "guarante"),
    "broke": ("defect", "damag", "warranti"),
    "broken": ("defect", "damag"),
    "put together": ("assembl",),
    "build": ("assembl",),
    "tools": ("assembl",),
    "trace": ("track",),
}
# Words that ask about a topic without naming it ("your return policy", "payment options"):
# a passage that answers rarely repeats them, so they do not count against its coverage.
GENERIC = frozenset(
    {
        "policy",
        "policies",
        "info",
        "information",
        "option",
        "options",
        "detail",
        "details",
        "process",
        "procedure",
        "rule",
        "rules",
        "question",
        "questions",
        "way",
        "ways",
    }
)
_STEMMER = snowballstemmer.stemmer("english")
_PHRASES = [(re.compile(r"\b" + re.escape(p) + r"\b"), p, alts) for p, alts in SYNONYMS.items()]


@lru_cache(maxsize=8192)
def _stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def automatic_threshold(passages: int) -> float:
    """The similarity a passage needs in a knowledge base of `passages` passages."""
    if passages <= 1:
        return BASE
    return round(min(CEILING, BASE + SLOPE * math.log(passages)), 4)


@dataclass(frozen=True, slots=True)
class Question:
    """A question's words as evidence groups: each group is covered by any of its stems."""

    groups: tuple[frozenset[str], ...]
    identifiers: tuple[str, ...]


@lru_cache(maxsize=2048)
def parse(question: str) -> Question:
    lowered = question.lower()
    groups: list[frozenset[str]] = []
    used: set[str] = set()
    for pattern, phrase, alts in _PHRASES:
        if pattern.search(lowered):
            words = phrase.split()
            groups.append(frozenset([*alts, *(_stem(w) for w in words if len(words) == 1)]))
            used.update(words)
    for word in terms(question):
        if word not in used and word not in GENERIC and not word.isdigit():
            groups.append(frozenset([_stem(word)]))
    return Question(tuple(groups), tuple(identifiers(question)))


def _present(stem: str, text: str) -> bool:
    # A stem is a prefix of the words it stands for ("return" of "returns", "returned").
    return len(stem) >= 3 and re.search(r"\b" + re.escape(stem), text) is not None


def coverage(question: Question, text: str) -> float:
    """The share of the question's word groups found in `text` (lowercased by the caller)."""
    if not question.groups:
        return 0.0
    found = sum(1 for g in question.groups if any(_present(s, text) for s in g))
    return found / len(question.groups)


@dataclass(frozen=True, slots=True)
class Verdict:
    kept: bool
    reason: str
    coverage: float


def judge(question: Question, cosine: float | None, text: str, threshold: float) -> Verdict:
    """Keep or drop one candidate passage, and say why in words an owner can act on."""
    lowered = text.lower()
    if question.identifiers and any(i in lowered for i in question.identifiers):
        return Verdict(True, "names the identifier in the question", 1.0)
    share = coverage(question, lowered)
    if cosine is None:
        # No vector yet (a back-fill is running): its words are all there is to judge by.
        kept = share >= COVERAGE
        return Verdict(kept, "keyword match, no vector yet" if kept else "no vector yet", share)
    if cosine >= threshold:
        return Verdict(True, f"similarity {cosine:.2f} >= threshold {threshold:.2f}", share)
    if share >= COVERAGE and cosine >= EVIDENCE_FLOOR:
        return Verdict(True, f"{share:.0%} of the question's words are in it", share)
    return Verdict(
        False, f"similarity {cosine:.2f} < threshold {threshold:.2f}, {share:.0%} of words", share
    )
