"""The JSON-reply protocol: actions for models without function calling.

A widget with `features.tool_calling = "json"` sends its model no `tools`. The system prompt
ends with a catalogue of the enabled actions (one compact JSON line each: the slug, the
description, the model-sourced parameters with the schema keywords of tools.tools_for) and
the rule that every answer is exactly one JSON object, either

    {"action": "<slug>", "arguments": {...}}     porch runs it and sends back the result
    {"reply": "<text for the visitor>"}          the answer the visitor reads

A ```json fence and whitespace around the object are tolerated, nothing else. The loop that
drives the protocol (rounds, retry, fallback) is acting.ActingModel; this module holds the
prompt texts, the parser, and the reader that streams a reply's text as it arrives.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from porch.actions.definition import Definition
from porch.actions.tools import tools_for
from porch.providers.base import Turn

PROTOCOL = (
    "You can use these actions of the site, one per line as JSON "
    "(the arguments are a JSON Schema):\n{catalogue}\n\n"
    "Answer with exactly one JSON object and nothing else: no text before or after it.\n"
    'To use an action: {{"action": "<action>", "arguments": {{...}}}}. '
    "You then receive its result and answer again.\n"
    'To answer the visitor: {{"reply": "<your answer>"}}.'
)
CORRECTION = (
    "That answer did not follow the format. Answer with exactly one JSON object and nothing "
    'else: {"action": "<action>", "arguments": {...}} or {"reply": "<your answer>"}.'
)
AGAIN = "Answer with exactly one JSON object again."
LAST = 'No more actions in this turn: answer the visitor now, as {"reply": "<your answer>"}.'
# Shown when the model keeps breaking the protocol and the widget has no fallback text.
NO_ANSWER = "Sorry, I could not answer that just now."

_FENCE = re.compile(r"\A```(?:json)?[ \t]*\n?(.*?)\s*```\Z", re.DOTALL)
_REPLY_OPEN = re.compile(r'\A\s*(?:```(?:json)?\s*)?\{\s*"reply"\s*:\s*"')
# The opening of a reply object with its whitespace removed, fenced or not.
_OPENINGS = ('```json{"reply":"', '```{"reply":"', '{"reply":"')
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_TRAILER = re.compile(r"\A\s*\}\s*(?:```)?\s*\Z")


def system_prompt(system: str, actions: Sequence[Definition]) -> str:
    lines = []
    for tool in tools_for(actions):
        schema = {k: tool.parameters[k] for k in ("properties", "required") if k in tool.parameters}
        entry = {"action": tool.name, "description": tool.description, "arguments": schema}
        lines.append(orjson.dumps(entry).decode())
    protocol = PROTOCOL.format(catalogue="\n".join(lines))
    return f"{system}\n\n{protocol}" if system else protocol


def in_protocol(turns: Sequence[Turn]) -> tuple[Turn, ...]:
    """Earlier replies as the protocol's objects: a model shown its past answers as plain
    words tends to answer the next question the same way, outside the protocol."""
    return tuple(
        Turn("assistant", orjson.dumps({"reply": t.content}).decode())
        if t.role == "assistant"
        else t
        for t in turns
    )


@dataclass(frozen=True, slots=True)
class Reply:
    text: str


@dataclass(frozen=True, slots=True)
class Proposal:
    """An action the model asks for; `arguments` is JSON text, as a tool call carries it."""

    action: str
    arguments: str


def parse(text: str) -> Reply | Proposal | None:
    """One answer under the protocol, or None when it breaks it."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    if set(value) == {"reply"} and isinstance(value["reply"], str):
        return Reply(value["reply"])
    if isinstance(value.get("action"), str) and set(value) <= {"action", "arguments"}:
        # Arguments that are not an object are passed on as they are: tools.answer refuses
        # them with the same invalid_arguments record as a tool call's.
        return Proposal(value["action"], orjson.dumps(value.get("arguments", {})).decode())
    return None


def prose(text: str) -> bool:
    """Whether a broken answer reads as plain words the visitor may see (no JSON in it)."""
    body = text.strip()
    return bool(body) and not body.startswith(("{", "[", "`")) and '{"' not in body


class ReplyReader:
    """Reads one answer as it streams, and gives out a reply's text as it is decoded.

    Why stream rather than buffer the whole answer: a reply is most of what small models
    write, and a visitor waiting for the last token before seeing the first would lose what
    streaming is for. The raw JSON never shows: nothing is given out until the answer is
    known to open with `{"reply": "` (fenced or not); an action or anything else is kept
    whole for `parse`. A model that adds text after the closing quote has broken the
    protocol after the fact; the reply already shown stands and the rest is dropped.
    """

    def __init__(self) -> None:
        self.raw = ""
        self.replying = False
        self.closed = False  # the reply's closing quote has come
        self.given = False  # some of the reply's text was given out
        self.trailing_ok = True
        self._undecided = True
        self._pos = 0

    def feed(self, text: str) -> str:
        """The reply text that this piece completes (often empty)."""
        self.raw += text
        if self._undecided:
            compact = "".join(self.raw.split())
            opened = _REPLY_OPEN.match(self.raw)
            if opened is not None:
                self._undecided, self.replying, self._pos = False, True, opened.end()
            elif not any(o.startswith(compact) for o in _OPENINGS):
                self._undecided = False
        if not self.replying or self.closed:
            return ""
        return self._decode()

    def finish(self) -> None:
        if self.closed:
            self.trailing_ok = _TRAILER.match(self.raw[self._pos :]) is not None

    def _decode(self) -> str:
        """Decode the string from `_pos` up to the end or an escape cut in the middle."""
        raw, out, i = self.raw, [], self._pos
        while i < len(raw):
            char = raw[i]
            if char == '"':
                self.closed = True
                i += 1
                break
            if char != "\\":
                out.append(char)
                i += 1
                continue
            if i + 1 >= len(raw):
                break
            kind = raw[i + 1]
            if kind != "u":
                out.append(_ESCAPES.get(kind, kind))
                i += 2
                continue
            decoded, used = _unicode(raw, i)
            if used == 0:
                break  # the escape is not complete yet
            out.append(decoded)
            i += used
        self._pos = i
        self.given = self.given or bool(out)
        return "".join(out)


def _unicode(raw: str, i: int) -> tuple[str, int]:
    """A \\uXXXX escape at `i` (a surrogate pair as one), and its length; 0 if incomplete."""
    code = _hex(raw[i + 2 : i + 6])
    if code is None:
        return ("", 0) if len(raw) < i + 6 else ("\ufffd", 2)
    if 0xD800 <= code < 0xDC00:
        if len(raw) < i + 12:
            return "", 0
        low = _hex(raw[i + 8 : i + 12]) if raw[i + 6 : i + 8] == "\\u" else None
        if low is not None and 0xDC00 <= low < 0xE000:
            return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), 12
        return "\ufffd", 6
    if 0xDC00 <= code < 0xE000:
        return "\ufffd", 6
    return chr(code), 6


def _hex(text: str) -> int | None:
    return (
        int(text, 16)
        if len(text) == 4 and all(c in "0123456789abcdefABCDEF" for c in text)
        else None
    )
