"""A visitor that reads its stream slowly holds a bounded amount of server memory: the reply
is generated and stored at the model's pace, and the unsent part waits as text, not as a
growing backlog of events."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from porch.chat.answer.events import Done, Token
from porch.chat.answer.stream import ReplyQueue, batches
from tests.fakes import OpenAIFake
from tests.faults.conftest import until
from tests.faults.servers import rss_kb, serve, stop


async def test_an_unread_queue_stays_small_and_loses_nothing() -> None:
    queue = ReplyQueue()
    words = [f" w{i}" for i in range(20_000)]
    for word in words:
        queue.put_nowait(Token(word))
    queue.put_nowait(Done(None, 0, 0, 0, "complete", "", None))
    queue.put_nowait(None)
    assert queue.qsize() <= ReplyQueue.PENDING_EVENTS + 3
    text, last = "", None
    async for group in batches(queue):
        for event in group:
            if isinstance(event, Token):
                text += event.delta
            last = event
    assert text == "".join(words) and isinstance(last, Done)


async def test_a_reader_that_keeps_up_sees_every_token() -> None:
    queue = ReplyQueue()
    seen = []
    for i in range(200):
        queue.put_nowait(Token(f" t{i}"))
        seen.append(await queue.get())
    assert [t.delta for t in seen if isinstance(t, Token)] == [f" t{i}" for i in range(200)]


STALLED = 20
TOKENS = 4000


@pytest.mark.slow
async def test_stalled_readers_do_not_hold_the_reply_or_grow_memory(
    tmp_path: Path, openai_fake: OpenAIFake
) -> None:
    base, proc = serve(
        {
            "PORCH_DATA_DIR": str(tmp_path),
            "PORCH_LLM_PROVIDER": "openai",
            "PORCH_LLM_MODEL": "gpt-4o-mini",
            "PORCH_LLM_BASE_URL": openai_fake.base_url,
            "PORCH_LLM_API_KEY": "sk-test",
            "PORCH_EMBEDDINGS": "none",
            "PORCH_DEFAULT_CONVERSATIONS_PER_IP_PER_HOUR": "10000",
        },
        "--demo",
    )
    host, port = base.removeprefix("http://").split(":")
    writers: list[asyncio.StreamWriter] = []
    try:
        import httpx

        async with httpx.AsyncClient(base_url=base, timeout=30) as c:
            widget_id = (await c.get("/api/config")).json()["widget_id"]
            convs = [
                (await c.post(f"/api/v1/widgets/{widget_id}/conversations", json={})).json()
                for _ in range(STALLED + 1)
            ]
            openai_fake.control.script(tokens=TOKENS)  # as fast as the fake can send
            # One reply read in full first: the model's SDK loads on first use (porch starts
            # without it), and that one-off cost is not a stalled stream's.
            warm = convs.pop()
            await c.post(
                f"/api/v1/conversations/{warm['conversation_id']}/messages",
                json={"content": "How much is the Pro plan?"},
                headers={"Authorization": f"Bearer {warm['visitor_token']}"},
            )
        before = rss_kb(proc.pid)
        readers = []
        for conv in convs:
            reader, writer = await asyncio.open_connection(host, int(port))
            body = b'{"content": "How much is the Pro plan?"}'
            writer.write(
                f"POST /api/v1/conversations/{conv['conversation_id']}/messages HTTP/1.1\r\n"
                f"Host: {host}\r\nAuthorization: Bearer {conv['visitor_token']}\r\n"
                "Accept: text/event-stream\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            await reader.readexactly(256)  # the headers and the start: then the reader stalls
            readers.append(reader)
            writers.append(writer)

        def stored() -> int:
            with sqlite3.connect(tmp_path / "porch.db") as db:
                return int(
                    db.execute(
                        "SELECT count(*) FROM messages WHERE role = 'assistant' "
                        "AND provider = 'openai' AND status = 'complete'"
                    ).fetchone()[0]
                )

        # Every reply is finished and stored while nobody reads it.
        await until(lambda: stored() == STALLED + 1, "replies stored while their readers stall", 60)
        grown_kb = rss_kb(proc.pid) - before
        # Each stalled stream keeps its unsent text (about 40 KB of SSE here), not a queue
        # of event objects; 20 of them stay well under what a backlog would cost.
        print(f"{grown_kb / STALLED:.0f} KB per stalled stream")  # pytest -s prints it
        assert grown_kb / STALLED < 1024, f"{grown_kb / STALLED:.0f} KB per stalled stream"
        # And the readers, when they resume, get the whole reply, intact.
        for reader in readers:
            data = b""
            while b"event: done" not in data:
                chunk = await asyncio.wait_for(reader.read(65536), 30)
                assert chunk, "the stream ended early"
                data += chunk
            text = "".join(
                line.split('"delta":"', 1)[1].rsplit('"', 1)[0]
                for line in data.decode().splitlines()
                if line.startswith('data: {"delta"')
            )
            assert text.endswith(f"tok{TOKENS - 1}")
    finally:
        for writer in writers:
            writer.close()
        stop(proc)
