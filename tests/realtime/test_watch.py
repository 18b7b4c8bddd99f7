"""Ephemeral events travel only where a socket watches, across processes too."""

from __future__ import annotations

import asyncio
import uuid

from porch.pubsub import LocalPubSub
from porch.realtime import events as ev
from porch.realtime.broker import Broker, Topic
from porch.realtime.events import Envelope


class Recorder:
    def __init__(self, audience: str = "agent") -> None:
        self.audience = audience
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


async def test_a_visitors_socket_draws_no_tokens_but_gets_an_agents_typing() -> None:
    """Every open widget holds a socket on its conversation, and the widget reads its reply
    from its own stream: a visitor's socket must not pull every token across pub/sub."""
    bus = CountingPubSub()
    publisher, visitors_process = Broker(bus), Broker(bus)
    await publisher.start()
    await visitors_process.start()
    ws, cid = uuid.uuid4(), uuid.uuid4()
    visitor = Recorder("visitor")
    topic = Topic("conversation", cid)
    try:
        visitors_process.join(topic, visitor)
        await settle()
        assert "realtime.watch" not in bus.published  # nothing to announce
        assert not publisher.watched(ws, cid) and not visitors_process.watched(ws, cid)
        publisher.publish(delta(ws, cid, "unseen"))
        visitor_typing = {"who": "visitor", "on": True}
        publisher.publish(Envelope(None, ev.TYPING, ws, cid, visitor_typing))
        await settle()
        assert "realtime" not in bus.published

        agent_typing = {"who": "agent", "on": True, "name": "Ana"}
        publisher.publish(Envelope(None, ev.TYPING, ws, cid, agent_typing))
        await settle()
        assert [e.data for e in visitor.got] == [agent_typing]

        # An agent on the same conversation does draw them, and leaving undoes it.
        agent = Recorder()
        visitors_process.join(topic, agent)
        await settle()
        assert publisher.watched(ws, cid)
        visitors_process.leave(topic, agent)
        assert not visitors_process.watched(ws, cid)
        visitors_process.leave(topic, visitor)
        visitors_process.leave(topic, visitor)  # twice: harmless
        assert visitors_process.sockets == 0
    finally:
        await publisher.aclose()
        await visitors_process.aclose()
