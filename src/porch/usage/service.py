"""Budgets in the answer path: count each message and reply, say when one is spent, warn once.

Counters live in the database (one atomic upsert per message, one per reply), so budgets are
exact across any number of processes and survive restarts and a Redis outage. A spent
budget does not refuse the visitor: the pipeline answers with the widget's fallback message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from porch.models.base import utcnow
from porch.observability.metrics import Metrics
from porch.pubsub import PubSub
from porch.settings import Settings
from porch.usage import counters
from porch.usage.budgets import Budget, periods, widget_budgets, workspace_budgets
from porch.usage.counters import Counts, Totals
from porch.widgets import service as widgets
from porch.widgets.cache import WidgetConfig

log = structlog.get_logger("porch.usage")
EVENT_CHANNEL = "usage.budget"


@dataclass(frozen=True, slots=True)
class Spent:
    """The budget that stopped the model for this message."""

    scope: str
    name: str
    limit: float


class Counting(Protocol):
    """What counting against budgets uses; built once by the lifespan."""

    settings: Settings
    metrics: Metrics
    pubsub: PubSub


def budgets_for(state: Counting, widget: WidgetConfig) -> list[Budget]:
    return widget_budgets(state.settings, widget.limits) + workspace_budgets(state.settings)


def _used(budget: Budget, totals: Totals) -> float:
    counts = totals.get((budget.scope, budget.period), Counts())
    return float(getattr(counts, budget.metric))


async def counted_message(state: Counting, widget: WidgetConfig, totals: Totals) -> Spent | None:
    """After a visitor's message was counted (`totals`: the counters after it): announce the
    budgets it crossed; return the first spent one, if any."""
    spent: Spent | None = None
    for budget in budgets_for(state, widget):
        used = _used(budget, totals)
        if budget.metric == "messages":
            await _announce(state, widget, budget, budget.crossed(used - 1, used), used)
        if spent is None and budget.spent_before(used):
            assert budget.limit is not None
            spent = Spent(budget.scope, budget.name, budget.limit)
    return spent


async def counted_reply(
    state: Counting, widget: WidgetConfig, totals: Totals, *, tokens: int, cost_usd: float
) -> None:
    """After a reply's tokens and cost were added (`totals`: the counters after it): announce
    the token and cost budgets it crossed."""
    added = {"tokens": tokens, "cost_usd": cost_usd}
    for budget in budgets_for(state, widget):
        if budget.metric == "messages":
            continue
        used = _used(budget, totals)
        crossed = budget.crossed(used - added[budget.metric], used)
        await _announce(state, widget, budget, crossed, used)


async def _announce(
    state: Counting, widget: WidgetConfig, budget: Budget, kinds: list[str], used: float
) -> None:
    """A warning or exhaustion: a log line, a metric, and an event on pub/sub for listeners."""
    for kind in kinds:
        scope_id = widget.id if budget.scope == "widget" else widget.workspace_id
        fields = {
            "kind": kind,
            "scope": budget.scope,
            "scope_id": str(scope_id),
            "workspace_id": str(widget.workspace_id),
            "widget_id": str(widget.id),
            "budget": budget.name,
            "used": used,
            "limit": budget.limit,
        }
        log.warning(f"budget_{kind}", **fields)
        state.metrics.budget_events.labels(budget.scope, budget.name, kind).inc()
        try:
            await state.pubsub.publish(EVENT_CHANNEL, orjson.dumps(fields))
        except Exception:
            log.warning("budget_event_not_published", budget=budget.name)


async def read_usage(
    settings: Settings,
    conn: AsyncConnection,
    scope: str,
    scope_id: uuid.UUID,
    budgets: list[Budget],
) -> dict[str, Any]:
    """Counters and each budget's standing, as the usage API returns them."""
    day, month = periods(utcnow())
    counts = await counters.read(conn, scope, scope_id, day, month)
    return _standing(scope, scope_id, budgets, counts, day, month, settings)


def _standing(
    scope: str,
    scope_id: uuid.UUID,
    budgets: list[Budget],
    counts: dict[str, Counts],
    day: str,
    month: str,
    settings: Settings,
) -> dict[str, Any]:
    totals: Totals = {(scope, p): c for p, c in counts.items()}
    shown = []
    for budget in budgets:
        used = _used(budget, totals)
        shown.append(
            {
                "name": budget.name,
                "period": day if budget.period == "day" else month,
                "used": round(used, 8) if budget.metric == "cost_usd" else int(used),
                "limit": budget.limit,
                "ratio": None if not budget.limit else round(used / budget.limit, 4),
                "state": budget.state(used),
            }
        )
    return {
        "scope": scope,
        "id": scope_id,
        "day": day,
        "month": month,
        "warning_ratio": budgets[0].warning_ratio if budgets else settings.budget_warning_ratio,
        "today": counts_out(counts["day"]),
        "this_month": counts_out(counts["month"]),
        "budgets": shown,
    }


def counts_out(c: Counts) -> dict[str, Any]:
    return {
        "messages": c.messages,
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
        "cost_usd": round(c.cost_usd, 8),
    }


async def read_usage_for_page(
    session: AsyncSession, settings: Settings, widget_id: uuid.UUID, limits: Any
) -> dict[str, Any]:
    """The widget's usage for the dashboard page (the same figures as the usage API)."""
    raw = limits.model_dump() if hasattr(limits, "model_dump") else dict(limits or {})
    budgets = widget_budgets(settings, raw)
    conn = await session.connection()
    day, month = periods(utcnow())
    counts = await counters.read(conn, "widget", widget_id, day, month)
    return _standing("widget", widget_id, budgets, counts, day, month, settings)


async def workspace_usage(
    session: AsyncSession, settings: Settings, workspace_id: uuid.UUID
) -> dict[str, Any]:
    """The workspace's counters and budgets, and each of its widgets' counters."""
    conn = await session.connection()
    budgets = workspace_budgets(settings)
    body = await read_usage(settings, conn, "workspace", workspace_id, budgets)
    day, month = periods(utcnow())
    per_widget = await counters.read_widgets(conn, workspace_id, day, month)
    zero = {"day": Counts(), "month": Counts()}
    body["widgets"] = [
        {
            "widget_id": w.id,
            "name": w.name,
            "today": counts_out(per_widget.get(w.id, zero)["day"]),
            "this_month": counts_out(per_widget.get(w.id, zero)["month"]),
        }
        for w in await widgets.list_all(session, workspace_id)
    ]
    return body
