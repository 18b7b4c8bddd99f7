"""The retention sweep: how fast it deletes, and what it costs a chat message meanwhile.

Seeds N expired conversations of M messages each (bulk inserts, past the API), then
measures, in one run and one process: the p99 of a chat message's server time with no
sweep (the baseline), the sweep's duration, and the p99 of chat messages sent while the
sweep runs. Prints the figures and the ratio p99(during) / p99(baseline); the target is
100k conversations (1M messages) in under 5 minutes with a ratio of at most 2.

    python -m bench.privacy_sweep                         # SQLite, 10k conversations
    python -m bench.privacy_sweep --conversations 100000  # the target's size
    python -m bench.privacy_sweep --postgres postgresql+asyncpg://postgres@127.0.0.1/porch_bench
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import insert, text

from porch.app import create_app
from porch.db import create_engine
from porch.ids import uuid7
from porch.migrate import upgrade
from porch.models import Conversation, Message
from porch.models.base import Base, utcnow
from porch.privacy.sweep import Sweeper
from porch.settings import Settings


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def _prepare(settings: Settings) -> None:
    engine = create_engine(settings)
    if not settings.is_sqlite:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            await conn.execute(text("DROP FUNCTION IF EXISTS porch_bump_conversation CASCADE"))
    await upgrade(engine)
    await engine.dispose()


async def _seed(app: Any, workspace_id: uuid.UUID, widget_id: uuid.UUID, n: int, m: int) -> None:
    engine = app.state.porch.engine
    old = utcnow() - timedelta(days=400)
    chunk = 1000
    for start in range(0, n, chunk):
        convs, msgs = [], []
        for _ in range(min(chunk, n - start)):
            cid = uuid7()
            convs.append(
                {
                    "id": cid,
                    "workspace_id": workspace_id,
                    "widget_id": widget_id,
                    "visitor_token_hash": uuid.uuid4().hex * 2,
                    "status": "open",
                    "message_count": 0,
                    "unread_count": 0,
                    "created_at": old,
                    "last_message_at": old,
                    "user_email": f"v{start}@example.org",
                }
            )
            for j in range(m):
                msgs.append(
                    {
                        "id": uuid7(),
                        "conversation_id": cid,
                        "workspace_id": workspace_id,
                        "widget_id": widget_id,
                        "role": "user" if j % 2 == 0 else "assistant",
                        "content": f"seeded message {j} of an old conversation, some words here",
                        "status": "complete",
                        "sources": [],
                        "created_at": old,
                    }
                )
        async with engine.begin() as conn:
            await conn.execute(insert(Conversation), convs)
            await conn.execute(insert(Message), msgs)


async def _chat(
    client: httpx.AsyncClient, widget_id: str, until: asyncio.Event | int
) -> list[float]:
    """Server time of each message (in-process ASGI: the round trip is the server's time)."""
    created = await client.post(f"/api/v1/widgets/{widget_id}/conversations", json={})
    body = created.json()
    auth = {"Authorization": f"Bearer {body['visitor_token']}"}
    times: list[float] = []
    i = 0
    while (until.is_set() is False) if isinstance(until, asyncio.Event) else i < until:
        began = time.perf_counter()
        resp = await client.post(
            f"/api/v1/conversations/{body['conversation_id']}/messages",
            json={"content": f"How much is the Pro plan? ({i})"},
            headers=auth,
        )
        assert resp.status_code == 200, resp.text
        times.append((time.perf_counter() - began) * 1000)
        i += 1
    return times


async def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="porch-bench-sweep-"))
    base: dict[str, Any] = {
        "data_dir": folder,
        "log_level": "warning",
        "allow_signup": True,
        "privacy_sweep_interval_seconds": 0,
        "default_visitor_messages_per_minute": 100000,
        "default_visitor_messages_per_day": 1000000,
        "default_widget_messages_per_day": 10_000_000,
    }
    if args.postgres:
        base["database_url"] = args.postgres
    settings = Settings(**base)
    await _prepare(settings)
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://porch.bench", timeout=60
        ) as c:
            signed = await c.post(
                "/api/v1/auth/signup", json={"email": "b@example.org", "password": "correct horse"}
            )
            csrf = {"X-CSRF-Token": signed.json()["csrf_token"]}
            widget = (await c.post("/api/v1/widgets", json={"name": "bench"}, headers=csrf)).json()
            await c.post(
                f"/api/v1/widgets/{widget['id']}/sources",
                headers=csrf,
                json={
                    "type": "text",
                    "title": "Plans",
                    "text": "The Pro plan costs $12 per month.",
                },
            )
            await app.state.porch.jobs.drain()
            await c.put("/api/v1/privacy/retention", json={"conversation_days": 30}, headers=csrf)
            ws, wid = uuid.UUID(signed.json()["workspace"]["id"]), uuid.UUID(widget["id"])
            began = time.perf_counter()
            await _seed(app, ws, wid, args.conversations, args.messages)
            seeded = time.perf_counter() - began
            # Warm-up, then the baseline: the same chat with no sweep running.
            await asyncio.gather(*(_chat(c, widget["id"], 5) for _ in range(args.visitors)))
            quiet = [
                t
                for ts in await asyncio.gather(
                    *(_chat(c, widget["id"], args.baseline) for _ in range(args.visitors))
                )
                for t in ts
            ]
            s = app.state.porch
            sweeper = Sweeper(
                s.sessionmaker,
                s.engine,
                interval=0,
                batch=settings.privacy_sweep_batch,
                pause=settings.privacy_sweep_pause,
            )
            done = asyncio.Event()
            chat = [asyncio.create_task(_chat(c, widget["id"], done)) for _ in range(args.visitors)]
            began = time.perf_counter()
            report = await sweeper.sweep()
            swept = time.perf_counter() - began
            done.set()
            during = [t for ts in await asyncio.gather(*chat) for t in ts]
    rate = report.conversations / swept if swept else 0.0
    total = args.conversations * args.messages
    print(f"database            {'postgresql' if args.postgres else 'sqlite'}")
    print(
        f"seeded              {args.conversations} conversations, {total} messages, {seeded:.1f} s"
    )
    print(
        f"sweep               {report.conversations} conversations, {report.messages} messages, "
        f"{report.batches} batches in {swept:.1f} s ({rate:.0f} conversations/s)"
    )
    if rate:
        print(f"100k extrapolated   {100_000 / rate:.0f} s (target < 300 s)")
    print(_line("chat baseline", quiet))
    print(_line("chat during sweep", during))
    print(f"ratio p99           {p99(during) / p99(quiet):.2f} (target <= 2.0)")


def _line(label: str, samples: list[float]) -> str:
    return (
        f"{label:<20}n={len(samples)} p50={statistics.median(samples):.1f} ms "
        f"p99={p99(samples):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--visitors", type=int, default=4)
    parser.add_argument("--baseline", type=int, default=100, help="messages per visitor, no sweep")
    parser.add_argument(
        "--postgres", default=None, help="a PostgreSQL URL (its tables are replaced)"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
