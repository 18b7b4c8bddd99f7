"""English words: the one stop list and the one stemmer every part of porch uses.

The stemmer is Snowball English (PyStemmer, a C extension), the algorithm PostgreSQL's
`english` text search configuration uses and a successor of the Porter stemmer SQLite's
FTS5 `porter` tokenizer applies, so the offline answerer meets words the way the
keyword index does. The stop list serves the keyword query (questions' filler words are
not searched for) and the offline answerer (they do not count as matching words).
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

# Function words, and the filler of a visitor's question ("I want to know how…", "hi,
# thanks"), kept as prose so it reads (and diffs) like one.
STOP_WORDS = frozenset(
    """a about above after again all also am an and any are as at be because been before being
    below between both but by can could did do does doing done down during each either else
    ever few for from further get gets getting got had has have having he her here hers him his
    how i if in into is it its itself just let me might mine more most must my no nor not now
    of off on once only or other our ours out over own please same shall she should so some
    such than that the their theirs them then there these they this those through to too under
    until up upon us very was we were what when where which while who whom whose why will with
    would yes yet you your yours yourself want need know tell way thing things
    hi hello hey thanks thank""".split()  # noqa: SIM905
)

_english = Stemmer.Stemmer("english")
_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball English: "resetting", "resets" and "reset" all become "reset"."""
    return str(_english.stemWord(word))


def content_terms(text: str) -> list[str]:
    """Stems of the words that carry meaning: lowercased, stop words and letters dropped."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOP_WORDS and len(w) > 1]
