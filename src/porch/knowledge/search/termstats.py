"""Which words of a question are worth a full-text search: the rare ones.

A word in a large share of the passages ("table", "query" in database docs) adds almost
nothing to a BM25 ranking (its idf is near zero) but makes the database score every
passage that contains it: at 100k passages, tens of milliseconds. So the keyword side
searches only for words under RARE_SHARE of the passages (document frequencies are
counted by the database and cached per process), plus identifiers as phrases.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

RARE_SHARE = 0.05
# Below this many passages every word counts as rare: small knowledge bases are cheap.
SMALL = 1000
MAX_WORDS = 8
TTL_SECONDS = 300.0

# (words, passages in all) -> passages containing each word
Counter = Callable[[list[str], int], Awaitable[dict[str, int]]]
Total = Callable[[], Awaitable[int]]


class TermStats:
    """A per-process cache of document frequencies, shared by all widgets (an estimate)."""

    def __init__(self) -> None:
        self._df: dict[str, tuple[int, float]] = {}
        self._total: tuple[int, float] = (0, 0.0)

    async def total(self, count: Total) -> int:
        value, at = self._total
        if time.monotonic() - at > TTL_SECONDS:
            value = await count()
            self._total = (value, time.monotonic())
        return value

    async def rare(self, words: Sequence[str], count: Counter, total: Total) -> list[str]:
        """The words to search for, rarest first; [] when every word is too common."""
        if not words:
            return []
        n = await self.total(total)
        if n <= SMALL:
            return list(words)[:MAX_WORDS]
        now = time.monotonic()
        missing = [w for w in words if now - self._df.get(w, (0, -TTL_SECONDS))[1] > TTL_SECONDS]
        if missing:
            if len(self._df) > 50_000:
                self._df.clear()
            for word, found in (await count(missing, n)).items():
                self._df[word] = (found, now)
        df = {w: self._df.get(w, (0, now))[0] for w in words}
        present = sorted((w for w in words if df[w] > 0), key=lambda w: df[w])
        limit = max(SMALL * RARE_SHARE, n * RARE_SHARE)
        rare = [w for w in present if df[w] <= limit][:MAX_WORDS]
        if not rare and present and df[present[0]] <= n * RARE_SHARE * 4:
            rare = present[:1]  # nothing rare: the least common word alone, if not too common
        return rare
