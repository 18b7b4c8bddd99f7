"""The offline answerer: picks and cites the passages' best sentences, or says it doesn't know."""

from __future__ import annotations

from porch.providers.base import Grounding, Passage, TextDelta
from porch.providers.extractive import NO_ANSWER, ExtractiveModel, split_sentences

from .helpers import collect, make_request


def passage(ref: int, text: str, title: str = "Help") -> Passage:
    return Passage(
        ref=ref,
        chunk_id=f"c{ref}",
        source_id="s1",
        title=title,
        url=f"https://help.example/{ref}",
        text=text,
        score=1.0 / ref,
    )


ACCOUNT = passage(
    1,
    "Our office is in Lisbon. To reset your password, open Settings and choose Security. "
    "Passwords must be at least 12 characters long.",
)
SHIPPING = passage(
    2,
    "We ship to the US, Canada and the EU. Orders ship within 2 business days.\n"
    "- Shipping is free over $50.",
)
REFUNDS = passage(3, "Refunds are issued within 14 days of a return. Contact support to start one.")
PASSAGES = (ACCOUNT, SHIPPING, REFUNDS)


async def ask(question: str, passages: tuple[Passage, ...] = PASSAGES) -> tuple[bool, str]:
    reply = await collect(ExtractiveModel(), make_request(question, passages=passages))
    assert isinstance(reply.events[0], Grounding)
    return reply.events[0].answered, reply.text


async def test_picks_the_relevant_sentence_and_cites_it() -> None:
    answered, text = await ask("How can I reset my password?")

    assert answered
    assert text.startswith("To reset your password, open Settings and choose Security.")
    assert text.endswith("[1]")
    assert "Lisbon" not in text


async def test_cites_the_passage_each_sentence_came_from() -> None:
    answered, text = await ask("Do refunds and shipping cost anything?")

    assert answered
    assert "[2]" in text and "[3]" in text
    assert text.index("[2]") < text.index("[3]")  # the retriever's order


async def test_stemming_matches_word_forms() -> None:
    answered, text = await ask("when do orders get shipped")

    assert answered
    assert "Orders ship within 2 business days." in text
    assert text.endswith("[2]")


async def test_unrelated_question_is_not_answered() -> None:
    reply = await collect(
        ExtractiveModel(), make_request("What is the capital of France?", passages=PASSAGES)
    )

    assert reply.grounding == Grounding(answered=False)
    assert reply.text == NO_ANSWER == "I don't know that yet."
    assert reply.usage is not None


async def test_no_passages() -> None:
    assert await ask("How do I reset my password?", ()) == (False, NO_ANSWER)


async def test_a_question_of_stop_words_only() -> None:
    assert await ask("what is it?") == (False, NO_ANSWER)


async def test_streams_a_few_words_at_a_time_then_usage() -> None:
    reply = await collect(ExtractiveModel(), make_request("reset password", passages=PASSAGES))

    deltas = [e.text for e in reply.events if isinstance(e, TextDelta)]
    assert len(deltas) > 3
    assert all(1 <= len(d.split()) <= 3 for d in deltas)
    assert "".join(deltas) == reply.text
    assert reply.usage is not None
    assert reply.usage.completion_tokens == len(reply.text.split())
    assert reply.usage.prompt_tokens > 20


async def test_no_duplicates_and_at_most_about_80_words() -> None:
    sentence = "The warranty covers parts and labour for two years from the date of purchase."
    long = " ".join(["The warranty also covers"] + ["accidental damage"] * 50) + "."
    passages = (passage(1, f"{sentence} {long}"), passage(2, sentence), passage(3, sentence))

    answered, text = await ask("What does the warranty cover?", passages)

    assert answered
    assert text.count(sentence) == 1
    assert len(text.split()) <= 85


def test_split_sentences_handles_lists_and_headings() -> None:
    text = "# Billing\n- Invoices are monthly. You can pay by card.\n1. Open Billing\n\nDone!"

    assert split_sentences(text) == [
        "Billing",
        "Invoices are monthly.",
        "You can pay by card.",
        "Open Billing",
        "Done!",
    ]


def test_wrapped_lines_do_not_cut_sentences() -> None:
    from porch.providers.extractive import split_sentences

    text = (
        "# Billing\nThe Free plan has 3 sites. The Pro plan costs\n$12 per month and"
        " includes unlimited sites.\n\n## Lists\n- one item\n  wrapped\n- two"
    )
    assert split_sentences(text) == [
        "Billing",
        "The Free plan has 3 sites.",
        "The Pro plan costs $12 per month and includes unlimited sites.",
        "Lists",
        "one item wrapped",
        "two",
    ]
