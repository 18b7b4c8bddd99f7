"""Playwright helpers shared by the browser tests: open the widget, ask, find the answer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import FrameLocator, Locator, Page, expect

from tests.fakes.openai_server import OpenAIFake
from tests.web.browser import SHOTS, HostPage, Owner, PorchServer

CHROMIUM = Path("/usr/bin/chromium")
FRAME = 'iframe[title="Chat"]'
LAUNCHER = "[data-porch-launcher]"
SLOW_REPLY = (
    "To reset your password, open the sign-in page and click **Forgot password**. "
    "The link stays valid for one hour [1].\n\n- Check your spam folder\n- Write to us if it "
    "never arrives"
)


@dataclass
class Slow:
    """A porch whose answers come from a fake OpenAI that takes its time per token."""

    server: PorchServer
    owner: Owner
    host: HostPage
    llm: OpenAIFake


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def open_widget(page: Page, url: str) -> FrameLocator:
    page.goto(url)
    launcher = page.locator(LAUNCHER)
    expect(launcher).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    assert launcher.get_attribute("aria-label")
    launcher.click()
    expect(page.locator(FRAME)).to_be_visible()
    chat = page.frame_locator(FRAME)
    expect(chat.locator("textarea[name=message]")).to_be_visible()
    return chat


def ask(chat: FrameLocator, question: str) -> None:
    box = chat.locator("textarea[name=message]")
    box.fill(question)
    box.press("Enter")


def last_answer(chat: FrameLocator) -> Locator:
    return chat.locator("[data-role=assistant][data-id]").last
