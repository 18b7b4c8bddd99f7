"""How many SQL statements one visitor message costs, on both storage modes.

Every statement is a round trip to PostgreSQL (its CPU per message was twice a simpler
peer's); a widget with no knowledge should not pay for searching it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from tests.conftest import BOTH, OwnerClient, make_widget, start_conversation

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


def _record(app: FastAPI) -> list[str]:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split())[:160])

    # The autocommit engine is an options view of this one: its events arrive here too.
    event.listen(app.state.porch.engine.sync_engine, "before_cursor_execute", before)
    return seen


async def _statements_per_message(
    app: FastAPI, client: httpx.AsyncClient, widget_id: str, messages: int = 3
) -> list[list[str]]:
    visitor = await start_conversation(client, widget_id)
    url = f"/api/v1/conversations/{visitor.conversation_id}/messages"
    # The first message warms caches (widget config, rules, the search's corpus view).
    resp = await client.post(url, json={"content": "hello"}, headers=visitor.auth)
    assert resp.status_code == 200, resp.text
    seen = _record(app)
    per: list[list[str]] = []
    for n in range(messages):
        before = len(seen)
        resp = await client.post(url, json={"content": f"what about it {n}?"}, headers=visitor.auth)
        assert resp.status_code == 200, resp.text
        per.append(seen[before:])
    return per


async def test_a_widget_without_knowledge_searches_nothing(
    app: FastAPI, owner: OwnerClient, client: httpx.AsyncClient, backend: str
) -> None:
    w = await make_widget(owner)
    per = await _statements_per_message(app, client, w["id"])
    for statements in per:
        assert not any("chunks" in s or "context_rules" in s for s in statements), statements
        assert not any("FROM widgets" in s for s in statements), statements
    # PostgreSQL: the conversation, the question with its counters and event (one statement),
    # the history, the knowledge version, the reply with its counters and event. SQLite runs
    # each insert of the fused statements apart (no INSERT inside a CTE there).
    expected = 5 if backend == "postgres" else 9
    assert [len(s) for s in per] == [expected] * len(per), per


async def test_the_spur_route_costs_what_the_native_one_does(
    app: FastAPI, owner: OwnerClient, client: httpx.AsyncClient, backend: str
) -> None:
    """`POST /chat/message` (the compatibility route the peer benchmark drives) finds the
    default widget and the session from memory and a lookup, then the same writes."""
    await make_widget(owner)
    first = await client.post("/chat/message", json={"message": "hello"})
    assert first.status_code == 200, first.text
    session = first.json()["sessionId"]
    seen = _record(app)
    per = []
    for n in range(3):
        before = len(seen)
        resp = await client.post(
            "/chat/message", json={"message": f"and {n}?", "sessionId": session}
        )
        assert resp.status_code == 200, resp.text
        per.append(seen[before:])
    expected = 5 if backend == "postgres" else 9
    assert [len(s) for s in per] == [expected] * len(per), per
