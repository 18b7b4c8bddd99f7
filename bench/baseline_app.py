"""The baseline the chat benchmark compares porch against: bare Starlette, one INSERT per request.

Run as `uvicorn bench.baseline_app:app`; PORCH_BENCH_DSN names the PostgreSQL database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

CONFIG = orjson.dumps(
    {
        "widget_id": str(uuid.uuid4()),
        "title": "Help",
        "subtitle": "",
        "greeting": "Hi",
        "theme": {"primary_color": "#2563eb"},
        "position": "bottom-right",
        "suggested_questions": [],
        "features": {"sources": True, "feedback": True, "handoff": False, "voice": False},
    }
)
pool: Any = None


@asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(os.environ["PORCH_BENCH_DSN"], min_size=2, max_size=10)
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_messages "
            "(id uuid PRIMARY KEY, content text, created_at timestamptz)"
        )
    yield
    await pool.close()


async def insert(request: Request) -> Response:
    body = orjson.loads(await request.body())
    message_id = uuid.uuid4()
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO bench_messages VALUES ($1, $2, now())", message_id, body["content"]
        )
    return Response(orjson.dumps({"id": str(message_id)}), media_type="application/json")


async def config(_: Request) -> Response:
    return Response(CONFIG, media_type="application/json")


app = Starlette(
    routes=[Route("/insert", insert, methods=["POST"]), Route("/config", config)], lifespan=lifespan
)
