"""A visitor on one porch process, an agent on another, in real chromium: handoff, typing,
the agent's reply, and a dropped connection resumed with nothing lost.

Both processes share PostgreSQL and Redis, as in a scale-out deployment behind a load
balancer without sticky sessions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.conftest import PG_ADMIN_URL, REDIS_URL
from tests.realtime.servers import Server
from tests.web.browser import CHROMIUM_ARGS, Owner

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    import asyncio

    import asyncpg

    name = f"porch_rt_{os.getpid()}"
    admin = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def servers(database: str) -> Iterator[tuple[Server, Server]]:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {
        "PORCH_DATABASE_URL": database,
        "PORCH_REDIS_URL": REDIS_URL,
        "PORCH_SECRET_KEY": "two-servers-one-secret-key-for-this-test-only",
        "PORCH_ALLOW_SIGNUP": "true",
        # Each process runs the jobs it queues (no `porch worker` here).
        "PORCH_JOBS_QUEUE": "memory",
        "PORCH_WS_PING_SECONDS": "5",
    }
    visitor_side = Server(env)  # migrates first
    agent_side = Server({**env, "PORCH_AUTO_MIGRATE": "false"})
    yield visitor_side, agent_side
    agent_side.stop()
    visitor_side.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.web.ui import CHROMIUM

    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _agent_page(browser: Browser, base: str) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    resp = context.request.post(
        f"{base}/api/v1/auth/login",
        data={"email": "owner@example.com", "password": "correct horse"},
    )
    assert resp.ok, resp.text()
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


@pytest.mark.timeout(420)
def test_visitor_and_agent_on_two_processes(
    servers: tuple[Server, Server], browser: Browser
) -> None:
    from playwright.sync_api import expect

    a, b = servers
    owner = Owner(a.url)
    wid = owner.widget(features={"handoff": True}, handoff={"mode": "on_request"})

    agent = _agent_page(browser, b.url)
    errors: list[str] = []
    agent.on("pageerror", lambda e: errors.append(str(e)))
    agent.goto(f"{b.url}/app/widgets/{wid}/conversations")
    expect(agent.locator("[data-live-state]")).to_have_text("Live")

    visitor = browser.new_context(viewport={"width": 420, "height": 760}).new_page()
    visitor.set_default_timeout(20_000)
    visitor.on("pageerror", lambda e: errors.append(str(e)))
    visitor.goto(f"{a.url}/w/{wid}")
    visitor.fill("#porch-input", "How do I reset my password?")
    visitor.press("#porch-input", "Enter")
    expect(visitor.locator(".msg-assistant").last).to_contain_text("Forgot password")

    # The conversation started on process A appears on process B without a reload.
    row = agent.locator("[data-live-inbox] li[data-conversation]")
    expect(row).to_have_count(1)
    # Its preview follows the messages as they come: here the assistant's streamed answer.
    expect(row.first).to_contain_text("Forgot password")
    expect(row.first.locator(".unread")).to_have_text("1 new")

    visitor.click("#porch-handoff")
    expect(visitor.locator(".msg-system").last).to_contain_text("team member")
    expect(row.first.locator(".status")).to_have_text("Waiting for a person")

    row.first.locator("a").click()
    expect(agent.locator("[data-status-text]")).to_have_text("Waiting for a person")
    expect(agent.locator("[data-live-state]")).to_have_text("Live")

    # Typing, both ways, across the two processes.
    agent.fill("#reply-text", "Hello")
    agent.type("#reply-text", "!")
    expect(visitor.locator("#porch-typing")).to_be_visible()
    visitor.type("#porch-input", "are you there")
    expect(agent.locator("[data-typing]")).to_be_visible()
    visitor.fill("#porch-input", "")

    agent.fill("#reply-text", "Hi, this is a person from the team.")
    agent.click("[data-reply] button[type=submit]")
    agent_msg = visitor.locator(".msg-agent")
    expect(agent_msg).to_have_count(1)
    expect(agent_msg.first).to_contain_text("Hi, this is a person from the team.")
    expect(agent.locator("[data-status-text]")).to_have_text("With a person")

    # Process A dies with the visitor's socket on it; the agent writes twice meanwhile.
    a.kill()
    for text_ in ("First while you were away.", "Second while you were away."):
        agent.fill("#reply-text", text_)
        agent.click("[data-reply] button[type=submit]")
        expect(agent.locator("[data-messages] .msg-agent").filter(has_text=text_)).to_have_count(1)
    a.start()
    # chat.js reconnects with its last event id: both arrive once, in order, nothing lost.
    expect(agent_msg).to_have_count(3, timeout=90_000)
    texts = [t.strip() for t in agent_msg.all_inner_texts()]
    assert texts[1].endswith("First while you were away.")
    assert texts[2].endswith("Second while you were away.")
    assert not errors, errors
