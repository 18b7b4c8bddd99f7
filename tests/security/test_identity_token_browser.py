"""The loader hands the site's identity token to the chat frame: from `porch('identify',
{token})` a signed-in user finds their conversation on another device, and from the tag's
`data-identity-token` the conversation the widget starts is verified as that user."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

sync_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from tests.security.identity_tokens import mint  # noqa: E402
from tests.web.browser import CHROMIUM_ARGS, Owner, PorchServer  # noqa: E402
from tests.web.ui import CHROMIUM, ask, open_widget  # noqa: E402


def _site(page: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def porch() -> Iterator[PorchServer]:
    server = PorchServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def owner(porch: PorchServer) -> Owner:
    return Owner(porch.url)


def _in_browser(site: ThreadingHTTPServer, width: int, then: Any) -> None:
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": width, "height": 800})
            page.set_default_timeout(20_000)
            then(open_widget(page, f"http://127.0.0.1:{site.server_address[1]}/"))
            browser.close()
    finally:
        site.shutdown()
        site.server_close()


@pytest.mark.parametrize("width", [1280, 390])
def test_identify_with_a_token_resumes_the_users_conversation(
    porch: PorchServer, owner: Owner, width: int
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    wid = owner.widget()
    secret = owner.http.post(f"/api/v1/widgets/{wid}/identity-secret").json()["identity_secret"]
    with httpx.Client(base_url=porch.url, timeout=30) as laptop:
        started = laptop.post(
            f"/api/v1/widgets/{wid}/conversations",
            json={"identity_token": mint(secret, "cust-5", plan="pro")},
        ).json()
        sent = laptop.post(
            f"/api/v1/conversations/{started['conversation_id']}/messages",
            json={"content": "What does the Pro plan cost?"},
            headers={"Authorization": f"Bearer {started['visitor_token']}"},
        )
        assert sent.status_code == 200
    token = mint(secret, "cust-5", plan="pro")
    site = _site(f"""<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>
</head><body><h1>Your account</h1>
<script>window.porch = window.porch || function () {{ (porch.q = porch.q || []).push(arguments); }};
porch('identify', {{token: '{token}'}});</script>
<script src="{porch.url}/widget.js" data-widget-id="{wid}" async></script></body></html>""")

    def check(chat: Any) -> None:
        expect(chat.locator("[data-role=user]").first).to_contain_text("Pro plan cost")

    _in_browser(site, width, check)


def test_the_tags_token_verifies_the_conversation_the_widget_starts(
    porch: PorchServer, owner: Owner
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    wid = owner.widget()
    secret = owner.http.post(f"/api/v1/widgets/{wid}/identity-secret").json()["identity_secret"]
    token = mint(secret, "cust-6", email="six@example.com")
    site = _site(f"""<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>
</head><body><h1>Your account</h1>
<script src="{porch.url}/widget.js" data-widget-id="{wid}" data-identity-token="{token}"
 async></script></body></html>""")

    def check(chat: Any) -> None:
        ask(chat, "What does the Pro plan cost?")
        expect(chat.locator("[data-role=assistant]").last).to_contain_text("$12")

    _in_browser(site, 1280, check)
    with httpx.Client(base_url=porch.url, timeout=30) as phone:
        listed = phone.get(
            f"/api/v1/widgets/{wid}/visitor/conversations",
            headers={"X-Porch-Identity-Token": mint(secret, "cust-6")},
        )
    assert listed.status_code == 200, listed.text
    (conversation,) = listed.json()["conversations"]
    assert conversation["message_count"] >= 2
