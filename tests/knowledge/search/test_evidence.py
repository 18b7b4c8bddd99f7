"""Keyword evidence without a database: which of a question's words a passage covers."""

from __future__ import annotations

from porch.knowledge.search.decision import coverage, parse


def test_how_much_finds_a_passage_that_says_what_it_costs() -> None:
    # The demo's own suggested question: FAQs write "costs", not "price".
    question = parse("How much is the Pro plan?")
    assert coverage(question, "the pro plan costs $12 per month and includes 1 tb.") == 1.0
    assert coverage(question, "the pro plan includes unlimited sites.") < 1.0
