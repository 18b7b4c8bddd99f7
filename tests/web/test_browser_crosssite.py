"""The widget on a site that is not porch's site (a page on localhost framing porch on
127.0.0.1): the browser refuses storage to the chat frame, as Chrome with third-party
cookies blocked, Safari and Firefox strict do. The conversation must still survive a
reload, a second tab and an expired token.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, FrameLocator, Page, expect

from tests.web.browser import HostPage, Owner, PorchServer
from tests.web.ui import FRAME, LAUNCHER, ask, last_answer, open_widget

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shop(porch_server: PorchServer) -> Iterator[HostPage]:
    site = HostPage(porch_server.url, hostname="localhost")
    httpd = site.start()
    yield site
    httpd.shutdown()
    httpd.server_close()


def frame_storage_blocked(page: Page) -> bool:
    frame = next(f for f in page.frames if f.url.startswith("http://127.0.0.1"))
    blocked = frame.evaluate(
        "() => { try { localStorage.setItem('x', '1'); return false; } catch (e) { return true; } }"
    )
    return bool(blocked)


def reopen(page: Page) -> FrameLocator:
    page.locator(LAUNCHER).click()
    chat = page.frame_locator(FRAME)
    expect(chat.locator("textarea[name=message]")).to_be_visible()
    return chat


@pytest.mark.parametrize("width", [1280, 390])
def test_reload_and_new_tab_keep_the_conversation(
    browser: Browser, site_owner: Owner, shop: HostPage, width: int
) -> None:
    wid = site_owner.widget()
    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        chat = open_widget(page, shop.url(wid))
        # The frame is third-party here: its own storage throws.
        assert frame_storage_blocked(page)
        ask(chat, "How do I reset my password?")
        expect(last_answer(chat)).to_contain_text("Forgot password")
        kept = page.evaluate(f"localStorage.getItem('porch:conversation:{wid}')")
        assert kept and "visitor_token" in kept

        page.reload()
        chat = reopen(page)
        expect(chat.locator("[data-role=user]")).to_have_text(re.compile("reset my password"))
        expect(last_answer(chat)).to_contain_text("Forgot password")

        second = context.new_page()
        second.set_default_timeout(15_000)
        second.goto(shop.url(wid))
        other = reopen(second)
        expect(other.locator("[data-role=user]")).to_have_text(re.compile("reset my password"))
        ask(other, "What does the Pro plan cost?")
        expect(last_answer(other)).to_contain_text("$12")
        # Both tabs wrote into one conversation.
        page.reload()
        chat = reopen(page)
        expect(chat.locator("[data-role=user]")).to_have_count(2)
        assert errors == []
    finally:
        context.close()


def test_an_expired_token_starts_afresh_with_a_notice(
    page: Page, site_owner: Owner, shop: HostPage, porch_server: PorchServer
) -> None:
    wid = site_owner.widget()
    chat = open_widget(page, shop.url(wid))
    ask(chat, "How do I reset my password?")
    expect(last_answer(chat)).to_contain_text("Forgot password")
    kept = page.evaluate(f"JSON.parse(localStorage.getItem('porch:conversation:{wid}'))")
    # Idle for longer than PORCH_VISITOR_TOKEN_IDLE_HOURS (30 days by default).
    long_ago = (datetime.now(UTC) - timedelta(days=60)).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(porch_server.data_dir / "porch.db") as db:
        cur = db.execute(
            "UPDATE conversations SET last_message_at = ?, created_at = ? WHERE id = ?",
            (long_ago, long_ago, kept["conversation_id"].replace("-", "")),
        )
        assert cur.rowcount == 1
    page.reload()
    chat = reopen(page)
    expect(chat.locator("[data-role=system]")).to_contain_text("expired")
    expect(chat.locator("[data-role=user]")).to_have_count(0)
    assert page.evaluate(f"localStorage.getItem('porch:conversation:{wid}')") is None
    ask(chat, "What does the Pro plan cost?")
    expect(last_answer(chat)).to_contain_text("$12")
    fresh = page.evaluate(f"JSON.parse(localStorage.getItem('porch:conversation:{wid}'))")
    assert fresh["conversation_id"] != kept["conversation_id"]
