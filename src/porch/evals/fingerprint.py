"""What a widget's answers depend on, as one hash: its knowledge version, its curated
answers, its prompt and model settings, its actions. A run records it; the watch re-runs
on a change."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.knowledge.search.store import current_version
from porch.models import Action, CuratedAnswer, Widget
from porch.settings import Settings


def _hash(value: object) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def against(session: AsyncSession, settings: Settings, widget: Widget) -> dict[str, Any]:
    """The record of what a run ran against (and its fingerprint)."""
    curated = (
        await session.execute(
            select(func.count(CuratedAnswer.id), func.max(CuratedAnswer.updated_at)).where(
                CuratedAnswer.widget_id == widget.id
            )
        )
    ).one()
    # Every saved change to an action bumps its version; switching one on or off does not.
    actions = (
        await session.execute(
            select(Action.id, Action.version, Action.enabled)
            .where(Action.widget_id == widget.id)
            .order_by(Action.id)
        )
    ).all()
    provider = widget.provider or settings.llm_provider
    model = widget.model or (settings.llm_model if provider == settings.llm_provider else None)
    record: dict[str, Any] = {
        "knowledge_version": await current_version(session, widget.id),
        "curated_answers": int(curated[0] or 0),
        "curated_updated_at": curated[1].isoformat() if curated[1] else None,
        "provider": provider,
        "model": model,
        "prompt_hash": _hash(widget.system_prompt)[:16],
        "settings_hash": _hash(
            [widget.temperature, widget.max_tokens, widget.fallback_message, widget.handoff]
        )[:16],
        "actions_hash": _hash([[str(a), v, bool(e)] for a, v, e in actions])[:16],
    }
    record["fingerprint"] = _hash(record)
    return record


async def of_widget(session: AsyncSession, settings: Settings, widget_id: uuid.UUID) -> str | None:
    widget = await session.get(Widget, widget_id)
    return (
        None if widget is None else str((await against(session, settings, widget))["fingerprint"])
    )
