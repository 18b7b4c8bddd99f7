"""Agents see only what they can use: the dashboard links an agent gets all answer for them,
and the widget settings, knowledge and analytics pages (403 for agents) are not linked."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import httpx
from fastapi import FastAPI

from tests.accounts.kit import member
from tests.chat.inbox.seed import Msg, seed_conversation
from tests.conftest import OwnerClient, make_widget

T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
ADMIN_ONLY = re.compile(r"^/app/(widgets/[^/]+(/knowledge|/analytics)?|api-keys|audit|webhooks)$")


class Page(HTMLParser):
    """The dashboard links (/app/...) and the API forms of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        href = values.get("href") or ""
        if tag == "a" and href.startswith("/app/"):
            self.links.append(href.split("?", 1)[0].split("#", 1)[0])
        if tag == "form" and values.get("data-api"):
            self.forms.append(f"{values.get('data-method')} {values['data-api']}")


async def page(client: httpx.AsyncClient, path: str) -> Page:
    resp = await client.get(path)
    assert resp.status_code == 200, (path, resp.status_code)
    parsed = Page()
    parsed.feed(resp.text)
    return parsed


async def test_agent_sees_the_inbox_only(app: FastAPI, owner: OwnerClient) -> None:
    w = await make_widget(owner, title="Support")
    wid = w["id"]
    cid = await seed_conversation(app, w, [Msg("user", "Where is my order?", T0)])
    agent = await member(app, owner, "agent")

    widgets_page = await page(agent.http, "/app/")
    assert f"/app/widgets/{wid}/conversations" in widgets_page.links
    assert f"/app/widgets/{wid}" not in widgets_page.links
    assert f"/app/widgets/{wid}/knowledge" not in widgets_page.links
    assert f"/app/widgets/{wid}/analytics" not in widgets_page.links
    assert "POST /api/v1/widgets" not in widgets_page.forms  # creating widgets is admin work

    # The other pages an agent reaches: the widget's inbox and a conversation.
    inbox = await page(agent.http, f"/app/widgets/{wid}/conversations")
    assert f"/app/conversations/{cid}" in inbox.links
    conversation = await page(agent.http, f"/app/conversations/{cid}")
    seen = set(widgets_page.links) | set(inbox.links) | set(conversation.links)
    assert not {link for link in seen if ADMIN_ONLY.match(link)}, seen
    for link in sorted(seen):
        resp = await agent.get(link)
        assert resp.status_code == 200, (link, resp.status_code)

    # An admin still gets every tab, and the same pages link them.
    admin = await member(app, owner, "admin")
    for path in ("/app/", f"/app/widgets/{wid}/conversations", f"/app/conversations/{cid}"):
        links = (await page(admin.http, path)).links
        assert f"/app/widgets/{wid}/knowledge" in links, path
        assert f"/app/widgets/{wid}/analytics" in links, path
    assert "POST /api/v1/widgets" in (await page(admin.http, "/app/")).forms
    for client in (agent, admin):
        await client.http.aclose()


async def test_agent_in_a_workspace_without_widgets(app: FastAPI, owner: OwnerClient) -> None:
    agent = await member(app, owner, "agent")
    resp = await agent.get("/app/")
    assert resp.status_code == 200
    assert 'data-testid="no-widgets"' in resp.text
    assert 'data-testid="create-widget"' not in resp.text
    # The owner still gets the first-widget steps.
    assert 'data-testid="create-widget"' in (await owner.get("/app/")).text
    await agent.http.aclose()
