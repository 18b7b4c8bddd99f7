"""Shared steps of the privacy tests: asking, reading the storage itself."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import VisitorSession


async def ask(client: httpx.AsyncClient, v: VisitorSession, content: str) -> dict[str, Any]:
    resp = await client.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": content},
        headers=v.auth,
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def stored(app: FastAPI, sql: str, **params: Any) -> list[Any]:
    async with app.state.porch.engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def every_table_text(app: FastAPI) -> str:
    """Every row of every table, as text: what the database holds, read past the API."""
    engine = app.state.porch.engine
    parts: list[str] = []
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            names = await conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
            for (name,) in names.all():
                rows = await conn.execute(text(f'SELECT t::text FROM "{name}" t'))
                parts.extend(r[0] for r in rows.all())
        else:
            names = await conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
            for (name,) in names.all():
                rows = await conn.execute(text(f'SELECT * FROM "{name}"'))
                parts.extend(repr(tuple(r)) for r in rows.all())
    return "\n".join(parts)
