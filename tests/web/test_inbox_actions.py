"""Action calls in the inbox, in Chromium at 1280 and 390 px: a failed call is marked in words
and not by colour alone, a call waiting for a team member flags the conversation (in the list
too, live) and is approved from the page; the owner's API gets exactly that one request and the
visitor's transcript gets the outcome. axe-core finds no serious violation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.actions.helpers import cancel_order
from tests.actions.target import Target
from tests.web.browser import Owner, PorchServer
from tests.web.dashboard_kit import page_problems, shot
from tests.web.test_conversation_live import said
from tests.web.test_dashboard_fit import overflow, serious

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[PorchServer, Owner, str, Target]]:
    srv = PorchServer()
    owner = Owner(srv.url)
    wid = owner.widget()
    with Target() as target:
        for body in (
            {
                "slug": "stock_check",
                "title": "Check the stock",
                "examples": ["check the stock"],
                "url": target.base + "/fail",
                "allowed_hosts": ["127.0.0.1"],
            },
            cancel_order(target.base, approval="agent"),
        ):
            resp = owner.http.post(f"/api/v1/widgets/{wid}/actions", json=body)
            assert resp.status_code == 201, resp.text
        yield srv, owner, wid, target
    srv.stop()


def signed_in(browser: Browser, srv: PorchServer, width: int) -> Page:
    # CSP bypassed for axe's injected script only; the pages' own scripts are porch's files.
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{srv.url}/app/login")
    form = page.locator("[data-testid=login-form]")
    form.get_by_label("Email").fill("owner@example.com")
    form.get_by_label("Password").fill("correct horse")
    form.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{srv.url}/app/")
    return page


@pytest.mark.parametrize("width", [1280, 390])
def test_failed_call_is_marked_and_an_agent_approves_one(
    browser: Browser, site: tuple[PorchServer, Owner, str, Target], width: int
) -> None:
    srv, _owner, wid, target = site
    page = signed_in(browser, srv, width)
    problems = page_problems(page)
    http = httpx.Client(base_url=srv.url, timeout=30)
    started = http.post(f"/api/v1/widgets/{wid}/conversations", json={}).json()
    cid, token = started["conversation_id"], started["visitor_token"]
    said(http, cid, token, "Could you check the stock please")

    inbox = page.context.new_page()
    inbox.goto(f"{srv.url}/app/widgets/{wid}/conversations")
    expect(inbox.locator("[data-live-state]")).to_have_text("Live")
    order = f"C{width % 1000:03d}"
    said(http, cid, token, f"Please cancel my order {order}")
    # The list flags the conversation as soon as the call waits for a person.
    row = inbox.locator(f'[data-conversation="{cid}"]')
    expect(row.locator(".approval-flag")).to_have_text("Needs approval")
    inbox.close()

    page.goto(f"{srv.url}/app/conversations/{cid}")
    expect(page.locator("[data-live-state]")).to_have_text("Live")
    calls = page.locator("[data-testid=action-calls]")
    failed = calls.locator("li[data-state=failed]")
    expect(failed).to_have_count(1)
    expect(failed).to_have_class("call call-failed")
    # Said in words, not only in red.
    expect(failed.locator(".badge")).to_have_text("⚠ Failed: http_5xx")
    expect(failed.locator("[data-testid=call-facts]")).to_contain_text("by the offline answerer")
    expect(failed.locator("[data-testid=call-facts]")).to_contain_text("HTTP 500")
    waiting = calls.locator("li.call-waiting")
    expect(waiting.locator(".call-args")).to_contain_text(order)
    expect(page.locator("[data-testid=approval-flag]")).to_be_visible()
    expect(page.locator("[data-testid=run-action] select option")).to_have_count(2)
    size: dict[str, Any] = overflow(page)
    assert int(size["scroll"]) <= int(size["client"]), size
    assert serious(page) == []
    shot(page, f"inbox-actions-{width}")

    before = len(target.seen(f"/orders/{order}/cancel"))
    waiting.get_by_role("button", name="Approve Cancel an order").click()
    done = calls.locator("li[data-state=succeeded]")
    expect(done).to_have_count(1)
    expect(done).to_contain_text(f"Order {order} is cancelled.")
    expect(page.locator("[data-testid=approval-flag]")).to_be_hidden()
    # The outcome reaches the transcript live, as a message from the team member.
    expect(page.locator("[data-messages] .msg-agent").last).to_contain_text(
        f"Order {order} is cancelled."
    )
    sent = target.seen(f"/orders/{order}/cancel")
    assert len(sent) == before + 1 == 1
    assert json.loads(sent[0].body)["order"] == order
    history = http.get(
        f"/api/v1/conversations/{cid}/messages", headers={"Authorization": f"Bearer {token}"}
    ).json()["messages"]
    assert history[-1]["content"] == f"Order {order} is cancelled."
    assert problems == []
    page.context.close()
