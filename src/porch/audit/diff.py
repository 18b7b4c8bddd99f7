"""What an update changed, for the audit log: each field's old and new value, short and with
secrets masked, and only the fields whose value is not the same after the update.

A form that sends every field (the dashboard's settings form does) must not log seventeen
"changes" when one field moved."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MAX_CHARS = 80
MASK = "•••"
# A field whose name says it holds a credential is logged as changed, never by value; so is
# the system prompt, which owners use for internal instructions they do not publish.
SECRET_WORDS = ("secret", "password", "token", "api_key", "apikey", "key_encrypted", "prompt")


def is_secret(field: str) -> bool:
    name = field.lower()
    return any(word in name for word in SECRET_WORDS)


def shown(field: str, value: Any) -> str | None:
    """A value as the log shows it: None stays None, the rest a short string."""
    if value is None:
        return None
    if is_secret(field):
        return MASK
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[str | None]]:
    """{field: [old, new]} for every field of `after` whose value differs from `before`."""
    out: dict[str, list[str | None]] = {}
    for field in sorted(after):
        old, new = before.get(field), after[field]
        if _canonical(old) != _canonical(new):
            out[field] = [shown(field, old), shown(field, new)]
    return out


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
