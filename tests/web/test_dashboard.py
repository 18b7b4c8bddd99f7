"""The owner dashboard in a real browser (chromium via Playwright, against `porch serve`):
sign up, a widget, its knowledge, a visitor's conversation in the inbox, analytics, API keys.

Screenshots land in /tmp/porch-shots/dashboard-*.png (PORCH_SHOTS_DIR), never in the repo.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.web.browser import FAQ, PorchServer
from tests.web.dashboard_kit import SlowSite, page_problems, shot, visitor_chat

pytestmark = pytest.mark.slow

EMAIL = "dash-owner@example.com"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def dash() -> Iterator[PorchServer]:
    # The crawl test reads a site on loopback, which porch refuses unless told otherwise.
    srv = PorchServer(PORCH_CRAWL_ALLOW_PRIVATE_NETWORKS="true")
    yield srv
    srv.stop()


@pytest.fixture
def problems(page: Page) -> list[str]:
    return page_problems(page)


def sign_up(page: Page, base: str) -> None:
    page.goto(f"{base}/app/")
    expect(page).to_have_url(re.compile(r"/app/login\?next=/app/$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "dashboard-login")
    page.get_by_role("link", name="Create an account").click()
    form = page.locator("[data-testid=signup-form]")
    form.get_by_label("Email").fill(EMAIL)
    form.get_by_label("Workspace name").fill("Acme Inc")
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(f"{base}/app/")


def test_owner_journey(page: Page, dash: PorchServer, problems: list[str]) -> None:
    base = dash.url
    page.set_viewport_size({"width": 1360, "height": 900})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    sign_up(page, base)

    # A new owner is told what to do first.
    expect(page.get_by_role("heading", name="Create your first widget")).to_be_visible()
    expect(page.locator(".top")).to_contain_text("Acme Inc")
    shot(page, "dashboard-widgets-empty")
    page.get_by_label("Widget name").fill("Acme help")
    page.get_by_role("button", name="Create widget").click()
    expect(page).to_have_url(re.compile(r"/app/widgets/[0-9a-f-]{36}$"))
    wid = page.url.rsplit("/", 1)[1]

    # Settings: embed snippet with a copy button, the preview, and validation from the API.
    snippet = page.locator("#embed-snippet")
    expect(snippet).to_contain_text(f'data-widget-id="{wid}"')
    page.get_by_role("button", name="Copy").first.click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert wid in page.evaluate("navigator.clipboard.readText()")
    expect(page.locator("#widget-warnings")).to_contain_text("any website can embed")
    preview = page.frame_locator("iframe#preview")
    expect(preview.locator("#porch-title")).to_have_text("Acme help")

    form = page.locator("[data-testid=settings-form]")
    form.get_by_label("Title", exact=True).fill("Acme Support")
    form.get_by_label("Subtitle").fill("We answer in seconds")
    form.get_by_label("Greeting").fill("Hi! Ask me about passwords, plans or refunds.")
    form.get_by_label("Suggested questions").fill(
        "How do I reset my password?\nWhat does Pro cost?"
    )
    form.get_by_label("Thumbs up and down").check()
    form.get_by_label("Allowed websites").fill("not an origin")
    form.get_by_role("button", name="Save changes").click()
    expect(form.locator(".field-error")).to_contain_text("not an origin")
    form.get_by_label("Allowed websites").fill(f"https://shop.example\n{base}")
    form.get_by_label("Per visitor, per minute").fill("30")
    form.get_by_role("button", name="Save changes").click()
    expect(page.locator("#saved-note")).to_have_text("Saved")
    expect(page.locator("#widget-warnings")).to_be_empty()
    # The preview reloads with what was saved.
    expect(preview.locator("#porch-title")).to_have_text("Acme Support")
    expect(preview.locator(".chip")).to_have_count(2)
    page.reload()
    expect(form.get_by_label("Per visitor, per minute")).to_have_value("30")
    expect(form.get_by_label("Allowed websites")).to_have_value(f"https://shop.example\n{base}")
    shot(page, "dashboard-settings", full_page=False)

    # The widget list links every page of the widget.
    page.get_by_role("link", name="Widgets").first.click()
    card = page.locator(".widget-card", has_text="Acme help")
    expect(card).to_contain_text("0 conversations")
    shot(page, "dashboard-widgets")

    # Knowledge: empty state, add a text source, watch it become ready, test retrieval.
    card.get_by_role("link", name="Knowledge").click()
    expect(page.locator("#sources-empty")).to_be_visible()
    add = page.locator("[data-testid=add-text]")
    add.get_by_label("Title").fill("Help center")
    add.get_by_label("Text", exact=True).fill(FAQ)
    add.get_by_role("button", name="Add text").click()
    row = page.locator("#sources-body tr", has_text="Help center")
    expect(row).to_be_visible()
    expect(row).to_have_attribute("data-status", "ready", timeout=30_000)
    expect(row.locator(".badge")).to_have_text("Ready")
    assert int(row.locator("td.num").first.inner_text()) >= 1
    search = page.locator("[data-testid=search-form]")
    search.get_by_label("Question").fill("reset my password")
    search.get_by_role("button", name="Search").click()
    expect(page.locator("#search-results .result").first).to_contain_text("Forgot password")
    page.get_by_role("tab", name="Website").click()
    expect(page.locator("[data-testid=add-url]")).to_be_visible()
    expect(add).to_be_hidden()
    page.get_by_role("tab", name="Text or FAQ").click()
    shot(page, "dashboard-knowledge")

    # Two visitors chat: one answered and liked, one the knowledge base cannot answer.
    answered = visitor_chat(
        base,
        wid,
        "How do I reset my password?",
        "up",
        page_url="https://shop.example/account",
        user={"id": "u-7", "name": "Ann Example", "email": "ann@example.com"},
    )
    visitor_chat(base, wid, "Do you sell gift cards?", "down")

    page.get_by_role("link", name="Conversations").click()
    rows = page.locator("[data-testid=inbox-list] .conv-row")
    expect(rows).to_have_count(2)
    # Newest first; the preview is the last message, here the reply that found nothing.
    expect(rows.first).to_contain_text("Visitor")
    expect(rows.nth(1)).to_contain_text("Ann Example")
    shot(page, "dashboard-inbox")
    filters = page.locator("[data-testid=inbox-filters]")
    filters.get_by_label("Search").fill("reset my password")
    filters.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ann Example")
    filters.get_by_label("Search").fill("")
    filters.get_by_label("Feedback").select_option("down")
    filters.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Visitor")
    filters.get_by_label("Status").select_option("closed")
    filters.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No conversation matches these filters.")).to_be_visible()

    page.goto(f"{base}/app/conversations/{answered}")
    messages = page.locator("[data-testid=messages]")
    expect(messages.locator("[data-role=user]")).to_contain_text("reset my password")
    answer = messages.locator("[data-role=assistant]").last
    expect(answer).to_contain_text("Forgot password")
    expect(answer.locator(".msg-sources")).to_contain_text("Help center")
    expect(answer.locator(".msg-usage")).to_contain_text("tokens")
    expect(answer.locator(".msg-rating")).to_contain_text("Rated up")
    expect(page.locator("[data-testid=total-tokens]")).not_to_have_text(re.compile(r"^0 "))
    expect(page.locator(".conv-side")).to_contain_text("ann@example.com")
    shot(page, "dashboard-conversation")
    page.get_by_role("button", name="Close conversation").click()
    expect(page.get_by_test_id("status-badge")).to_have_text("Closed")
    expect(page.get_by_role("button", name="Reopen conversation")).to_be_visible()

    # Analytics: counts, five inline SVG plots, the unanswered question.
    page.get_by_role("link", name="Analytics").click()
    totals = page.locator("[data-testid=totals]")
    expect(totals.locator("[data-stat=conversations]")).to_have_text("2")
    expect(totals.locator("[data-stat=messages]")).to_have_text("4")
    expect(totals.locator("[data-stat=up]")).to_contain_text("1")
    expect(totals.locator("[data-stat=down]")).to_contain_text("1")
    expect(totals.locator("[data-stat=unanswered]")).to_have_text("1")
    expect(page.locator("svg.chart")).to_have_count(5)
    assert page.locator("svg.chart rect").count() >= 3
    expect(page.locator("[data-testid=unanswered]")).to_contain_text("Do you sell gift cards?")
    shot(page, "dashboard-analytics")

    # API keys: shown once, works, revoked after a confirmation.
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_text("No API keys yet.")).to_be_visible()
    page.get_by_label("Name").fill("CI import")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("[data-testid=new-key]")).to_have_text(re.compile(r"^porch_sk_\S{20,}$"))
    key = page.locator("[data-testid=new-key]").inner_text()
    expect(page.locator("#keys-body tr")).to_have_count(1)
    shot(page, "dashboard-api-keys")
    auth = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{base}/api/v1/widgets", headers=auth).status_code == 200
    page.get_by_role("button", name="Revoke").click()
    dialog = page.locator("dialog#porch-confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("CI import")
    dialog.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("No API keys yet.")).to_be_visible()
    assert httpx.get(f"{base}/api/v1/widgets", headers=auth).status_code == 401

    # Delete the widget: cancel first, then confirm.
    page.goto(f"{base}/app/widgets/{wid}")
    page.get_by_role("button", name="Delete widget…").click()
    dialog.get_by_role("button", name="Cancel").click()
    expect(page).to_have_url(f"{base}/app/widgets/{wid}")
    page.get_by_role("button", name="Delete widget…").click()
    dialog.get_by_role("button", name="Delete widget").click()
    expect(page).to_have_url(f"{base}/app/")
    expect(page.get_by_role("heading", name="Create your first widget")).to_be_visible()

    # Sign out; pages send a signed-out visitor to sign in, and back after.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/app/login$"))
    page.goto(f"{base}/app/api-keys")
    expect(page).to_have_url(re.compile(r"/app/login\?next=/app/api-keys$"))
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".form-error")).to_have_text("Wrong email or password.")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/app/api-keys")

    assert problems == []


def test_phone_width_and_keyboard(page: Page, dash: PorchServer, problems: list[str]) -> None:
    """The pages hold together at 390 px, and the sign-in form works from the keyboard."""
    base = dash.url
    body = {"email": EMAIL, "password": PASSWORD}
    assert httpx.post(f"{base}/api/v1/auth/signup", json=body).status_code in (201, 409)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/app/login")
    expect(page.get_by_label("Email")).to_be_focused()  # autofocus
    page.keyboard.type(EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/app/")
    page.get_by_label("Widget name").fill("Phone widget")
    page.get_by_label("Widget name").press("Enter")
    expect(page).to_have_url(re.compile(r"/app/widgets/[0-9a-f-]{36}$"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the settings page scrolls sideways ({width}px)"
    shot(page, "dashboard-phone-settings", full_page=False)
    page.get_by_role("link", name="Knowledge").click()
    expect(page.locator("#sources-empty")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the knowledge page scrolls sideways ({width}px)"
    shot(page, "dashboard-phone-knowledge", full_page=False)
    assert problems == []


def test_sources_update_live(page: Page, dash: PorchServer, problems: list[str]) -> None:
    """A crawl is seen queued and running, then ready; polling stops; upload, re-sync, delete."""
    base = dash.url
    owner = httpx.Client(base_url=base, timeout=30)
    body = {"email": EMAIL, "password": PASSWORD}
    if owner.post("/api/v1/auth/signup", json=body).status_code != 201:
        assert owner.post("/api/v1/auth/login", json=body).status_code == 200
    page.context.add_cookies(
        [{"name": "porch_session", "value": owner.cookies["porch_session"], "url": base}]
    )
    owner.close()
    page.set_viewport_size({"width": 1360, "height": 900})
    page.goto(f"{base}/app/")
    page.locator("[data-testid=create-widget] input[name=name]").fill("Crawled help")
    page.get_by_role("button", name="Create widget").click()
    expect(page).to_have_url(re.compile(r"/app/widgets/[0-9a-f-]{36}$"))
    page.get_by_role("link", name="Knowledge").click()
    expect(page.locator("#sources-empty")).to_be_visible()

    polls: list[float] = []
    page.on(
        "request",
        lambda r: polls.append(time.monotonic()) if r.url.endswith("/sources") else None,
    )
    site = SlowSite()
    try:
        page.get_by_role("tab", name="Website").click()
        form = page.locator("[data-testid=add-url]")
        form.get_by_label("Start page").fill(site.url)
        form.get_by_label("Links deep").fill("1")
        form.get_by_role("button", name="Crawl website").click()
        row = page.locator("#sources-body tr").first
        expect(row).to_have_attribute("data-status", re.compile("pending|running"))
        expect(row.locator("progress")).to_be_visible()
        expect(page.locator("#sources-live")).to_contain_text("being ingested")
        shot(page, "dashboard-knowledge-running")
        expect(row).to_have_attribute("data-status", "ready", timeout=60_000)
        expect(row.locator(".src-sub")).to_contain_text("6 pages")
        expect(row.locator("progress")).to_have_count(0)
        expect(page.locator("#sources-live")).to_have_text("")
        # Nothing is running: the page stops asking.
        settled = len(polls)
        page.wait_for_timeout(4500)
        assert len(polls) == settled, "the page kept polling with nothing running"

        # Re-sync: queued again, then ready again.
        with page.expect_response(re.compile(r"/resync$")) as resync:
            row.get_by_role("button", name=re.compile("^Re-sync")).click()
        assert resync.value.status == 202
        expect(row).to_have_attribute("data-status", re.compile("pending|running"))
        expect(row).to_have_attribute("data-status", "ready", timeout=60_000)
        assert len(polls) > settled
    finally:
        site.close()

    # A file upload, through the same form machinery as multipart.
    page.get_by_role("tab", name="File").click()
    upload = page.locator("[data-testid=add-file]")
    upload.get_by_label("Document").set_input_files(
        files=[
            {
                "name": "returns-policy.md",
                "mimeType": "text/markdown",
                "buffer": b"# Returns\nUnused items can be returned within 60 days for a refund.\n",
            }
        ]
    )
    upload.get_by_role("button", name="Upload").click()
    # Listed as visitors see it: the name without its extension.
    file_row = page.locator("#sources-body tr", has_text="returns-policy")
    expect(file_row).to_have_attribute("data-status", "ready", timeout=30_000)
    search = page.locator("[data-testid=search-form]")
    search.get_by_label("Question").fill("returned within 60 days")
    search.get_by_role("button", name="Search").click()
    expect(page.locator("#search-results .result").first).to_contain_text("60 days")
    shot(page, "dashboard-knowledge-sources")

    file_row.get_by_role("button", name=re.compile("^Delete")).click()
    page.locator("dialog#porch-confirm").get_by_role("button", name="Delete source").click()
    expect(file_row).to_have_count(0)
    expect(page.locator("#sources-body tr")).to_have_count(1)
    assert problems == []
