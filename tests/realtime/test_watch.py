"""Ephemeral events travel only where a socket watches, across processes too."""

from __future__ import annotations

import asyncio
import uuid

from porch.pubsub import LocalPubSub
from porch.realtime import events as ev
from porch.realtime.broker import Broker, Topic
from porch.realtime.events import Envelope


class Recorder:
    def __init__(self) -> None:
        self.got: list[Envelope] = []

    def offer(self, env: Envelope, cache: dict[str, str | None]) -> None:
        self.got.append(env)


class CountingPubSub(LocalPubSub):
    def __init__(self) -> None:
        super().__init__()
        self.published: list[str] = []

    async def publish(self, channel: str, data: bytes) -> None:
        self.published.append(channel)
        await super().publish(channel, data)


def delta(ws: uuid.UUID, cid: uuid.UUID, text: str) -> Envelope:
    return Envelope(None, ev.MESSAGE_DELTA, ws, cid, {"message_id": "m", "delta": text})


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_tokens_nobody_watches_are_not_published_and_a_remote_watcher_gets_them() -> None:
    bus = CountingPubSub()  # one bus, two brokers: two processes sharing Redis
    publisher, watcher = Broker(bus), Broker(bus)
    await publisher.start()
    await watcher.start()
    ws, cid = uuid.uuid4(), uuid.uuid4()
    try:
        publisher.publish(delta(ws, cid, "unseen"))
        await settle()
        assert "realtime" not in bus.published  # no socket anywhere: nothing sent

        # A durable event always goes out (webhooks and resumes depend on it).
        publisher.publish(Envelope(7, ev.MESSAGE_CREATED, ws, cid, {"message": {}}))
        await settle()
        assert bus.published.count("realtime") == 1

        agent = Recorder()
        inbox = Topic("workspace", ws)
        watcher.join(inbox, agent)  # an agent's inbox socket, in the other process
        await settle()
        assert "realtime.watch" in bus.published
        assert publisher.watched(ws, uuid.uuid4())  # any conversation of that workspace

        publisher.publish(delta(ws, cid, "Hel"))
        publisher.publish(delta(ws, cid, "lo"))
        await settle()
        deltas = [e for e in agent.got if e.type == ev.MESSAGE_DELTA]
        assert "".join(str(e.data["delta"]) for e in deltas) == "Hello"
        assert not publisher.watched(uuid.uuid4(), uuid.uuid4())  # other workspaces: no

        watcher.leave(inbox, agent)
        assert not watcher.watched(ws, cid)
    finally:
        await publisher.aclose()
        await watcher.aclose()
