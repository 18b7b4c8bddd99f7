"""The Actions page: definitions with their last call, secrets by name only, the call log with
its filters and failed calls marked, escaped text; admins only; another workspace's widget is
a 404 page. The calls are real test runs against a loopback API."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.accounts.kit import member
from tests.actions.helpers import create, order_status
from tests.actions.target import Target
from tests.analytics.test_actions import say, verified
from tests.conftest import BOTH, OwnerClient, make_widget, signup
from tests.dashboard.test_pages import EVIL, assert_strict

pytestmark = [
    pytest.mark.parametrize("backend", BOTH, indirect=True),
    pytest.mark.settings(allow_signup=True),
]
SECRET = "sk_live_do_not_show_4242"


def rows(html: str) -> list[str]:
    log = html[html.find('data-testid="call-log"') :]
    return re.findall(r"<tr data-call=.*?</tr>", log, re.S)


async def run(owner: OwnerClient, aid: str, args: dict[str, Any]) -> dict[str, Any]:
    ran = await owner.post(
        f"/api/v1/actions/{aid}/test",
        json={"arguments": args, "visitor": {"user_id": "a@example.com"}},
    )
    assert ran.status_code == 200, ran.text
    return dict(ran.json())


async def test_the_page_lists_actions_secrets_and_calls(
    app: FastAPI, owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await make_widget(owner)
    put = await owner.http.put(
        f"/api/v1/widgets/{w['id']}/secrets/orders_key",
        json={"value": SECRET},
        headers={"X-CSRF-Token": owner.csrf},
    )
    assert put.status_code == 204
    with Target() as target:
        good = await create(
            owner,
            w["id"],
            order_status(
                target.base,
                title=f"Look up {EVIL}",
                auth={"type": "bearer", "secret": "orders_key"},
            ),
        )
        bad = await create(
            owner,
            w["id"],
            order_status(
                target.base,
                slug="broken",
                title="Broken endpoint",
                examples=["check the broken endpoint"],
                url=target.base + "/fail?o={{order_id}}",
            ),
        )
        ok = await run(owner, good["id"], {"order_id": "A123"})
        failed = await run(owner, bad["id"], {"order_id": "A123"})
        v = await verified(owner, client, w["id"])
        chat = await say(client, v, "Track my order A123")
        assert [a["state"] for a in chat] == ["started", "succeeded"], chat
    assert ok["error_class"] is None and failed["error_class"] == "http_5xx"
    assert target.seen("/orders/A123")[0].headers["Authorization"] == f"Bearer {SECRET}"

    page = await owner.get(f"/app/widgets/{w['id']}/actions")
    assert page.status_code == 200, page.text
    assert_strict(page)
    html = page.text
    assert EVIL not in html and "Look up &lt;img src=x" in html
    assert SECRET not in html
    assert re.search(r'href="/app/widgets/[^"]+/actions" aria-current="page">Actions<', html)
    listed = html[html.find('data-testid="action-list"') : html.find("</table>")]
    assert "<code>order_status</code>" in listed and "<code>broken</code>" in listed
    assert listed.count("Disabled") == 0 and listed.count("Enabled") == 2
    assert "http_5xx" in listed  # the last call of `broken`
    assert '<code class="break">orders_key</code>' in html
    calls = rows(html)
    assert len(calls) == 3
    (in_chat,) = [r for r in calls if "offline" in r]
    assert f'href="/app/conversations/{v.conversation_id}"' in in_chat
    (marked,) = [r for r in calls if 'class="call-failed"' in r]
    assert "Failed" in marked and "http_5xx" in marked and "broken" in marked
    assert "HTTP 500" in marked
    assert 'src="/app/static/actions.js' in html

    only_failed = await owner.get(f"/app/widgets/{w['id']}/actions", params={"failed": "1"})
    assert [("broken" in r) for r in rows(only_failed.text)] == [True]
    per_action = await owner.get(f"/app/widgets/{w['id']}/actions", params={"action": good["id"]})
    assert len(rows(per_action.text)) == 2
    assert all("call-failed" not in r for r in rows(per_action.text))
    bad_filter = await owner.get(
        f"/app/widgets/{w['id']}/actions", params={"conversation": "not-an-id"}
    )
    assert bad_filter.status_code == 200
    assert "Not a valid conversation id" in bad_filter.text and len(rows(bad_filter.text)) == 3
    by_chat = await owner.get(
        f"/app/widgets/{w['id']}/actions", params={"conversation": v.conversation_id}
    )
    (one,) = rows(by_chat.text)
    assert "offline" in one

    # Every widget page links to it.
    settings = await owner.get(f"/app/widgets/{w['id']}")
    assert f'href="/app/widgets/{w["id"]}/actions"' in settings.text


async def test_empty_page_and_who_may_see_it(app: FastAPI, owner: OwnerClient) -> None:
    w = await make_widget(owner)
    page = await owner.get(f"/app/widgets/{w['id']}/actions")
    assert page.status_code == 200
    assert 'data-testid="no-actions"' in page.text and 'data-testid="no-calls"' in page.text
    assert 'data-testid="action-form"' in page.text and 'data-testid="import-form"' in page.text
    agent = await member(app, owner, "agent")
    try:
        assert (await agent.get(f"/app/widgets/{w['id']}/actions")).status_code == 403
        settings = await agent.get(f"/app/widgets/{w['id']}/conversations")
        assert f"/app/widgets/{w['id']}/actions" not in settings.text
    finally:
        await agent.http.aclose()
    stranger = await signup(app)
    try:
        assert (await stranger.get(f"/app/widgets/{w['id']}/actions")).status_code == 404
        assert (await stranger.get("/app/widgets/not-an-id/actions")).status_code == 404
    finally:
        await stranger.http.aclose()
