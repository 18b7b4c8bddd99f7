"""Dashboard pages over HTTP: sign-in redirects, strict headers, escaping, 404s, paging."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import httpx
import pytest
from fastapi import FastAPI

from tests.chat.inbox.seed import Msg, seed_conversation
from tests.conftest import BOTH, OwnerClient, make_widget, signup

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)

EVIL = '<img src=x onerror="alert(1)">'
T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def pages_of(wid: str, cid: str | None = None) -> list[str]:
    paths = [
        "/app/",
        f"/app/widgets/{wid}",
        f"/app/widgets/{wid}/knowledge",
        f"/app/widgets/{wid}/conversations",
        f"/app/widgets/{wid}/analytics",
        "/app/api-keys",
        f"/app/widgets/{wid}/actions",
    ]
    return paths + ([f"/app/conversations/{cid}"] if cid else [])


def assert_strict(resp: httpx.Response) -> None:
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["cache-control"] == "no-store"
    assert resp.headers["x-content-type-options"] == "nosniff"
    # No inline script, no inline style, no inline event handler: CSP would block them.
    tags = Tags()
    tags.feed(resp.text)
    assert tags.inline == [], tags.inline


class Tags(HTMLParser):
    """What in a page the CSP would refuse: inline scripts, styles and event handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.inline.append("inline <script>")
        if tag == "style":
            self.inline.append("<style>")
        self.inline += [f"{tag}[{n}]" for n in names if n == "style" or n.startswith("on")]


async def test_signed_out_visitors_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    wid = uuid.uuid4()
    for path in [*pages_of(str(wid), str(uuid.uuid4())), "/app/widgets/not-a-uuid"]:
        resp = await client.get(path)
        assert resp.status_code == 303, path
        assert resp.headers["location"].startswith("/app/login?next=/app/"), path
    resp = await client.get(f"/app/widgets/{wid}/conversations?status=open&q=a b")
    assert resp.headers["location"] == (
        f"/app/login?next=/app/widgets/{wid}/conversations%3Fstatus%3Dopen%26q%3Da%2520b"
    )
    assert (await client.get("/app")).headers["location"] == "/app/"
    for path in ("/app/login", "/app/signup"):
        page = await client.get(path)
        assert page.status_code == 200
        assert_strict(page)
        assert 'name="porch-csrf"' not in page.text


