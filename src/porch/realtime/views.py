"""What each audience sees of an event: visitors only what a person or the status says to them.

A visitor's socket gets agent messages (as `agent.message`, the shape chat.js reads),
status changes and agent typing; never other visitors' or the owner's view.
Agents get every event of their workspace as it is.
"""

from __future__ import annotations

from typing import Any, Literal

from porch.realtime import events as ev
from porch.realtime.events import Envelope

Audience = Literal["visitor", "agent"]
_STATUS_EVENTS = frozenset({ev.CONVERSATION_UPDATED, ev.HANDOFF_REQUESTED, ev.CONVERSATION_CLOSED})


def visitor_frame(env: Envelope) -> dict[str, Any] | None:
    data = env.data
    if env.type == ev.MESSAGE_CREATED:
        message = data.get("message") or {}
        role = message.get("role")
        if role == "agent":
            return {"type": "agent.message", "id": env.id, "message": message}
        # The visitor's own messages and the assistant's reach them on their SSE stream;
        # system notes are the inbox's (the widget shows the handoff reply itself).
        return None
    if env.type in _STATUS_EVENTS:
        return {
            "type": "status",
            "id": env.id,
            "status": data.get("status"),
            "agent_name": _public(data.get("agent_public_name")),
        }
    if env.type == ev.TYPING and data.get("who") == "agent":
        name = _public(data.get("public_name"))
        return {"type": "agent.typing", "id": None, "name": name, "on": data.get("on")}
    return None


def _public(name: object) -> str | None:
    """A person's name as a visitor may see it: their display name, never an address.

    `name`/`agent_name` (what agents see) may be an email's local part, so visitors get
    only the separate display-name fields, and even those not when they hold an address."""
    if not isinstance(name, str) or not name.strip() or "@" in name:
        return None
    return name


def agent_frame(env: Envelope) -> dict[str, Any]:
    return {
        "type": env.type,
        "id": env.id,
        "conversation_id": env.conversation_id,
        "at": env.at,
        **env.data,
    }


def render(env: Envelope, audience: Audience, cache: dict[str, str | None]) -> str | None:
    """The frame's text, encoded once per event and audience however many sockets get it."""
    try:
        return cache[audience]
    except KeyError:
        pass
    frame = visitor_frame(env) if audience == "visitor" else agent_frame(env)
    text = ev.dumps(frame).decode() if frame is not None else None
    cache[audience] = text
    return text
