"""Which passages make the cut: pages before second passages."""

from __future__ import annotations

import uuid

from porch.knowledge.search.ranking import Candidate, diverse


def test_results_take_one_passage_per_page_before_any_second() -> None:
    source = uuid.uuid4()

    def cand(url: str | None, fused: float) -> Candidate:
        return Candidate(uuid.uuid4(), source, url, fused=fused)

    a1, a2, a3 = (cand(f"https://d.example/a#{i}", f) for i, f in ((1, 0.9), (2, 0.8), (3, 0.7)))
    b, c = cand("https://d.example/b", 0.6), cand("https://d.example/c#x", 0.5)
    faq1, faq2 = cand(None, 0.45), cand(None, 0.4)  # pasted text: each passage its own page
    ranked = [a1, a2, a3, b, c, faq1, faq2]

    assert diverse(ranked, 3, 2) == [a1, b, c]
    assert diverse(ranked, 5, 2) == [a1, b, c, faq1, faq2]
    # Fewer pages than k: second passages fill in, in rank order, never a third.
    assert diverse([a1, a2, a3, b], 5, 2) == [a1, a2, b]
