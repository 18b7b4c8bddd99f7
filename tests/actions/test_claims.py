"""The claim guard alone: which sentences claim a change; streaming a sentence at a time."""

from __future__ import annotations

import pytest

from porch.actions.claims import HONEST, ClaimGuard, claims_done


@pytest.mark.parametrize(
    "sentence",
    [
        "I've cancelled your order.",
        "I\u2019ve cancelled it",
        "I have successfully cancelled order A123.",
        "We have refunded you.",
        "Your order has been cancelled.",
        "Your subscription is now paused.",
    ],
)
def test_claims(sentence: str) -> None:
    assert claims_done(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Order A123 is shipped, arriving Monday.",
        "I have not cancelled it.",
        "Once you confirm, the order will be cancelled.",
        "Please confirm: Cancel an order (order id: C789).",
    ],
)
def test_not_claims(sentence: str) -> None:
    assert not claims_done(sentence)


def test_streamed_claim_is_replaced_once_and_the_rest_kept() -> None:
    guard = ClaimGuard()
    parts = [
        "Sure",
        "! I",
        "'ve cancel",
        "led A123. It has been",
        " refunded too. Anything",
        " else?",
    ]
    shown = [guard.feed(p) for p in parts]
    assert "".join(shown) + guard.finish() == f"Sure! {HONEST} Anything else?"
    assert guard.blocked == 2
    assert shown[:2] == ["", "Sure! "]  # a sentence is shown once it is complete


def test_an_allowed_turn_passes_everything() -> None:
    guard = ClaimGuard(allowed=True)
    assert guard.feed("I've cancelled it. ") + guard.finish() == "I've cancelled it. "
