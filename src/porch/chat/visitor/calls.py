"""The action calls a visitor's history shows: a chip per finished call, a card per open one.

Each message carries the calls made for it, in the shape of the stream's `action` events, so
a reload shows what the live stream showed, and a pending confirmation is still answerable.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from porch.actions import approval, confirm
from porch.actions.arguments import coerce, model_parameters
from porch.actions.definition import Definition
from porch.actions.events import ActionEvent
from porch.actions.runner import DEFAULT_TEXTS
from porch.chat.visitor.schemas import ActionOut


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive UTC datetimes.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(action: Definition | None, error_class: str) -> str:
    own = action.error_texts.get(error_class) if action is not None else None
    return own or DEFAULT_TEXTS.get(error_class, "")


def _pending(row: Row[Any], action: Definition | None, now: datetime) -> ActionOut:
    if action is None or action.version != row.action_version:
        # Answering would be refused (the action changed or was switched off): no card.
        return ActionOut(
            call_id=row.id, slug=row.slug, state="failed", text=_text(action, "config")
        )
    if row.expires_at is not None and _aware(row.expires_at) < now:
        return ActionOut(
            call_id=row.id,
            slug=row.slug,
            state="failed",
            text=_text(action, "expired"),
            confirmation="expired",
        )
    visible = model_parameters(action.as_mapping())
    shown = {k: coerce(visible[k], v) for k, v in dict(row.arguments or {}).items() if k in visible}
    if row.confirmation == "agent":
        # A team member answers it: the visitor sees that it waits, with no card to answer.
        text = row.visitor_text or approval.waiting_text(action, shown)
        return ActionOut(
            call_id=row.id, slug=row.slug, state="waiting", text=text, confirmation="agent"
        )
    return ActionOut(
        call_id=row.id,
        slug=row.slug,
        state="confirm",
        text=confirm.summary(action, shown),
        confirmation="pending",
        arguments=shown,
        arguments_hash=row.arguments_hash,
        expires_at=_aware(row.expires_at) if row.expires_at is not None else None,
    )


def by_message(
    rows: Sequence[Row[Any]], actions: Sequence[Definition], now: datetime
) -> dict[uuid.UUID, list[ActionOut]]:
    """The visitor's view of each message's calls, oldest first."""
    defined = {a.id: a for a in actions}
    out: dict[uuid.UUID, list[ActionOut]] = {}
    for row in rows:
        action = defined.get(row.action_id)
        if row.status == "confirm":
            item = _pending(row, action, now)
        elif row.status == "running":
            title = action.title if action is not None else row.slug
            item = ActionOut(call_id=row.id, slug=row.slug, state="started", text=f"{title}…")
        else:
            item = ActionOut(
                call_id=row.id,
                slug=row.slug,
                state="succeeded" if row.status == "succeeded" else "failed",
                text=row.visitor_text or _text(action, row.error_class or ""),
                confirmation=row.confirmation or "none",
            )
        out.setdefault(row.message_id, []).append(item)
    return out


def from_event(event: ActionEvent) -> ActionOut:
    """A streamed event in the history's shape (a JSON reply carries them on its message)."""
    pending = event.state == "confirm"
    return ActionOut(
        # A held call's event: the history shows it waiting, with no card.
        call_id=event.call_id,
        slug=event.slug,
        state=event.state,
        text=event.text,
        confirmation="pending" if pending else "agent" if event.state == "waiting" else "none",
        arguments=event.arguments if pending else None,
        arguments_hash=event.arguments_hash if pending else None,
        expires_at=event.expires_at if pending else None,
    )