async def test_every_page_renders_strict_and_escaped(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await make_widget(owner, name=EVIL, title=EVIL, greeting=EVIL)
    src = await owner.post(
        f"/api/v1/widgets/{w['id']}/sources",
        json={"type": "text", "title": EVIL, "text": "# Refunds\nWithin 30 days."},
    )
    assert src.status_code == 202
    await owner.post("/api/v1/api-keys", json={"name": EVIL})
    bad_source = {"title": EVIL, "url": "javascript:alert(1)", "snippet": EVIL}
    cid = await seed_conversation(
        app,
        w,
        [
            Msg("user", f"<script>alert('q')</script> {EVIL}", T0),
            Msg(
                "assistant",
                f"**bold** {EVIL}",
                T0 + timedelta(seconds=2),
                {
                    "provider": "openai",
                    "model": "gpt-4o-mini",
                    "prompt_tokens": 1200,
                    "completion_tokens": 80,
                    "cost_usd": 0.00123,
                    "latency_ms": 950,
                    "rating": "down",
                    "feedback_comment": EVIL,
                    "unanswered": True,
                    "sources": [bad_source, {"title": "Ok", "url": "https://a.example/x"}],
                },
            ),
        ],
        page_url="javascript:alert(2)",
        user_name=EVIL,
    )
    for path in pages_of(w["id"], cid):
        resp = await owner.get(path)
        assert resp.status_code == 200, (path, resp.text[:500])
        assert resp.headers["content-type"].startswith("text/html")
        assert_strict(resp)
        assert EVIL not in resp.text, path
        assert 'href="javascript' not in resp.text.lower(), path
        assert "<script>alert" not in resp.text, path
        # The page carries this session's CSRF token for the JSON calls its forms make.
        assert f'<meta name="porch-csrf" content="{owner.csrf}">' in resp.text, path

    conversation = (await owner.get(f"/app/conversations/{cid}")).text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in conversation
    assert 'href="https://a.example/x"' in conversation
    assert "1,200 + 80 tokens" in conversation and "950 ms" in conversation
    assert "Not in the knowledge base" in conversation

    analytics = await owner.get(f"/app/widgets/{w['id']}/analytics?from=2026-05-01&to=2026-05-07")
    assert analytics.text.count('<svg class="chart"') == 5
    assert "&lt;script&gt;alert(&#39;q&#39;)&lt;/script&gt;" in analytics.text  # unanswered


@pytest.mark.settings(allow_signup=True)
async def test_another_workspace_gets_not_found_pages(app: FastAPI, owner: OwnerClient) -> None:
    w = await make_widget(owner, name="Private widget")
    cid = await seed_conversation(app, w, [Msg("user", "private question", T0)])
    other = await signup(app)
    try:
        for path in [*pages_of(w["id"], cid)[1:5], f"/app/conversations/{cid}"]:
            resp = await other.get(path)
            assert resp.status_code == 404, path
            assert "Private widget" not in resp.text and "private question" not in resp.text
            assert_strict(resp)
        for path in ("/app/widgets/nope", "/app/conversations/123"):
            assert (await other.get(path)).status_code == 404
        mine = await other.get("/app/")
        assert "Private widget" not in mine.text
        assert "Create your first widget" in mine.text
    finally:
        await other.http.aclose()


async def test_sign_in_pages_never_send_elsewhere(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    cases = {
        "https://evil.example/": "/app/",
        "//evil.example/app/": "/app/",
        "/app/\\evil": "/app/",
        "/elsewhere": "/app/",
        "/app/api-keys": "/app/api-keys",
    }
    for target, expected in cases.items():
        resp = await owner.get("/app/login", params={"next": target})
        assert resp.status_code == 303
        assert resp.headers["location"] == expected, target
    page = await client.get("/app/login", params={"next": "https://evil.example/"})
    assert 'data-then="go:/app/"' in page.text


async def test_inbox_page_filters_and_pages(app: FastAPI, owner: OwnerClient) -> None:
    w = await make_widget(owner)
    for i in range(27):
        text = "refund please" if i % 9 == 0 else f"question {i}"
        await seed_conversation(app, w, [Msg("user", text, T0 + timedelta(minutes=i))])
    base = f"/app/widgets/{w['id']}/conversations"
    first = await owner.get(base)
    assert first.text.count('class="conv-row"') == 25
    older = re.search(r'href="\?([^"]+)" rel="next"', first.text)
    assert older
    second = await owner.get(f"{base}?{older.group(1).replace('&amp;', '&')}")
    assert second.text.count('class="conv-row"') == 2
    assert "← Newest" in second.text and 'rel="next"' not in second.text

    found = await owner.get(base, params={"q": "refund", "status": "bogus", "from": "nope"})
    assert found.status_code == 200
    assert found.text.count('class="conv-row"') == 3
    assert 'value="refund"' in found.text
    none = await owner.get(base, params={"status": "closed"})
    assert "No conversation matches these filters." in none.text


async def test_empty_states_tell_what_to_do(owner: OwnerClient) -> None:
    home = (await owner.get("/app/")).text
    assert "Create your first widget" in home and "Add knowledge" in home
    w = await make_widget(owner)
    inbox = (await owner.get(f"/app/widgets/{w['id']}/conversations")).text
    assert "No conversations yet" in inbox and "paste the snippet" in inbox
    analytics = (await owner.get(f"/app/widgets/{w['id']}/analytics")).text
    assert "Nothing in these days yet." in analytics
    keys = (await owner.get("/app/api-keys")).text
    assert "No API keys yet." in keys
    knowledge = (await owner.get(f"/app/widgets/{w['id']}/knowledge")).text
    assert "No knowledge yet." in knowledge  # shown by the page's script when the list is empty
    settings = (await owner.get(f"/app/widgets/{w['id']}")).text
    assert f'data-widget-id="{w["id"]}"' in settings and "any website can embed" in settings


async def test_bad_analytics_range_falls_back_with_a_note(owner: OwnerClient) -> None:
    w = await make_widget(owner)
    resp = await owner.get(f"/app/widgets/{w['id']}/analytics?from=2026-03-01&to=2026-01-01")
    assert resp.status_code == 200
    assert "`from` is after `to`. Showing the last 30 days instead." in resp.text


async def test_static_files(client: httpx.AsyncClient) -> None:
    login = (await client.get("/app/login")).text
    url = re.search(r'src="(/app/static/app\.js\?v=[0-9a-f]+)"', login)
    assert url
    resp = await client.get(url.group(1))
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/javascript")
    assert "immutable" in resp.headers["cache-control"]
    css = await client.get("/app/static/app.css")
    assert css.headers["cache-control"] == "public, max-age=300"
    again = await client.get("/app/static/app.css", headers={"If-None-Match": css.headers["etag"]})
    assert again.status_code == 304
    for missing in ("/app/static/nope.js", "/app/static/..%2Fauth.py", "/app/static/.hidden"):
        assert (await client.get(missing)).status_code == 404
