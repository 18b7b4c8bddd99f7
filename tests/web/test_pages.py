"""The loader, the chat page and the demo page over HTTP: caching, CSP, escaping, 404s."""

from __future__ import annotations

import gzip
import json
import re
from typing import Any

import httpx
import pytest

from porch.web import assets, pages
from tests.conftest import OwnerClient, make_widget

IDENTITY = {"Accept-Encoding": "identity"}


@pytest.mark.parametrize("path", ["/widget.js", "/js/widget.js"])
async def test_widget_js_is_served_cached_and_revalidated(
    client: httpx.AsyncClient, path: str
) -> None:
    resp = await client.get(path, headers=IDENTITY)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/javascript; charset=utf-8"
    assert resp.headers["cache-control"] == "public, max-age=300"
    assert resp.headers["etag"] == assets.WIDGET_JS.etag
    assert resp.content == (assets.STATIC_DIR / "widget.js").read_bytes()
    assert "data-widget-id" in resp.text

    again = await client.get(path, headers={**IDENTITY, "If-None-Match": resp.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == resp.headers["etag"]

    stale = await client.get(path, headers={**IDENTITY, "If-None-Match": '"something-else"'})
    assert stale.status_code == 200


async def test_widget_js_gzip_and_size_budget(client: httpx.AsyncClient) -> None:
    raw = (await client.get("/widget.js", headers=IDENTITY)).content
    assert len(gzip.compress(raw, compresslevel=9)) < 8 * 1024

    resp = await client.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert resp.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in resp.headers["vary"]
    assert resp.content == raw  # httpx decodes it
    assert int(resp.headers["content-length"]) < 8 * 1024
    # The gzip representation revalidates with its own tag.
    tag = resp.headers["etag"]
    assert tag != assets.WIDGET_JS.etag
    again = await client.get(
        "/widget.js", headers={"Accept-Encoding": "gzip", "If-None-Match": tag}
    )
    assert again.status_code == 304


async def test_widget_js_head(client: httpx.AsyncClient) -> None:
    resp = await client.head("/widget.js", headers=IDENTITY)
    assert resp.status_code == 200
    assert resp.content == b""
    assert resp.headers["etag"] == assets.WIDGET_JS.etag


async def test_static_files(client: httpx.AsyncClient) -> None:
    resp = await client.get("/static/chat.css", headers=IDENTITY)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/css; charset=utf-8"
    assert resp.headers["cache-control"] == "public, max-age=300"
    assert (
        await client.get("/static/chat.css", headers={"If-None-Match": f"W/{resp.headers['etag']}"})
    ).status_code == 304

    version = assets.ASSETS["chat.js"].version
    pinned = await client.get(f"/static/chat.js?v={version}")
    assert pinned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert pinned.headers["content-type"] == "application/javascript; charset=utf-8"

    for bad in (
        "/static/nope.js",
        "/static/%2e%2e/routes.py",
        "/static/..%2Froutes.py",
        "/static/.hidden",
    ):
        assert (await client.get(bad)).status_code == 404, bad


def _config_blob(page: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="porch-config">(.*?)</script>', page, re.S
    )
    assert match, "config blob missing"
    return dict(json.loads(match.group(1)))


async def test_chat_page_for_open_widget(client: httpx.AsyncClient, widget: dict[str, Any]) -> None:
    resp = await client.get(f"/w/{widget['id']}")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    csp = resp.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["frame-ancestors"] == "*"
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "x-frame-options" not in resp.headers

    page = resp.text
    assert 'name="message"' in page and 'maxlength="4000"' in page
    assert 'role="log"' in page and 'aria-live="polite"' in page
    # No inline script or style: everything executable comes from /static.
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", page)
    assert "style=" not in page and "<style" not in page
    config = _config_blob(page)
    assert config["widget_id"] == widget["id"]
    assert config["greeting"] == "Hello! Ask me anything."
    assert set(config["features"]) >= {"sources", "feedback", "handoff", "voice"}

    # Every asset the page names is served.
    for ref in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert (await client.get(ref)).status_code == 200, ref


async def test_chat_page_csp_for_restricted_widget(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await make_widget(owner, allowed_origins=["https://shop.example", "http://localhost:3000"])
    csp = (await client.get(f"/w/{w['id']}")).headers["content-security-policy"]
    assert "frame-ancestors 'self' https://shop.example http://localhost:3000" in csp

    # A change to the allowed origins shows up at once.
    resp = await owner.patch(
        f"/api/v1/widgets/{w['id']}", json={"allowed_origins": ["https://other.example"]}
    )
    assert resp.status_code == 200, resp.text
    csp = (await client.get(f"/w/{w['id']}")).headers["content-security-policy"]
    assert "frame-ancestors 'self' https://other.example;" in csp + ";"
    assert "shop.example" not in csp


async def test_chat_page_escapes_owner_text(owner: OwnerClient, client: httpx.AsyncClient) -> None:
    evil = '</script><script>alert(1)</script><!-- & "quotes"'
    w = await make_widget(
        owner,
        title="<b>Help</b>",
        subtitle="a & b",
        greeting=evil,
        suggested_questions=["<img src=x onerror=alert(1)>"],
    )
    page = (await client.get(f"/w/{w['id']}")).text
    assert "<script>alert(1)" not in page
    assert "<img src=x" not in page
    assert "<b>Help</b>" not in page and "&lt;b&gt;Help&lt;/b&gt;" in page
    config = _config_blob(page)
    assert config["greeting"] == evil
    assert config["suggested_questions"] == ["<img src=x onerror=alert(1)>"]


@pytest.mark.parametrize(
    ("locale", "lang"),
    [
        ("de-AT", "de"),
        ("fr", "fr"),
        ("es_MX", "es"),
        ("en-GB", "en"),
        ("xx", "en"),
        (None, "en"),
    ],
)
async def test_chat_page_language(
    client: httpx.AsyncClient, widget: dict[str, Any], locale: str | None, lang: str
) -> None:
    params = {"locale": locale} if locale else {}
    page = (await client.get(f"/w/{widget['id']}", params=params)).text
    assert f'<html lang="{lang}"' in page


# A fixed unknown id: test ids must be the same in every test process (pytest-xdist).
@pytest.mark.parametrize("wid", ["3f2b8e1c-5d4a-4c6e-9b7f-1a2d3c4e5f60", "not-a-uuid", "0"])
async def test_unknown_widget_page_is_404(client: httpx.AsyncClient, wid: str) -> None:
    resp = await client.get(f"/w/{wid}")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("text/html")
    assert "does not exist" in resp.text


async def test_demo_without_widget_explains(client: httpx.AsyncClient) -> None:
    resp = await client.get("/demo")
    assert resp.status_code == 200
    assert "No widget yet" in resp.text
    assert "widget.js" not in resp.text


async def test_demo_embeds_first_widget(owner: OwnerClient, client: httpx.AsyncClient) -> None:
    first = await make_widget(owner, name="First")
    await make_widget(owner, name="Second")
    page = (await client.get("/demo")).text
    tag = (
        # From PORCH_PUBLIC_URL (the default here), not from the request's Host.
        f'<script src="http://127.0.0.1:8000/widget.js" data-widget-id="{first["id"]}" async>'
        "</script>"
    )
    assert tag in page
    assert "Acme Cloud" in page
    for ref in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert (await client.get(ref)).status_code == 200, ref


def test_frame_ancestors_and_script_json() -> None:
    assert pages.frame_ancestors(("*",)) == "*"
    assert pages.frame_ancestors(("https://a.example", "http://b.example:8080")) == (
        "'self' https://a.example http://b.example:8080"
    )
    # Anything that is not a plain origin never reaches the header.
    assert pages.frame_ancestors(("https://a.example; script-src *",)) == "'self'"
    blob = pages.script_json(b'{"a":"</script><!--&"}')
    assert "<" not in blob and ">" not in blob and "&" not in blob
    assert json.loads(str(blob)) == {"a": "</script><!--&"}
