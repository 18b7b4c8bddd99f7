"""The Actions page in Chromium (against `porch serve`), at 1280 and 390 px: set a secret,
define an action through the form (a JSON mistake caught in the page, a bad source named by
the API), run the test panel against a loopback API the test runs (the request arrives with
the secret; the page shows the status and the visitor's text and never the secret), import
an OpenAPI document by paste, and see the failed call marked in the log.

Screenshots land in /tmp/porch-shots/actions-*.png (PORCH_SHOTS_DIR), never in the repo.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.actions.target import Target
from tests.web.browser import Owner, PorchServer
from tests.web.dashboard_kit import page_problems, shot
from tests.web.test_dashboard_fit import overflow, serious

pytestmark = pytest.mark.slow

SECRET = "sk_live_never_on_the_page_7731"


YAML = """openapi: 3.0.3
info: {title: Orders, version: "1"}
servers: [{url: "BASE"}]
paths:
  /orders/{orderId}/cancel:
    post:
      operationId: cancelOrder
      parameters: [{name: orderId, in: path, required: true, schema: {type: string}}]
"""


def spec(base: str) -> str:
    return json.dumps(
        {
            "openapi": "3.0.3",
            "info": {"title": "Status", "version": "1"},
            "servers": [{"url": base}],
            "paths": {"/fail": {"get": {"operationId": "checkFailing", "summary": "Always fails"}}},
        },
        indent=2,
    )


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[PorchServer, Owner]]:
    srv = PorchServer()
    yield srv, Owner(srv.url)
    srv.stop()


def sign_in(browser: Browser, srv: PorchServer, width: int) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{srv.url}/app/login")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{srv.url}/app/")
    return page


def fits(page: Page, where: str) -> None:
    size = overflow(page)
    assert int(str(size["scroll"])) <= int(str(size["client"])), f"{where}: {size}"
    assert serious(page) == [], where


@pytest.mark.parametrize("width", [1280, 390])
def test_define_test_import_and_read_the_log(
    browser: Browser, server: tuple[PorchServer, Owner], width: int
) -> None:
    srv, owner = server
    wid = owner.widget(with_faq=False, name=f"Shop {width}")
    page = sign_in(browser, srv, width)
    problems = page_problems(page)
    page.goto(f"{srv.url}/app/widgets/{wid}")
    page.get_by_role("navigation", name="Widget").get_by_role("link", name="Actions").click()
    expect(page).to_have_url(f"{srv.url}/app/widgets/{wid}/actions")
    expect(page.get_by_test_id("no-actions")).to_be_visible()
    fits(page, "empty")

    secret = page.get_by_test_id("secret-form")
    secret.get_by_label("Name").fill("orders_key")
    secret.get_by_label("Value").fill(SECRET)
    secret.get_by_role("button", name="Save secret").click()
    expect(page.get_by_test_id("secret-list")).to_contain_text("orders_key")

    with Target() as target:
        form = page.get_by_test_id("action-form")
        form.get_by_label("Slug").fill("order_status")
        form.get_by_label("Title").fill("Look up an order")
        form.get_by_label("URL template").fill(target.base + "/orders/{{order_id}}?email={{email}}")
        params = form.get_by_label("Parameters (JSON Schema)")
        params.fill('{"type": "object", "properties": {"order_id": ')
        form.get_by_role("button", name="Create action").click()
        expect(form.locator(".field-error")).to_contain_text("Not valid JSON")
        expect(params).to_have_attribute("aria-invalid", "true")
        params.fill(
            json.dumps(
                {
                    "type": "object",
                    "properties": {
                        "order_id": {"type": "string", "description": "your order number"},
                        "email": {"type": "string"},
                    },
                    "required": ["order_id", "email"],
                }
            )
        )
        sources = form.get_by_label("Where parameters come from (JSON)")
        sources.fill('{"email": "identity.nope!"}')
        form.get_by_label("Type", exact=True).select_option("bearer")
        form.get_by_label("Secret name").fill("orders_key")
        form.get_by_label("Response fields kept").fill("order.status\norder.eta")
        form.get_by_label("Result template").fill(
            "Order {{order_id}} is {{response.order.status}}, arriving {{response.order.eta}}."
        )
        form.get_by_label("Hosts allowed to be private addresses").fill("127.0.0.1")
        form.get_by_label("Enabled: offered to visitors").check()
        form.get_by_role("button", name="Create action").click()
        # The API's refusal lands on the field it names.
        expect(sources).to_have_attribute("aria-invalid", "true")
        expect(form.locator(".field-error")).to_contain_text("source of email")
        sources.fill('{"email": "identity.user_id"}')
        form.get_by_role("button", name="Create action").click()
        listed = page.get_by_test_id("action-list")
        expect(listed).to_contain_text("order_status")
        expect(listed).to_contain_text("Enabled")
        expect(listed).to_contain_text("never")

        panel = page.get_by_test_id("test-form")
        expect(panel.get_by_label(re.compile("^order_id"))).to_be_visible()
        expect(panel).to_contain_text("Filled by porch: email (identity.user_id)")
        panel.get_by_label(re.compile("^order_id")).fill("A123")
        panel.get_by_label("A verified visitor").check()
        panel.get_by_label("User id").fill("alice@example.com")
        claims = panel.get_by_label("Claims (JSON)")
        claims.fill("{plan: pro")
        panel.get_by_role("button", name="Run the test").click()
        expect(panel.locator(".field-error")).to_contain_text("Not valid JSON")
        assert target.requests == []
        claims.fill('{"plan": "pro"}')
        panel.get_by_role("button", name="Run the test").click()
        result = page.get_by_test_id("test-result")
        expect(result.get_by_test_id("test-outcome")).to_have_text("Succeeded")
        expect(result.locator("#r-status")).to_have_text("200")
        expect(result.locator("#r-visitor")).to_have_text("Order A123 is shipped, arriving Monday.")
        expect(result.locator("#r-request")).to_contain_text("Bearer ••••")
        expect(result.locator("#r-projected")).to_contain_text('"status": "shipped"')
        (seen,) = target.seen("/orders/A123")
        assert seen.headers["Authorization"] == f"Bearer {SECRET}"
        assert seen.query["email"] == ["alice@example.com"]
        assert SECRET not in page.content()
        fits(page, "after a test run")
        shot(page, f"actions-{width}-tested")

        imp = page.get_by_test_id("import-form")
        imp.get_by_label("Document", exact=True).fill(spec(target.base))
        imp.get_by_role("button", name="Import drafts").click()
        drafts = page.get_by_test_id("import-result")
        expect(drafts).to_contain_text("check_failing")
        expect(drafts).to_contain_text(f"GET {target.base}/fail")
        # Or from a file, read in the browser.
        yaml = YAML.replace("BASE", target.base).encode()
        imp.locator("#i-file").set_input_files(
            {"name": "cancel.yaml", "mimeType": "application/yaml", "buffer": yaml}
        )
        expect(imp.get_by_label("Document", exact=True)).to_have_value(re.compile("cancelOrder"))
        imp.get_by_role("button", name="Import drafts").click()
        expect(drafts).to_contain_text("cancel_order")
        expect(drafts).to_contain_text(f"POST {target.base}/orders/{{{{orderId}}}}/cancel")

        page.reload()
        expect(page.get_by_test_id("action-list")).to_contain_text("check_failing")
        row = page.locator("tr[data-slug=check_failing]")
        expect(row).to_contain_text("Disabled")
        # A draft has no allowlist: edit it (the form is filled from the API) to reach loopback.
        row.get_by_role("button", name="Edit").click()
        form = page.get_by_test_id("action-form")
        expect(form.get_by_label("Slug")).to_have_value("check_failing")
        expect(form.get_by_label("URL template")).to_have_value(target.base + "/fail")
        form.get_by_label("Hosts allowed to be private addresses").fill("127.0.0.1")
        form.get_by_role("button", name="Save changes").click()
        row = page.locator("tr[data-slug=check_failing]")
        expect(row).to_contain_text("version 2")
        expect(row).to_contain_text("Disabled")
        row.get_by_role("button", name="Test").click()
        panel = page.get_by_test_id("test-form")
        expect(panel).to_contain_text("This action takes no parameters.")
        panel.get_by_role("button", name="Run the test").click()
        outcome = page.get_by_test_id("test-result").get_by_test_id("test-outcome")
        expect(outcome).to_have_text("Failed: http_5xx")
        expect(page.locator("#r-status")).to_have_text("500")

    page.reload()
    log = page.get_by_test_id("call-log")
    failed = log.locator("tr.call-failed")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("Failed")
    expect(failed).to_contain_text("http_5xx")
    expect(failed).to_contain_text("check_failing")
    expect(log.locator("tr:not(.call-failed)[data-call]")).to_contain_text("Succeeded")
    filters = page.get_by_test_id("call-filters")
    filters.get_by_label("Failed only").check()
    filters.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("call-log").locator("tr[data-call]")).to_have_count(1)
    expect(page.get_by_test_id("call-log")).to_contain_text("check_failing")
    assert SECRET not in page.content()
    fits(page, "the log")
    shot(page, f"actions-{width}-log")

    page.goto(f"{srv.url}/app/widgets/{wid}/actions")
    row = page.locator("tr[data-slug=order_status]")
    row.get_by_role("button", name=re.compile("^Disable")).click()
    expect(page.locator("tr[data-slug=order_status]")).to_contain_text("Disabled")
    page.locator("tr[data-slug=check_failing]").get_by_role(
        "button", name=re.compile("^Delete")
    ).click()
    page.locator("#porch-confirm-ok").click()
    expect(page.locator("tr[data-slug=check_failing]")).to_have_count(0)
    assert problems == [], problems
    page.context.close()
