"""The loader on a host page in a real browser: launcher, JS API, unread badge, origins,
keyboard, attributes, phone and desktop layouts, colour scheme, the demo page.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.browser import HostPage, Owner, PorchServer
from tests.web.ui import FRAME, LAUNCHER, SLOW_REPLY, Slow, ask, last_answer, open_widget, shot

pytestmark = pytest.mark.slow


def test_unread_badge_and_js_api(page: Page, slow: Slow) -> None:
    slow.llm.control.script(text=SLOW_REPLY, token_latency=0.05, first_token_latency=0.8)
    wid = slow.owner.widget()
    # Calls made before the loader ran are queued and replayed: this one opens the panel.
    page.goto(slow.host.url(wid, calls=("identify", "open")))
    expect(page.locator(FRAME)).to_be_visible()
    chat = page.frame_locator(FRAME)
    ask(chat, "What does Pro cost?")
    expect(chat.locator("#porch-typing")).to_be_visible()
    page.evaluate("porch('close')")
    expect(page.locator(FRAME)).to_be_hidden()
    badge = page.locator("[data-porch-badge]")
    expect(badge).to_have_text("1", timeout=20_000)
    expect(badge).to_be_visible()
    expect(page.locator(LAUNCHER)).to_have_attribute("aria-label", re.compile("1 unread"))
    shot(page, "05-unread-badge")
    page.evaluate("porch('toggle')")
    expect(page.locator(FRAME)).to_be_visible()
    expect(badge).to_be_hidden()
    expect(chat.locator("[data-role=assistant]").nth(1)).to_contain_text("never arrives")


def test_origin_not_allowed_gets_no_widget(page: Page, site_owner: Owner, host: HostPage) -> None:
    wid = site_owner.widget(with_faq=False, allowed_origins=["https://elsewhere.example"])
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    page.goto(host.url(wid))
    deadline = time.monotonic() + 30
    while not any("[porch]" in w for w in warnings) and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    refused = [w for w in warnings if "[porch]" in w and "allowed origins" in w]
    assert refused and "origin_not_allowed" in refused[0] and host.origin in refused[0], warnings
    expect(page.locator(LAUNCHER)).to_have_count(0)
    expect(page.locator(FRAME)).to_have_count(0)


def test_unknown_widget_warns(page: Page, host: HostPage) -> None:
    warnings: list[str] = []
    errors: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(host.url("00000000-0000-4000-8000-000000000000"))
    page.wait_for_function("() => true")
    deadline = time.monotonic() + 10
    while not warnings and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert any("no widget with this id" in w for w in warnings), warnings
    expect(page.locator(FRAME)).to_have_count(0)
    # The stub API stays callable and harmless; nothing is thrown into the host page.
    page.evaluate("window.porch && window.porch('open')")
    assert errors == []


def test_keyboard_only(page: Page, site_owner: Owner, host: HostPage) -> None:
    wid = site_owner.widget()
    page.goto(host.url(wid))
    expect(page.locator(LAUNCHER)).to_be_visible()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.hasAttribute('data-porch-launcher')"):
            break
    else:
        pytest.fail("Tab never reached the launcher")
    page.keyboard.press("Enter")
    expect(page.locator(FRAME)).to_be_visible()
    chat = page.frame_locator(FRAME)
    box = chat.locator("textarea[name=message]")
    expect(box).to_be_focused()
    page.keyboard.type("How do I reset my password?")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("Thanks!")
    expect(box).to_have_value("How do I reset my password?\nThanks!")
    page.keyboard.press("Enter")
    expect(last_answer(chat)).to_contain_text("Forgot password")
    expect(chat.locator("[data-role=user]")).to_contain_text("Thanks!")
    # Focus stays inside the panel: tabbing around never lands on the host page.
    for _ in range(25):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.tagName") == "IFRAME"
    page.keyboard.press("Escape")
    expect(page.locator(FRAME)).to_be_hidden()
    assert page.evaluate("document.activeElement.hasAttribute('data-porch-launcher')")
    expect(page.locator(LAUNCHER)).to_have_attribute("aria-expanded", "false")


def test_position_and_colour_attributes(page: Page, site_owner: Owner, host: HostPage) -> None:
    wid = site_owner.widget(with_faq=False)
    page.goto(host.url(wid, attrs=("position:bottom-left", "color:#e11d48")))
    launcher = page.locator(LAUNCHER)
    expect(launcher).to_be_visible()
    box = launcher.bounding_box()
    assert box and box["x"] < 100
    assert (
        page.evaluate(
            "getComputedStyle(document.querySelector('[data-porch-launcher]')).backgroundColor"
        )
        == "rgb(225, 29, 72)"
    )
    launcher.click()
    frame_box = page.locator(FRAME).bounding_box()
    assert frame_box and frame_box["x"] < 100
    chat = page.frame_locator(FRAME)
    expect(chat.locator(".head")).to_have_css("background-color", "rgb(225, 29, 72)")


@pytest.mark.parametrize("width", [375, 320])
def test_phone_viewport_is_full_screen(
    browser: Browser, site_owner: Owner, host: HostPage, width: int
) -> None:
    wid = site_owner.widget()
    context = browser.new_context(
        viewport={"width": width, "height": 740},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = context.new_page()
    try:
        chat = open_widget(page, host.url(wid))
        box = page.locator(FRAME).bounding_box()
        assert box == {"x": 0, "y": 0, "width": width, "height": 740}
        expect(chat.locator("#porch-expand")).to_be_hidden()
        expect(page.locator(LAUNCHER)).to_be_hidden()
        ask(chat, "How do I reset my password?")
        expect(last_answer(chat)).to_contain_text("Forgot password")
        # Nothing overflows sideways at 375 px.
        assert chat.locator("body").evaluate("b => b.scrollWidth <= window.innerWidth") is True
        shot(page, f"06-phone-{width}")
        chat.locator("#porch-close").click()
        expect(page.locator(LAUNCHER)).to_be_visible()
    finally:
        context.close()


def test_locale_from_data_attribute(page: Page, site_owner: Owner, host: HostPage) -> None:
    wid = site_owner.widget(with_faq=False)
    page.goto(host.url(wid, attrs=("locale:de", "open:true")))
    expect(page.locator(FRAME)).to_be_visible()  # data-open: open on load
    chat = page.frame_locator(FRAME)
    expect(chat.locator("textarea[name=message]")).to_have_attribute(
        "placeholder", "Nachricht eingeben…"
    )
    expect(chat.locator("#porch-send")).to_have_attribute("aria-label", "Senden")
    expect(page.locator(LAUNCHER)).to_have_attribute("aria-label", "Chat schließen")


def test_expand_to_full_screen_on_desktop(page: Page, site_owner: Owner, host: HostPage) -> None:
    wid = site_owner.widget(with_faq=False)
    chat = open_widget(page, host.url(wid))
    expand = chat.locator("#porch-expand")
    expect(expand).to_be_visible()
    expand.click()
    expect(expand).to_have_attribute("aria-pressed", "true")
    page.wait_for_function(
        "() => document.querySelector('iframe[title=Chat]').getBoundingClientRect().width"
        " === window.innerWidth"
    )
    expect(page.locator(LAUNCHER)).to_be_hidden()
    expand.click()
    page.wait_for_function(
        "() => document.querySelector('iframe[title=Chat]').getBoundingClientRect().width < 400"
    )
    expect(page.locator(LAUNCHER)).to_be_visible()


def test_dark_scheme_and_reduced_motion(
    browser: Browser, site_owner: Owner, host: HostPage
) -> None:
    wid = site_owner.widget(theme={"primary_color": "#7c3aed", "color_scheme": "auto"})
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, color_scheme="dark", reduced_motion="reduce"
    )
    page = context.new_page()
    try:
        chat = open_widget(page, host.url(wid))
        expect(chat.locator("body")).to_have_css("background-color", "rgb(17, 24, 39)")
        expect(chat.locator(".head")).to_have_css("background-color", "rgb(124, 58, 237)")
        ask(chat, "How do I reset my password?")
        expect(last_answer(chat)).to_contain_text("Forgot password")
        shot(page, "07-dark")
        animation = chat.locator("body").evaluate(
            """b => {
            const d = document.createElement('span'); d.className = 'dot'; b.appendChild(d);
            const name = getComputedStyle(d).animationName; d.remove(); return name; }"""
        )
        assert animation == "none"
    finally:
        context.close()


def test_demo_page(page: Page) -> None:
    # A server of its own: /demo embeds the oldest widget, which must be this test's.
    srv = PorchServer()
    try:
        Owner(srv.url).widget()
        page.goto(f"{srv.url}/demo")
        expect(page.locator("h1")).to_contain_text("Deploy in seconds")
        chat = open_widget(page, f"{srv.url}/demo")
        ask(chat, "What does Pro cost?")
        expect(last_answer(chat)).to_contain_text("$12")
        shot(page, "08-demo")
    finally:
        srv.stop()


def test_a_host_title_with_control_characters_still_chats(
    page: Page, site_owner: Owner, host: HostPage
) -> None:
    """The API refuses control characters in page_title; the chat sends the host page's
    title as one line, so a site with an odd title still gets its visitors answered."""
    wid = site_owner.widget()
    page.add_init_script(
        "document.addEventListener('DOMContentLoaded', () => "
        "{ document.title = 'Plans\\u0007and\\u0000prices'; })"
    )
    chat = open_widget(page, host.url(wid))
    ask(chat, "What does Pro cost?")
    expect(last_answer(chat)).to_contain_text("$12")
    listed = site_owner.http.get(f"/api/v1/widgets/{wid}/conversations").json()
    assert listed["conversations"][0]["page_title"] == "Plans and prices"
