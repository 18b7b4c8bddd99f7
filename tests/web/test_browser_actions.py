"""The owner's actions in the widget, on a shop (localhost) framing porch (127.0.0.1), with the
offline answerer and a loopback target that records every request: a confirmation card
confirmed (one request, the result and a chip) or declined (no request), a lookup's chip,
"yes" typed instead of clicking, a pending card and the chips after a reload; axe-core on
the card; at 1280 and 390 px. Then, with the shop's API holding its answer: the progress
line, the buttons disabled while the answer is on its way; a card answered in another tab
and an expired one say so.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import axe_playwright_python
import pytest
from playwright.sync_api import Browser, FrameLocator, Page, expect

from tests.actions.helpers import cancel_order, order_status
from tests.actions.target import Seen, Target
from tests.web.browser import HostPage, Owner, PorchServer
from tests.web.ui import FRAME, LAUNCHER, ask, open_widget, shot

pytestmark = pytest.mark.slow

AXE = Path(axe_playwright_python.__file__).parent / "axe.min.js"
CARD = ".act-card"
CHIP = ".act-chip"


@pytest.fixture(scope="module")
def shop(porch_server: PorchServer) -> Iterator[HostPage]:
    site = HostPage(porch_server.url, hostname="localhost")
    httpd = site.start()
    yield site
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def target() -> Iterator[Target]:
    with Target() as t:
        yield t


def widget_with_actions(owner: Owner, target: Target) -> str:
    wid = owner.widget(with_faq=False, greeting="Hi! I can look up or cancel orders.")
    # Examples of its own: "my order" alone would match the cancellation's phrasings too.
    lookup = order_status(
        target.base,
        examples=["track my parcel", "where is my parcel"],
        sources={"email": "const:shop@example.com"},
    )
    for body in (cancel_order(target.base), lookup):
        resp = owner.http.post(f"/api/v1/widgets/{wid}/actions", json=body)
        assert resp.status_code == 201, resp.text
    return wid


def cancels(target: Target, order: str) -> list[object]:
    return [r.json() for r in target.seen(f"/orders/{order}/cancel")]


def reopen(page: Page) -> FrameLocator:
    page.locator(LAUNCHER).click()
    chat = page.frame_locator(FRAME)
    expect(chat.locator("textarea[name=message]")).to_be_visible()
    return chat


def fits(page: Page) -> None:
    frame = next(f for f in page.frames if f.url.startswith("http://127.0.0.1"))
    wide = frame.evaluate(
        "() => { const l = document.querySelector('.log'); return [l.scrollWidth, l.clientWidth]; }"
    )
    assert wide[0] <= wide[1], f"the transcript scrolls sideways: {wide}"


def serious(page: Page) -> list[str]:
    frame = next(f for f in page.frames if f.url.startswith("http://127.0.0.1"))
    frame.add_script_tag(path=str(AXE))
    found = frame.evaluate("async () => JSON.stringify((await axe.run(document)).violations)")
    return [
        f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in json.loads(found)
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("width", [1280, 390])
def test_confirm_decline_lookup_and_reload(
    browser: Browser, site_owner: Owner, shop: HostPage, target: Target, width: int
) -> None:
    wid = widget_with_actions(site_owner, target)
    # CSP bypassed for axe's injection only; porch's own scripts are what runs otherwise.
    context = browser.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        chat = open_widget(page, shop.url(wid))

        # A write: porch shows the card and sends nothing until the visitor confirms.
        ask(chat, "Please cancel my order C789")
        card = chat.locator(CARD)
        expect(card).to_be_visible()
        expect(card.locator(".act-what")).to_contain_text("Cancel an order")
        expect(card.locator("dt")).to_have_text(["order id"])
        expect(card.locator("dd")).to_have_text(["C789"])
        assert target.requests == []
        assert serious(page) == []
        fits(page)
        shot(page, f"actions-card-{width}")
        # Keyboard: the Confirm button is reachable and answers with Enter.
        card.get_by_role("button", name="Confirm").focus()
        page.keyboard.press("Enter")
        chip = chat.locator(f"{CHIP}[data-state=succeeded]")
        expect(chip).to_have_text(re.compile("Order C789 is cancelled."))
        expect(card).to_have_count(0)
        expect(chat.locator("[data-role=assistant] .bubble").last).to_have_text(
            "Order C789 is cancelled."
        )
        assert cancels(target, "C789") == [{"order": "C789", "reason": "visitor asked in chat"}]

        # Declined: a failed chip, marked by more than colour, and no request at all.
        ask(chat, "Please cancel my order B456")
        expect(chat.locator(CARD)).to_be_visible()
        chat.locator(CARD).get_by_role("button", name="Decline").click()
        declined = chat.locator(f"{CHIP}[data-state=failed]")
        expect(declined).to_contain_text("Okay, I have not done it.")
        expect(declined.locator(".sr-only")).to_have_text("Failed: ")
        expect(declined.locator(".act-mark")).to_have_text("\u2715")
        assert cancels(target, "B456") == []

        # A lookup runs at once: its chip, no card.
        ask(chat, "Where is my parcel A123?")
        expect(chat.locator(f"{CHIP}[data-state=succeeded]")).to_have_count(2)
        expect(chat.locator(CHIP).last).to_contain_text("Order A123 is shipped, arriving Monday.")
        assert len(target.seen("/orders/A123")) == 1

        # Typing "yes" answers the card too, and the card turns into the chip where it stood.
        ask(chat, "Please cancel my order F222")
        expect(chat.locator(CARD)).to_be_visible()
        ask(chat, "yes")
        expect(chat.locator(CARD)).to_have_count(0)
        expect(chat.locator(CHIP).filter(has_text="Order F222 is cancelled.")).to_be_visible()
        assert len(cancels(target, "F222")) == 1

        # A card left open survives a reload and can still be answered.
        ask(chat, "Please cancel my order G333")
        expect(chat.locator(CARD)).to_be_visible()
        page.reload()
        chat = reopen(page)
        expect(chat.locator(CARD)).to_be_visible()
        expect(chat.locator(CARD).locator("dd")).to_have_text(["G333"])
        # The chips came back from the history, failed one marked.
        expect(chat.locator(f"{CHIP}[data-state=succeeded]")).to_have_count(3)
        expect(chat.locator(f"{CHIP}[data-state=failed]")).to_have_count(1)
        assert cancels(target, "G333") == []
        chat.locator(CARD).get_by_role("button", name="Confirm").click()
        expect(chat.locator(CHIP).filter(has_text="Order G333 is cancelled.")).to_be_visible()
        assert len(cancels(target, "G333")) == 1
        fits(page)
        shot(page, f"actions-chips-{width}")

        page.reload()
        chat = reopen(page)
        expect(chat.locator(f"{CHIP}[data-state=succeeded]")).to_have_count(4)
        expect(chat.locator(CARD)).to_have_count(0)
        # Exactly the confirmed calls reached the shop's API, once each.
        posted = [r.path for r in target.requests if r.method == "POST"]
        assert posted == ["/orders/C789/cancel", "/orders/F222/cancel", "/orders/G333/cancel"]
        assert errors == []
    finally:
        context.close()


def test_a_card_answered_elsewhere_says_so(
    browser: Browser, site_owner: Owner, shop: HostPage, target: Target
) -> None:
    wid = widget_with_actions(site_owner, target)
    context = browser.new_context(viewport={"width": 390, "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        chat = open_widget(page, shop.url(wid))
        ask(chat, "Please cancel my order H444")
        expect(chat.locator(CARD)).to_be_visible()
        # Another tab of the same shop declines it first.
        other = context.new_page()
        other.set_default_timeout(15_000)
        other.goto(shop.url(wid))
        there = reopen(other)
        there.locator(CARD).get_by_role("button", name="Decline").click()
        expect(there.locator(f"{CHIP}[data-state=failed]")).to_be_visible()
        chat.locator(CARD).get_by_role("button", name="Confirm").click()
        expect(chat.locator(CARD).locator(".act-note")).to_have_text(
            "This request was already answered."
        )
        expect(chat.locator(CARD).get_by_role("button")).to_have_count(0)
        assert cancels(target, "H444") == []
    finally:
        context.close()


def test_progress_then_chip_buttons_wait_and_an_expired_card_says_so(
    browser: Browser, site_owner: Owner, shop: HostPage, target: Target, porch_server: PorchServer
) -> None:
    wid = widget_with_actions(site_owner, target)
    context = browser.new_context(viewport={"width": 390, "height": 800})
    release = threading.Event()

    def hold(_seen: Seen) -> None:
        release.wait(10)

    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        chat = open_widget(page, shop.url(wid))
        # While the lookup runs: a progress line with the action's title, then its chip.
        target.while_waiting = hold
        ask(chat, "Where is my parcel A123?")
        running = chat.locator(".act-run")
        expect(running).to_have_text("Look up an order…")
        expect(chat.locator(CHIP)).to_have_count(0)
        release.set()
        expect(chat.locator(CHIP)).to_have_text(re.compile("Order A123 is shipped"))
        expect(running).to_have_count(0)
        release.clear()

        ask(chat, "Please cancel my order J555")
        card = chat.locator(CARD)
        expect(card).to_be_visible()
        # The shop's API holds the request: the card must not take a second answer meanwhile.
        target.while_waiting = hold
        card.get_by_role("button", name="Confirm").click()
        expect(card).to_have_attribute("aria-busy", "true")
        expect(card.get_by_role("button", name="Confirm")).to_be_disabled()
        expect(card.get_by_role("button", name="Decline")).to_be_disabled()
        release.set()
        expect(chat.locator(CHIP).filter(has_text="Order J555 is cancelled.")).to_be_visible()
        target.while_waiting = None
        assert len(cancels(target, "J555")) == 1

        ask(chat, "Please cancel my order K666")
        expect(chat.locator(CARD)).to_be_visible()
        call_id = chat.locator(CARD).get_attribute("data-call")
        assert call_id
        with sqlite3.connect(porch_server.data_dir / "porch.db") as db:
            cur = db.execute(
                "UPDATE action_calls SET expires_at = '2020-01-01 00:00:00.000000' WHERE id = ?",
                (call_id.replace("-", ""),),
            )
            assert cur.rowcount == 1
        chat.locator(CARD).get_by_role("button", name="Confirm").click()
        expect(chat.locator(CARD).locator(".act-note")).to_have_text(
            "This request expired, so nothing was done. Please ask again."
        )
        expect(chat.locator(CARD).get_by_role("button")).to_have_count(0)
        # Focus goes back to the message box, not to a button that is gone.
        expect(chat.locator("textarea[name=message]")).to_be_focused()
        assert cancels(target, "K666") == []
    finally:
        release.set()
        context.close()
