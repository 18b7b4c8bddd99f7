"""The usage counters' SQL: one atomic upsert per message and per reply, the same text on
PostgreSQL and SQLite (both speak `ON CONFLICT … DO UPDATE … RETURNING`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

PARAM_TYPES = (bindparam("wid", type_=Uuid()), bindparam("ws", type_=Uuid()))

# The widget's and the workspace's rows, for the day and the month, in the same order every
# time: concurrent statements lock shared rows in one order and never deadlock.
# The statements' text is shared with the chat path, which runs it inside one statement
# with the message's insert (chat/answer/writes.py).
COUNT_MESSAGE_SQL = (
    "INSERT INTO usage_counters (scope, scope_id, period, workspace_id, messages) VALUES "
    "('widget', :wid, :day, :ws, 1), ('widget', :wid, :month, :ws, 1), "
    "('workspace', :ws, :day, :ws, 1), ('workspace', :ws, :month, :ws, 1) "
    "ON CONFLICT (scope, scope_id, period) DO UPDATE "
    "SET messages = usage_counters.messages + 1 "
    "RETURNING scope, period, messages, prompt_tokens + completion_tokens AS tokens, cost_usd"
)
_COUNT_MESSAGE = text(COUNT_MESSAGE_SQL).bindparams(*PARAM_TYPES)

ADD_REPLY_SQL = (
    "INSERT INTO usage_counters "
    "(scope, scope_id, period, workspace_id, prompt_tokens, completion_tokens, cost_usd) VALUES "
    "('widget', :wid, :day, :ws, :pt, :ct, :cost), "
    "('widget', :wid, :month, :ws, :pt, :ct, :cost), "
    "('workspace', :ws, :day, :ws, :pt, :ct, :cost), "
    "('workspace', :ws, :month, :ws, :pt, :ct, :cost) "
    "ON CONFLICT (scope, scope_id, period) DO UPDATE SET "
    "prompt_tokens = usage_counters.prompt_tokens + excluded.prompt_tokens, "
    "completion_tokens = usage_counters.completion_tokens + excluded.completion_tokens, "
    "cost_usd = usage_counters.cost_usd + excluded.cost_usd "
    "RETURNING scope, period, messages, prompt_tokens + completion_tokens AS tokens, cost_usd"
)
_ADD_REPLY = text(ADD_REPLY_SQL).bindparams(*PARAM_TYPES)

_READ = text(
    "SELECT scope, period, messages, prompt_tokens, completion_tokens, cost_usd "
    "FROM usage_counters WHERE scope = :scope AND scope_id = :sid AND period IN (:day, :month)"
).bindparams(bindparam("sid", type_=Uuid()))


@dataclass(frozen=True, slots=True)
class Counts:
    messages: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


# (scope, "day" | "month") -> counts after the update
Totals = dict[tuple[str, str], Counts]


def params(
    widget_id: uuid.UUID, workspace_id: uuid.UUID, day: str, month: str
) -> dict[str, object]:
    return {
        "wid": widget_id,
        "ws": workspace_id,
        "day": day,
        "month": month,
    }


def totals_of(rows: list[tuple[str, str, int, int, float]], day: str) -> Totals:
    out: Totals = {}
    for scope, period, messages, tokens, cost in rows:
        # tokens are reported summed: prompt carries the total, which is all budgets need.
        out[(scope, "day" if period == day else "month")] = Counts(
            int(messages), int(tokens), 0, float(cost)
        )
    return out


async def count_message(
    conn: AsyncConnection, widget_id: uuid.UUID, workspace_id: uuid.UUID, day: str, month: str
) -> Totals:
    result = await conn.execute(_COUNT_MESSAGE, params(widget_id, workspace_id, day, month))
    return totals_of([tuple(r) for r in result.all()], day)


async def add_reply(
    conn: AsyncConnection,
    widget_id: uuid.UUID,
    workspace_id: uuid.UUID,
    day: str,
    month: str,
    *,
    prompt_tokens: int,
    completion_tokens: int,
    cost_usd: float,
) -> Totals:
    values = {
        **params(widget_id, workspace_id, day, month),
        "pt": prompt_tokens,
        "ct": completion_tokens,
        "cost": cost_usd,
    }
    result = await conn.execute(_ADD_REPLY, values)
    return totals_of([tuple(r) for r in result.all()], day)


async def read(
    conn: AsyncConnection, scope: str, scope_id: uuid.UUID, day: str, month: str
) -> dict[str, Counts]:
    """{"day": counts, "month": counts} for one widget or workspace; zeros where nothing yet."""
    result = await conn.execute(
        _READ, {"scope": scope, "sid": scope_id, "day": day, "month": month}
    )
    out = {"day": Counts(), "month": Counts()}
    for _, period, messages, pt, ct, cost in result.all():
        out["day" if period == day else "month"] = Counts(
            int(messages), int(pt), int(ct), float(cost)
        )
    return out


_READ_WIDGETS = (
    text(
        "SELECT scope_id, period, messages, prompt_tokens, completion_tokens, cost_usd "
        "FROM usage_counters WHERE workspace_id = :ws AND scope = 'widget' "
        "AND period IN (:day, :month)"
    )
    .bindparams(bindparam("ws", type_=Uuid()))
    .columns(scope_id=Uuid())
)


async def read_widgets(
    conn: AsyncConnection, workspace_id: uuid.UUID, day: str, month: str
) -> dict[uuid.UUID, dict[str, Counts]]:
    """Every widget of a workspace that has counters: {widget id: {"day": …, "month": …}}."""
    result = await conn.execute(_READ_WIDGETS, {"ws": workspace_id, "day": day, "month": month})
    out: dict[uuid.UUID, dict[str, Counts]] = {}
    for wid, period, messages, pt, ct, cost in result.all():
        entry = out.setdefault(wid, {"day": Counts(), "month": Counts()})
        entry["day" if period == day else "month"] = Counts(
            int(messages), int(pt), int(ct), float(cost)
        )
    return out
