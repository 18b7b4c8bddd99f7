"""One message's writes in one round trip: the row, its budget counters and its inbox event.

Every visitor message and every reply stores a message, bumps four usage counters and
records a `message.created` event. As three statements that was three round trips, each
parsed, planned and executed by PostgreSQL and wrapped by SQLAlchemy: with the history
read, about two thirds of the database work of a message (docs/performance.md). On
PostgreSQL they are one statement with data-modifying CTEs, executed atomically; SQLite has
no INSERT in a CTE, and in-process statements cost no round trip, so it runs them in turn.

The SQL of the counters is the counters module's own text, so the two paths cannot drift.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from porch.conversations import repository as repo
from porch.realtime import events as ev
from porch.realtime.events import Envelope
from porch.usage import counters
from porch.usage.budgets import periods
from porch.usage.counters import Totals

# Every column of `messages`, with the value a message gets when the caller does not say.
# Checked against the table at import: a new column must be added here, or the fused insert
# would leave it to a server default that the ORM's Python-side default was meant to set.
_MESSAGE_DEFAULTS: dict[str, Any] = {
    "status": "complete",
    "sources": [],
    "provider": None,
    "model": None,
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "cost_usd": 0.0,
    "latency_ms": None,
    "first_token_ms": None,
    "error_code": None,
    "unanswered": False,
    "rating": None,
    "feedback_comment": None,
    "author_name": None,
    "redactions": None,
}
_REQUIRED = ("id", "conversation_id", "workspace_id", "widget_id", "role", "content", "created_at")
_COLUMNS = tuple(c.name for c in repo.messages.c)
assert set(_COLUMNS) == set(_MESSAGE_DEFAULTS) | set(_REQUIRED), "messages columns changed"

# Column names come from the table definition, never from input.
_MESSAGE_SQL = (
    f"INSERT INTO messages ({', '.join(_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(':m_' + c for c in _COLUMNS)})"
)
_EVENT_SQL = (
    "INSERT INTO conversation_events (workspace_id, conversation_id, type, data, created_at) "
    "VALUES (:m_workspace_id, :m_conversation_id, :e_type, :e_data, :e_at) RETURNING id"
)
_TYPES = [bindparam("m_" + c.name, type_=c.type) for c in repo.messages.c] + [
    bindparam("e_data", type_=ev.events_table.c.data.type),
    bindparam("e_at", type_=ev.events_table.c.created_at.type),
    *counters.PARAM_TYPES,
]


def _fused(counted: str | None) -> Any:
    with_counters = f", c AS ({counted})" if counted else ""
    tail = (
        "SELECT e.id, c.* FROM e LEFT JOIN c ON true"
        if counted
        else "SELECT e.id, NULL, NULL, NULL, NULL, NULL FROM e"
    )
    sql = f"WITH m AS ({_MESSAGE_SQL}){with_counters}, e AS ({_EVENT_SQL}) {tail}"
    statement = text(sql)
    return statement.bindparams(*(b for b in _TYPES if b.key in statement._bindparams))


# Built once: the three shapes a message's writes take.
_QUESTION = _fused(counters.COUNT_MESSAGE_SQL)
_REPLY = _fused(counters.ADD_REPLY_SQL)
_ALONE = _fused(None)


@dataclass(frozen=True, slots=True)
class Stored:
    """What the writes return: the counters after them (None when none were counted) and
    the stored event, to publish."""

    totals: Totals | None
    event: Envelope


@dataclass(frozen=True, slots=True)
class Tokens:
    prompt: int
    completion: int
    cost_usd: float

    @property
    def none(self) -> bool:
        return self.prompt == 0 and self.completion == 0 and self.cost_usd == 0


async def store(
    conn: AsyncConnection,
    message: dict[str, Any],
    event: dict[str, Any],
    *,
    count: Tokens | None,
) -> Stored:
    """Insert `message` (created_at included), count it and record its `message.created`.

    `count`: None counts one visitor message; Tokens adds a reply's tokens and cost (nothing
    when all are zero). `conn` is an autocommit connection: on PostgreSQL the one statement
    is its own transaction; on SQLite each statement is durable when it returns."""
    values = {**_MESSAGE_DEFAULTS, **message}
    ws, widget_id, cid = values["workspace_id"], values["widget_id"], values["conversation_id"]
    day, month = periods(values["created_at"])
    data = ev.jsonable(event)
    at: datetime = values["created_at"]
    if conn.dialect.name != "postgresql":
        await repo.insert_message(conn, values, now=at)
        totals = await _count_apart(conn, widget_id, ws, day, month, count)
        env = await ev.record(conn, ws, cid, ev.MESSAGE_CREATED, data)
        return Stored(totals, env)
    params: dict[str, Any] = {"m_" + c: values[c] for c in _COLUMNS}
    params |= {"e_type": ev.MESSAGE_CREATED, "e_data": data, "e_at": at}
    params |= counters.params(widget_id, ws, day, month)
    if count is None:
        statement = _QUESTION
    elif count.none:
        statement = _ALONE
    else:
        statement = _REPLY
        params |= {"pt": count.prompt, "ct": count.completion, "cost": count.cost_usd}
    rows = (await conn.execute(statement, params)).all()
    event_id = int(rows[0][0])
    totals = (
        None
        if statement is _ALONE
        else counters.totals_of([(r[1], r[2], r[3], r[4], r[5]) for r in rows], day)
    )
    env = Envelope(event_id, ev.MESSAGE_CREATED, ws, cid, data, at)
    return Stored(totals, env)


async def _count_apart(
    conn: AsyncConnection,
    widget_id: uuid.UUID,
    ws: uuid.UUID,
    day: str,
    month: str,
    count: Tokens | None,
) -> Totals | None:
    if count is None:
        return await counters.count_message(conn, widget_id, ws, day, month)
    if count.none:
        return None
    return await counters.add_reply(
        conn,
        widget_id,
        ws,
        day,
        month,
        prompt_tokens=count.prompt,
        completion_tokens=count.completion,
        cost_usd=count.cost_usd,
    )
