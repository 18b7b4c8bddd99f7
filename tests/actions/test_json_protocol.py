"""The JSON-reply protocol's parser and streaming reader, piece by piece (no server needed)."""

from __future__ import annotations

import json

import pytest

from porch.actions.json_mode import Proposal, Reply, ReplyReader, parse, prose


def read(pieces: list[str]) -> tuple[str, ReplyReader]:
    reader = ReplyReader()
    out = "".join(reader.feed(p) for p in pieces)
    reader.finish()
    return out, reader


def cut(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


TRICKY = 'Line one\nsaid "hi" \\ back \u00e9 \U0001f600 end'


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 1000])
@pytest.mark.parametrize("fenced", [False, True])
def test_a_reply_streams_decoded_however_it_is_cut(size: int, fenced: bool) -> None:
    body = json.dumps({"reply": TRICKY})  # escapes: \n, \", \\, \u00e9, a surrogate pair
    body = "  " + (f"```json\n{body}\n```" if fenced else body) + "\n"
    out, reader = read(cut(body, size))
    assert out == TRICKY
    assert reader.replying and reader.closed and reader.trailing_ok
    assert parse(body) == Reply(TRICKY)


def test_nothing_is_given_out_before_the_reply_key_is_known() -> None:
    reader = ReplyReader()
    assert [reader.feed(p) for p in ['{"re', 'ply"', ": ", '"Hel', 'lo"}']] == [
        "",
        "",
        "",
        "Hel",
        "lo",
    ]


@pytest.mark.parametrize(
    "text",
    [
        '{"action": "order_status", "arguments": {"order_id": "A1"}}',
        '{"arguments": {}, "reply": "x"}',
        "Sure, here you go",
        '[{"reply": "x"}]',
    ],
)
def test_anything_but_a_reply_opening_is_held_back_whole(text: str) -> None:
    out, reader = read(cut(text, 2))
    assert out == "" and not reader.replying and reader.raw == text


def test_text_after_a_reply_is_dropped_and_noticed() -> None:
    out, reader = read(['{"reply": "Hi."} and more'])
    assert out == "Hi." and reader.closed and not reader.trailing_ok
    out, reader = read(['{"reply": "cut sho'])
    assert out == "cut sho" and not reader.closed


def test_parse_is_strict_about_the_shape() -> None:
    assert parse('```\n{"action": "a", "arguments": {"x": 1}}\n```') == Proposal("a", '{"x":1}')
    assert parse('{"action": "a"}') == Proposal("a", "{}")
    assert parse('{"action": "a", "arguments": "x=1"}') == Proposal("a", '"x=1"')
    for broken in (
        'Here: {"reply": "x"}',
        '{"reply": "x"} thanks',
        '{"reply": 3}',
        '{"reply": "x", "mood": "glad"}',
        '{"action": "a", "arguments": {}, "reply": "x"}',
        "```python\n{}\n```",
        "",
    ):
        assert parse(broken) is None, broken


def test_prose_is_words_without_json() -> None:
    assert prose("Your order ships Monday.")
    assert not prose('{"reply": "x"')
    assert not prose('I will call {"action": "a"}')
    assert not prose("   ")
