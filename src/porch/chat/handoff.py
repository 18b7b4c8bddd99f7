"""Human handoff: asking for a person, office hours, when the assistant stays quiet or offers one.

A conversation handed off is `waiting_for_agent` (nobody has it yet) or `agent` (a person
has it). The assistant stays silent in both until an agent releases it, or until the
widget's `timeout_minutes` pass without a person being active on it; then it answers again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from porch.conversations import repository as repo
from porch.errors import Conflict
from porch.ids import uuid7
from porch.models import Widget
from porch.models.base import utcnow
from porch.realtime import events as ev
from porch.realtime.events import Envelope
from porch.widgets.cache import WidgetConfig
from porch.widgets.schemas import Handoff, OfficeHours

HANDED_OFF = frozenset({"waiting_for_agent", "agent"})
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OFFER_TEXT = "I could not find an answer to that. Would you like to talk to a person?"
ASKED_TEXT = "Would you like me to bring in a person from the team?"
_ASKS_FOR_PERSON = re.compile(
    r"\b(human|real person|a person|someone real|agent|operator|representative|"
    r"talk to (?:someone|somebody|support|a person)|speak to (?:someone|somebody|a person)|"
    r"mensch|mitarbeiter)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Requested:
    status: str
    message: str
    online: bool
    reply_expected_at: datetime | None
    events: list[Envelope]


def enabled(widget: WidgetConfig, settings: Handoff) -> bool:
    return bool(widget.features.handoff) and settings.mode != "never"


def _clock(value: str) -> tuple[int, int]:
    hours, minutes = value.split(":")
    return int(hours), int(minutes)


def is_open(hours: OfficeHours | None, now: datetime) -> bool:
    if hours is None:
        return True
    local = now.astimezone(ZoneInfo(hours.timezone))
    if DAYS[local.weekday()] not in hours.days:
        return False
    return hours.start <= local.strftime("%H:%M") < hours.end


def next_open(hours: OfficeHours | None, now: datetime) -> datetime | None:
    """When people are next in (now if they are in); None when there are no office hours."""
    if hours is None or is_open(hours, now):
        return None
    zone = ZoneInfo(hours.timezone)
    local = now.astimezone(zone)
    h, m = _clock(hours.start)
    for ahead in range(8):
        day = (local + timedelta(days=ahead)).date()
        opens = datetime(day.year, day.month, day.day, h, m, tzinfo=zone)
        if DAYS[day.weekday()] in hours.days and opens > local:
            return opens
    return None


def offline_text(settings: Handoff, opens: datetime) -> str:
    when = (
        opens.strftime("%A %H:%M") + f" ({settings.office_hours.timezone})"
        if settings.office_hours
        else ""
    )
    template = settings.offline_message or (
        "Our team is away right now. Someone will reply here from {when}."
    )
    return template.replace("{when}", when)


def asks_for_person(text: str) -> bool:
    return bool(_ASKS_FOR_PERSON.search(text))


def system_message(ref: repo.ConversationRef, content: str) -> dict[str, Any]:
    return {
        "id": uuid7(),
        "conversation_id": ref.id,
        "workspace_id": ref.workspace_id,
        "widget_id": ref.widget_id,
        "role": "system",
        "content": content,
        "status": "complete",
        "sources": [],
    }


def message_json(values: dict[str, Any], created_at: datetime) -> dict[str, Any]:
    """A stored message as realtime events and webhooks carry it."""
    return {
        "id": values["id"],
        "role": values["role"],
        "content": values["content"],
        "status": values.get("status", "complete"),
        "sources": [
            {k: s.get(k) for k in ("title", "url", "snippet")} for s in values.get("sources") or []
        ],
        "author_name": values.get("author_name"),
        "created_at": created_at,
        # Counts per kind of what redaction removed before storing (never the values).
        **({"redactions": values["redactions"]} if values.get("redactions") else {}),
    }


async def request(
    conn: AsyncConnection,
    ref: repo.ConversationRef,
    widget: WidgetConfig,
    *,
    reason: str | None,
    now: datetime | None = None,
) -> Requested:
    """Move the conversation to `waiting_for_agent` and tell the visitor when to expect a reply.

    Asking again while waiting changes nothing and answers the same. The events are stored
    in the caller's transaction; the caller publishes them once it has committed.
    """
    settings = widget.handoff
    if not enabled(widget, settings):
        raise Conflict(
            "This widget does not hand conversations to people.", code="handoff_disabled"
        )
    if ref.status == "closed":
        raise Conflict("This conversation is closed.", code="conversation_closed")
    now = now or utcnow()
    opens = next_open(settings.office_hours, now)
    text = (
        offline_text(settings, opens)
        if opens is not None
        else "We have asked a team member to join. They will reply here."
    )
    if ref.status in HANDED_OFF:
        return Requested(ref.status, text, opens is None, opens, [])
    await conn.execute(
        update(repo.conversations)
        .where(repo.conversations.c.id == ref.id)
        .values(status="waiting_for_agent", handoff_requested_at=now, agent_active_at=now)
    )
    # One note in the conversation, for the team; the visitor is told `text` in the reply.
    note = "The visitor asked for a person." + (f" Reason: {reason}" if reason else "")
    values = system_message(ref, note)
    await repo.insert_message(conn, values, now=now)
    stored = [
        await ev.record(
            conn,
            ref.workspace_id,
            ref.id,
            ev.MESSAGE_CREATED,
            {"message": message_json(values, now)},
        )
    ]
    stored.append(
        await ev.record(
            conn,
            ref.workspace_id,
            ref.id,
            ev.HANDOFF_REQUESTED,
            {
                "status": "waiting_for_agent",
                "reason": reason,
                "online": opens is None,
                "reply_expected_at": opens,
                "widget_id": widget.id,
            },
        )
    )
    return Requested("waiting_for_agent", text, opens is None, opens, stored)


async def assistant_quiet(
    conn: AsyncConnection, ref: repo.ConversationRef
) -> tuple[bool, Envelope | None]:
    """Whether a person has the conversation, so the assistant must not answer.

    When the handoff timed out (no person active for `timeout_minutes`), the conversation
    goes back to `open` and the returned event says so; the assistant answers again.
    """
    if ref.status not in HANDED_OFF:
        return False, None
    row = (
        await conn.execute(
            select(repo.conversations.c.agent_active_at, Widget.handoff)
            .join(Widget, Widget.id == repo.conversations.c.widget_id)
            .where(repo.conversations.c.id == ref.id)
        )
    ).first()
    if row is None:
        return False, None
    active_at, raw = row
    settings = Handoff.model_validate(raw or {})
    now = utcnow()
    if active_at is not None and active_at.tzinfo is None:
        active_at = active_at.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    if active_at is None or now - active_at < timedelta(minutes=settings.timeout_minutes):
        return True, None
    done = await conn.execute(
        update(repo.conversations)
        .where(repo.conversations.c.id == ref.id, repo.conversations.c.status.in_(HANDED_OFF))
        .values(status="open")
    )
    if not done.rowcount:
        return True, None
    return False, await ev.record(
        conn,
        ref.workspace_id,
        ref.id,
        ev.CONVERSATION_UPDATED,
        {"status": "open", "reason": "handoff_timeout"},
    )


async def offer(
    conn: AsyncConnection,
    ref: repo.ConversationRef,
    widget: WidgetConfig,
    *,
    question: str,
    answered: bool,
) -> str | None:
    """The text of a handoff offer after this reply, or None (per the widget's mode)."""
    if answered and not asks_for_person(question):
        return None
    settings = widget.handoff
    if not enabled(widget, settings):
        return None
    if asks_for_person(question):
        return ASKED_TEXT
    if settings.mode != "when_unanswered_twice":
        return None
    m = repo.messages
    last_two = (
        (
            await conn.execute(
                select(m.c.unanswered)
                .where(
                    m.c.conversation_id == ref.id,
                    m.c.role == "assistant",
                    m.c.provider.is_not(None),
                )
                .order_by(m.c.id.desc())
                .limit(2)
            )
        )
        .scalars()
        .all()
    )
    return OFFER_TEXT if len(last_two) == 2 and all(last_two) else None
