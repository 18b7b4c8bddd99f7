"""The conversation page and the inbox list during a live chat, in Chromium: the header badge,
the details, the counts and the offered actions follow the same events; live messages carry
a time; transcripts render markdown as the widget does; rows keep the visitor's question."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.browser import Owner, PorchServer
from tests.web.dashboard_kit import page_problems, shot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[PorchServer, Owner, str]]:
    srv = PorchServer()
    owner = Owner(srv.url)
    yield srv, owner, owner.widget(features={"handoff": True})
    srv.stop()


def agent_page(browser: Browser, srv: PorchServer, width: int) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{srv.url}/app/login")
    form = page.locator("[data-testid=login-form]")
    form.get_by_label("Email").fill("owner@example.com")
    form.get_by_label("Password").fill("correct horse")
    form.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{srv.url}/app/")
    return page


def said(http: httpx.Client, cid: str, token: str, text: str) -> None:
    resp = http.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"content": text},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("width", [1280, 390])
def test_state_follows_events(
    browser: Browser, site: tuple[PorchServer, Owner, str], width: int
) -> None:
    srv, _owner, wid = site
    page = agent_page(browser, srv, width)
    problems = page_problems(page)
    inbox = page.context.new_page()
    inbox.goto(f"{srv.url}/app/widgets/{wid}/conversations")
    expect(inbox.locator("[data-live-state]")).to_have_text("Live")
    # No row shows an empty unread badge (nothing unread yet on existing rows).
    for badge in inbox.locator(".badge.unread").all():
        expect(badge).to_be_hidden()

    http = httpx.Client(base_url=srv.url, timeout=30)
    started = http.post(f"/api/v1/widgets/{wid}/conversations", json={}).json()
    cid, token = started["conversation_id"], started["visitor_token"]
    said(http, cid, token, "How do I reset my password?")
    row = inbox.locator(f'[data-conversation="{cid}"]')
    expect(row.locator(".conv-question")).to_have_text("How do I reset my password?")
    expect(row.locator(".count .n")).to_have_text("2")  # the question and the answer
    expect(row.locator(".conv-time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
    handoff = http.post(
        f"/api/v1/conversations/{cid}/handoff",
        json={},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert handoff.status_code == 202, handoff.text
    expect(row.locator(".status")).to_have_text("Waiting for a person")
    # The handoff's system note does not replace the visitor's question on the row.
    expect(row.locator(".conv-question")).to_have_text("How do I reset my password?")

    page.goto(f"{srv.url}/app/conversations/{cid}")
    expect(page.locator("[data-live-state]")).to_have_text("Live")
    badge, status = page.locator("[data-status-badge]"), page.locator("[data-status-text]")
    count = page.get_by_test_id("message-count")
    expect(badge).to_have_text("Waiting for a person")
    expect(status).to_have_text("Waiting for a person")
    # The greeting says **passwords**: drawn bold, as the widget draws it, not raw.
    greeting = page.locator(".msg-assistant .msg-body").first
    expect(greeting.locator("strong")).to_have_text("passwords")
    answer = page.locator(".msg-assistant .msg-body").nth(1)
    expect(answer.locator("strong")).to_have_text("Forgot password")
    for body in page.locator(".msg-body").all():
        assert "**" not in body.inner_text()
    expect(page.locator("[data-reply-error]")).to_be_hidden()
    before = int(count.inner_text())

    page.get_by_test_id("assign-me").click()
    expect(badge).to_have_text("With a person")
    expect(status).to_have_text("With a person")
    expect(page.locator("[data-assigned]")).not_to_have_text("Nobody")
    expect(page.get_by_test_id("assign-me")).to_be_hidden()
    expect(page.get_by_test_id("release")).to_be_visible()

    said(http, cid, token, "Still **there**? <img src=x onerror=alert(1)>")
    last = page.locator(".msg-user").last
    expect(last.locator(".msg-body strong")).to_have_text("there")
    expect(last.locator("img")).to_have_count(0)
    expect(last.locator("time")).to_have_text(re.compile(r"\d\d:\d\d UTC$"))
    expect(count).to_have_text(str(before + 1))
    expect(page.get_by_test_id("unread-text")).to_have_text("0")  # read as it arrived
    expect(row.locator(".badge.unread")).to_be_hidden()

    # A card number is masked before storing (the default rule); agents see that it was.
    said(http, cid, token, "My card is 4242 4242 4242 4242, can you check it?")
    masked = page.locator(".msg-user").last
    expect(masked.locator(".msg-body")).to_contain_text("[card ****4242]")
    expect(masked.get_by_test_id("redacted")).to_have_text("Redacted: card")
    page.reload()
    expect(page.locator(".msg-user").last.get_by_test_id("redacted")).to_have_text("Redacted: card")

    page.get_by_test_id("release").click()
    expect(badge).to_have_text("Open")
    expect(page.get_by_test_id("release")).to_be_hidden()

    page.get_by_test_id("close").click()
    expect(badge).to_have_text("Closed")
    expect(page.get_by_test_id("assign-me")).to_be_hidden()
    expect(page.get_by_test_id("release")).to_be_hidden()
    expect(page.get_by_test_id("reopen")).to_be_visible()
    expect(row.locator(".status")).to_have_text("Closed")
    shot(page, f"conversation-live-{width}")
    http.close()
    assert problems == []
    page.context.close()


HIDE = """() => {
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
  document.dispatchEvent(new Event('visibilitychange'));
}"""
SHOW = """() => {
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


def test_background_tab_counts_handoffs_and_messages(
    browser: Browser, site: tuple[PorchServer, Owner, str]
) -> None:
    srv, _owner, wid = site
    page = agent_page(browser, srv, 1280)
    page.goto(f"{srv.url}/app/widgets/{wid}/conversations")
    expect(page.locator("[data-live-state]")).to_have_text("Live")
    plain = page.title()
    page.evaluate(HIDE)
    http = httpx.Client(base_url=srv.url, timeout=30)
    started = http.post(f"/api/v1/widgets/{wid}/conversations", json={}).json()
    cid, token = started["conversation_id"], started["visitor_token"]
    said(http, cid, token, "Where is my parcel?")
    expect(page).to_have_title(f"(1) {plain}")
    handoff = http.post(
        f"/api/v1/conversations/{cid}/handoff",
        json={},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert handoff.status_code == 202
    expect(page).to_have_title(f"(2) {plain}")
    icon = page.locator('link[rel="icon"]').get_attribute("href") or ""
    assert icon.startswith("data:image/png")
    page.evaluate(SHOW)  # back to the tab: seen
    expect(page).to_have_title(plain)
    assert "data:" not in (page.locator('link[rel="icon"]').get_attribute("href") or "")
    # In the foreground nothing is counted.
    said(http, cid, token, "Hello?")
    expect(page.locator(f'[data-conversation="{cid}"] .conv-question')).to_have_text("Hello?")
    assert page.title() == plain
    http.close()
    page.context.close()
