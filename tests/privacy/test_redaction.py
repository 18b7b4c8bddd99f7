"""The redaction engine alone: what each kind finds, what it leaves, how it counts."""

from __future__ import annotations

import pytest

from porch.privacy.redaction import (
    DEFAULT_RULES,
    STAGES,
    InvalidPattern,
    Rule,
    iban_valid,
    luhn,
    redact,
)

ALL = [Rule.of(k, STAGES) for k in ("email", "phone", "card", "iban")]


def test_luhn_and_iban_checks() -> None:
    assert luhn("4242424242424242") and not luhn("4242424242424241")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid(
        "GB82 WEST 1234 5698 7654 33"
    )


@pytest.mark.parametrize(
    ("text", "out", "counts"),
    [
        ("pay with 4242 4242 4242 4242 now", "pay with [card ****4242] now", {"card": 1}),
        ("amex 378282246310005", "amex [card ****0005]", {"card": 1}),
        ("not a card 4242424242424241", "not a card 4242424242424241", {}),
        ("mail jo.doe+x@mail.example.org", "mail [email]", {"email": 1}),
        ("ring +44 20 7946 0958 today", "ring [phone] today", {"phone": 1}),
        ("GB82 WEST 1234 5698 7654 32", "[iban]", {"iban": 1}),
        ("order 12345 shipped", "order 12345 shipped", {}),
    ],
)
def test_each_kind(text: str, out: str, counts: dict[str, int]) -> None:
    assert redact(text, ALL, "store") == (out, counts)


@pytest.mark.parametrize(
    # Ids whose hex groups hold a Luhn-valid digit run across their hyphens.
    "ident",
    ["b11379a2-0ff4-4f65-04d7-59889213147b", "9c7d498a-8f76-dc87-5642-74036988f668"],
)
def test_ids_are_not_card_numbers(ident: str) -> None:
    text = f'{{"action_id": "{ident}"}} card:4242424242424242'
    assert redact(text, DEFAULT_RULES, "webhook") == (
        f'{{"action_id": "{ident}"}} card:[card ****4242]',
        {"card": 1},
    )


def test_defaults_mask_cards_only_and_stages_are_separate() -> None:
    text = "4111 1111 1111 1111 and +44 20 7946 0958"
    assert redact(text, DEFAULT_RULES, "store") == (
        "[card ****1111] and +44 20 7946 0958",
        {"card": 1},
    )
    model_only = [Rule.of("email", ["model"])]
    assert redact("a@b.co", model_only, "store") == ("a@b.co", {})
    assert redact("a@b.co", model_only, "model") == ("[email]", {"email": 1})


def test_custom_patterns_count_and_refuse_bad_ones() -> None:
    rule = Rule.of("regex", ["store"], r"ORD-\d{6}")
    assert redact("ORD-123456 and ORD-654321", [rule], "store") == (
        "[redacted] and [redacted]",
        {"regex": 2},
    )
    with pytest.raises(InvalidPattern):
        Rule.of("regex", ["store"], "(unclosed")


def test_a_pattern_that_backtracks_forever_withholds_the_text() -> None:
    rule = Rule.of("regex", ["store"], r"(x+x+)+y")
    text, counts = redact("x" * 4000, [rule], "store")
    assert (text, counts) == ("[redacted]", {"regex": 1})
