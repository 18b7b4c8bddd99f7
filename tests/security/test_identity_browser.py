"""A signed-in user opens the widget on a second device and finds their conversation there."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

sync_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from tests.web.browser import CHROMIUM_ARGS, Owner, PorchServer  # noqa: E402
from tests.web.ui import CHROMIUM, open_widget  # noqa: E402


def _site(porch_url: str, wid: str, user: dict[str, str]) -> ThreadingHTTPServer:
    """The customer's site: its server put the user's id and signature into the page."""
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Your account</h1>
<script>window.porch = window.porch || function () {{ (porch.q = porch.q || []).push(arguments); }};
porch('identify', {{id: '{user["id"]}', hash: '{user["hash"]}', name: 'Ann'}});</script>
<script src="{porch_url}/widget.js" data-widget-id="{wid}" async></script></body></html>"""

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


def test_verified_user_resumes_on_another_device(porch: PorchServer) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    owner = Owner(porch.url)
    wid = owner.widget()
    secret = owner.http.post(f"/api/v1/widgets/{wid}/identity-secret").json()["identity_secret"]
    user = {
        "id": "cust-77",
        "hash": hmac.new(secret.encode(), b"cust-77", hashlib.sha256).hexdigest(),
    }
    # Device one: a conversation through the API, as the widget on a laptop would make it.
    with httpx.Client(base_url=porch.url, timeout=30) as laptop:
        started = laptop.post(f"/api/v1/widgets/{wid}/conversations", json={"user": user}).json()
        sent = laptop.post(
            f"/api/v1/conversations/{started['conversation_id']}/messages",
            json={"content": "What does the Pro plan cost?"},
            headers={"Authorization": f"Bearer {started['visitor_token']}"},
        )
        assert sent.status_code == 200
    site = _site(porch.url, wid, user)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page()
            page.set_default_timeout(20_000)
            chat = open_widget(page, f"http://127.0.0.1:{site.server_address[1]}/")
            expect(chat.locator("[data-role=user]").first).to_contain_text("Pro plan cost")
            expect(chat.locator("[data-role=assistant]").last).to_contain_text("$12")
            browser.close()
    finally:
        site.shutdown()
        site.server_close()
