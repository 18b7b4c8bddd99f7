"""The Team page in a real browser (chromium via Playwright, against `porch serve`): the owner
invites an agent with a one-time link, the invited person signs up through it in a browser of
their own, the owner makes them an admin, and a person in two workspaces switches between them.

Screenshots land in /tmp/porch-shots/team-*.png (PORCH_SHOTS_DIR), never in the repo.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.browser import PorchServer
from tests.web.dashboard_kit import page_problems, shot

pytestmark = pytest.mark.slow

OWNER_EMAIL = "team-owner@example.com"
MEMBER_EMAIL = "team-member@example.com"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def team_server() -> Iterator[PorchServer]:
    srv = PorchServer()
    yield srv
    srv.stop()


def csrf(page: Page) -> str:
    return str(page.locator('meta[name="porch-csrf"]').get_attribute("content"))


def test_invite_join_promote_and_switch(
    page: Page, browser: Browser, team_server: PorchServer
) -> None:
    base = team_server.url
    owner_problems = page_problems(page)

    # The owner signs up and opens the Team page.
    page.goto(f"{base}/app/signup")
    form = page.locator("[data-testid=signup-form]")
    form.get_by_label("Email").fill(OWNER_EMAIL)
    form.get_by_label("Workspace name").fill("Acme Inc")
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(f"{base}/app/")
    page.locator(".mainnav").get_by_role("link", name="Team").click()
    expect(page).to_have_url(f"{base}/app/team")
    expect(page.get_by_role("heading", name="Team")).to_be_visible()

    # An invitation for an agent, through the form: the link is shown once.
    invite = page.locator("[data-testid=invite-form]")
    expect(invite.get_by_label("Role")).to_have_value("agent")
    invite.get_by_role("button", name="Create invitation link").click()
    link = page.locator("[data-testid=invite-url]")
    expect(link).to_have_text(re.compile(rf"^{re.escape(base)}/app/join#[A-Za-z0-9_-]{{20,}}$"))
    url = link.inner_text()
    token = url.split("#", 1)[1]
    pending = page.locator("#invitations-body tr")
    expect(pending).to_have_count(1)
    expect(pending.first).to_contain_text("agent")
    shot(page, "team-invited")
    page.reload()
    expect(page.locator("#invite-reveal")).to_be_hidden()
    assert token not in page.content()  # only the inviter saw it, once
    expect(pending).to_have_count(1)

    # The invited person, in a browser of their own, opens the link and signs up.
    member_context = browser.new_context(viewport={"width": 1280, "height": 800})
    member = member_context.new_page()
    member.set_default_timeout(15_000)
    member_problems = page_problems(member)
    try:
        member.goto(url)
        expect(member.get_by_role("heading", name="Join a workspace")).to_be_visible()
        expect(member).to_have_url(f"{base}/app/join")  # the token is off the address bar
        join = member.locator("[data-testid=join-signup]")
        join.get_by_label("Email").fill(MEMBER_EMAIL)
        join.get_by_label("Password").fill(PASSWORD)
        join.get_by_role("button", name="Create account and join").click()
        expect(member).to_have_url(f"{base}/app/")
        header = member.locator("header.top")
        expect(header.locator(".who-ws")).to_have_text("Acme Inc")
        expect(header.locator(".who-mail")).to_have_text(MEMBER_EMAIL)
        # An agent: the inbox, the team, and nothing that would answer 403.
        nav = header.locator(".mainnav")
        expect(nav.get_by_role("link", name="API keys")).to_have_count(0)
        expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)
        expect(member.locator("[data-testid=create-widget]")).to_have_count(0)
        expect(header.get_by_test_id("workspace-switch")).to_be_hidden()  # one workspace
        nav.get_by_role("link", name="Team").click()
        row = member.locator("[data-testid=members] tbody tr", has_text=MEMBER_EMAIL)
        expect(row).to_contain_text("agent")
        expect(member.locator("[data-testid=invite-form]")).to_have_count(0)
        shot(member, "team-agent")

        # The link worked once: opened again, it signs nobody up.
        again_context = browser.new_context()
        try:
            again = again_context.new_page()
            again.set_default_timeout(15_000)
            again.goto(url)
            retry = again.locator("[data-testid=join-signup]")
            retry.get_by_label("Email").fill("someone-else@example.com")
            retry.get_by_label("Password").fill(PASSWORD)
            retry.get_by_role("button", name="Create account and join").click()
            expect(retry.locator(".form-error")).to_be_visible()
            expect(again).to_have_url(f"{base}/app/join")
        finally:
            again_context.close()

        # The owner sees the new member and makes them an admin.
        page.reload()
        expect(pending).to_have_count(0)  # the link is used up
        role = page.get_by_label(f"Role of {MEMBER_EMAIL}")
        expect(role).to_have_value("agent")
        # Choosing a role saves it at once, then the page reloads from the server.
        with (
            page.expect_navigation(),
            page.expect_response(
                lambda r: r.request.method == "PATCH" and "/api/v1/members/" in r.url
            ) as saved,
        ):
            role.select_option("admin")
        assert saved.value.status == 200, saved.value.text()
        expect(page.get_by_label(f"Role of {MEMBER_EMAIL}")).to_have_value("admin")
        shot(page, "team-owner")

        # The member's next page knows it: admin pages are linked now.
        member.reload()
        expect(row).to_contain_text("admin")
        expect(nav.get_by_role("link", name="API keys")).to_be_visible()

        # A workspace of their own as well: the switcher lists both and switches.
        made = member.request.post(
            f"{base}/api/v1/workspaces",
            data={"name": "Side project"},
            headers={"X-CSRF-Token": csrf(member)},
        )
        assert made.status == 201, made.text()
        member.goto(f"{base}/app/")
        switch = header.get_by_test_id("workspace-switch")
        expect(switch).to_be_visible()
        options = switch.locator("option")
        expect(options).to_have_count(2)
        expect(options).to_have_text(["Acme Inc (admin)", "Side project (owner)"])
        expect(switch.locator("option:checked")).to_have_text("Acme Inc (admin)")
        shot(member, "team-switcher", full_page=False)
        switch.select_option(label="Side project (owner)")
        expect(header.locator(".who-ws")).to_have_text("Side project")
        expect(member).to_have_url(f"{base}/app/")
        expect(member.get_by_role("heading", name="Create your first widget")).to_be_visible()
        expect(switch.locator("option:checked")).to_have_text("Side project (owner)")
        # And back.
        switch.select_option(label="Acme Inc (admin)")
        expect(header.locator(".who-ws")).to_have_text("Acme Inc")
        assert member_problems == [], member_problems
    finally:
        member_context.close()
    assert owner_problems == [], owner_problems
