"""The Webhooks page in a real browser (chromium via Playwright, against `porch serve`): add a
webhook through the form, see its secret once, watch a signed delivery reach a receiver on
loopback and land in the delivery log, pause it, delete it after a confirmation.

Screenshots land in /tmp/porch-shots/webhooks-*.png (PORCH_SHOTS_DIR), never in the repo.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from porch.webhooks import signing
from tests.web.browser import Owner, PorchServer
from tests.web.dashboard_kit import page_problems, shot
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hooks_server() -> Iterator[PorchServer]:
    # The receiver is on loopback, which porch refuses unless told otherwise; quick retries.
    srv = PorchServer(
        PORCH_CRAWL_ALLOW_PRIVATE_NETWORKS="true",
        PORCH_WEBHOOK_RETRY_SECONDS="0.2",
        PORCH_JOBS_QUEUE="memory",
    )
    yield srv
    srv.stop()


@pytest.fixture
def problems(page: Page) -> list[str]:
    return page_problems(page)


def newest_delivery(page: Page, log_url: str, status: str) -> Locator:
    """The log's newest row once it shows `status`, reloading the page as an owner would."""
    deadline = time.monotonic() + 30
    while True:
        page.goto(log_url)
        row = page.locator("[data-testid=deliveries] tbody tr").first
        if row.count() and status in row.locator(".badge").inner_text():
            return row
        assert time.monotonic() < deadline, f"no {status} delivery: {page.content()[-2000:]}"
        time.sleep(0.2)


def test_add_a_webhook_and_read_its_delivery_log(
    page: Page, hooks_server: PorchServer, problems: list[str]
) -> None:
    base = hooks_server.url
    owner = Owner(base)
    wid = owner.widget(with_faq=False)
    page.set_viewport_size({"width": 1360, "height": 900})

    # Signed out, the page asks to sign in and comes back after.
    page.goto(f"{base}/app/webhooks")
    expect(page).to_have_url(re.compile(r"/app/login\?next=/app/webhooks$"))
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/app/webhooks")
    expect(page.get_by_role("link", name="Webhooks")).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("No webhooks yet.")).to_be_visible()

    form = page.locator("[data-testid=create-webhook]")
    with Receiver(script=[500]) as receiver:
        # Bad input gets a clear answer, nothing is created.
        form.get_by_label("URL", exact=True).fill(receiver.url)
        form.get_by_role("button", name="Add webhook").click()
        expect(form.locator(".form-error")).to_have_text("Pick at least one event.")
        form.get_by_label("conversation.created").check()
        form.get_by_label("URL", exact=True).fill("ftp://files.example.com/hook")
        form.get_by_role("button", name="Add webhook").click()
        expect(form.locator(".field-error")).to_contain_text("http:// or https://")
        expect(page.locator("#hooks-body tr")).to_have_count(0)

        form.get_by_label("URL", exact=True).fill(receiver.url)
        form.get_by_label("Description (optional)").fill("CRM <sync>")
        form.get_by_role("button", name="Add webhook").click()
        secret_box = page.locator("[data-testid=webhook-secret]")
        expect(secret_box).to_have_text(re.compile(r"^whsec_\S{20,}$"))
        secret = secret_box.inner_text()
        row = page.locator("#hooks-body tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(receiver.url)
        expect(row).to_contain_text("CRM <sync>")
        expect(row).to_contain_text("conversation.created")
        expect(form.get_by_label("conversation.created")).not_to_be_checked()
        shot(page, "webhooks-created")
        hook_id = row.get_attribute("data-hook")
        assert hook_id

        # Shown once: a reload lists the webhook without its secret.
        page.reload()
        expect(page.locator("#hooks-body tr")).to_have_count(1)
        expect(page.locator("#secret-reveal")).to_be_hidden()
        assert secret not in page.content()

        page.get_by_role("link", name="Delivery log").click()
        log_url = f"{base}/app/webhooks/{hook_id}"
        expect(page).to_have_url(log_url)
        expect(page.get_by_text("No deliveries yet.")).to_be_visible()

        # A visitor starts a conversation: the receiver fails once, takes the retry.
        started = httpx.post(f"{base}/api/v1/widgets/{wid}/conversations", json={})
        assert started.status_code == 201, started.text
        delivered = newest_delivery(page, log_url, "delivered")
        cells = delivered.locator("td")
        expect(cells.nth(0)).to_contain_text("conversation.created")
        expect(cells.nth(1)).to_contain_text("HTTP 200")
        expect(cells.nth(2)).to_have_text("2")
        expect(cells.nth(5)).to_contain_text(" UTC")
        expect(page.locator("[data-testid=deliveries] tbody tr")).to_have_count(1)
        delivered.get_by_text("Body").click()
        body = json.loads(delivered.locator("details pre").inner_text())
        assert body["type"] == "conversation.created"
        assert body["conversation_id"] == started.json()["conversation_id"]
        shot(page, "webhooks-log")

    # Both attempts reached the receiver, signed with the secret the page showed.
    assert len(receiver.requests) == 2
    for request in receiver.requests:
        assert request.headers["Porch-Delivery"] == body["id"]
        assert signing.verify(
            secret, request.headers["Porch-Signature"], request.body, now=int(time.time())
        )

    # Pause it, then delete it after the confirmation dialog.
    page.get_by_role("button", name="Pause").click()
    expect(page.locator(".head-row .badge")).to_have_text("Paused")
    assert owner.http.get(f"/api/v1/webhooks/{hook_id}").json()["active"] is False
    page.get_by_role("button", name="Resume").click()
    expect(page.locator(".head-row .badge")).to_have_text("Active")
    page.get_by_role("button", name="Delete").click()
    dialog = page.locator("dialog#porch-confirm")
    expect(dialog).to_contain_text(receiver.url)
    dialog.get_by_role("button", name="Cancel").click()
    expect(page).to_have_url(log_url)
    page.get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(f"{base}/app/webhooks")
    expect(page.get_by_text("No webhooks yet.")).to_be_visible()
    assert owner.http.get(f"/api/v1/webhooks/{hook_id}").status_code == 404

    assert problems == []
