"""Revocation as the pages see it, in real chromium against `porch serve`.

The dashboard's inbox: a role change reconnects at once; removal from the workspace shows
"Signed out" with a link to sign in, and the page stops reconnecting. The widget: its socket
carries the visitor token as a subprotocol (the URL has none), live agent replies arrive,
and once its widget is deleted the socket is closed for good.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, WebSocket, expect

from tests.web.browser import HostPage, Owner, PorchServer
from tests.web.ui import ask, open_widget

pytestmark = pytest.mark.slow

PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def server() -> Iterator[PorchServer]:
    srv = PorchServer()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def site_owner(server: PorchServer) -> Owner:
    return Owner(server.url)


def _member(server: PorchServer, owner: Owner, role: str) -> tuple[httpx.Client, str]:
    invitation = owner.http.post("/api/v1/invitations", json={"role": role}).json()
    http = httpx.Client(base_url=server.url, timeout=30)
    resp = http.post(
        "/api/v1/auth/signup",
        json={
            "email": "agent@example.com",
            "password": PASSWORD,
            "invitation_token": invitation["token"],
        },
    )
    assert resp.status_code == 201, resp.text
    return http, str(resp.json()["user"]["id"])


def _sockets(page: Page) -> list[WebSocket]:
    opened: list[WebSocket] = []
    page.on("websocket", lambda ws: opened.append(ws))
    return opened


def _wait(page: Page, done: Callable[[], bool]) -> None:
    """Until `done()`, letting the page's events run; a deadline for hangs, not a measure."""
    deadline = time.monotonic() + 15
    while not done():
        assert time.monotonic() < deadline, "waited in vain"
        page.wait_for_timeout(100)


def test_the_inbox_reconnects_on_a_role_change_and_shows_signed_out_on_removal(
    browser: Browser, server: PorchServer, site_owner: Owner
) -> None:
    wid = site_owner.widget(with_faq=False)
    http, user_id = _member(server, site_owner, "admin")
    context = browser.new_context()
    context.add_cookies(
        [{"name": "porch_session", "value": http.cookies["porch_session"], "url": server.url}]
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    opened = _sockets(page)
    page.goto(f"{server.url}/app/widgets/{wid}/conversations")
    live = page.locator("[data-live-state]")
    expect(live).to_have_text("Live")

    demoted = site_owner.http.patch(f"/api/v1/members/{user_id}", json={"role": "agent"})
    assert demoted.status_code == 200
    # Closed with 4403 and opened again at once, under the new role.
    _wait(page, lambda: len(opened) == 2)
    expect(live).to_have_text("Live")

    removed = site_owner.http.delete(f"/api/v1/members/{user_id}")
    assert removed.status_code == 204
    expect(live).to_have_text(re.compile(r"^Signed out: removed from this workspace\. Sign in$"))
    expect(live.get_by_role("link", name="Sign in")).to_have_attribute(
        "href", re.compile(r"/app/login\?next=")
    )
    # It stays that way: past the first reconnect delays, no socket was opened again.
    time.sleep(3)
    assert len(opened) == 2
    context.close()


def test_the_widget_socket_carries_no_token_in_its_url_and_ends_with_its_widget(
    page: Page, server: PorchServer, site_owner: Owner
) -> None:
    wid = site_owner.widget()
    site = HostPage(server.url)
    httpd = site.start()
    try:
        opened = _sockets(page)
        chat = open_widget(page, site.url(wid))
        ask(chat, "How do I reset my password?")
        expect(chat.locator("[data-role=assistant][data-id]").last).to_contain_text("Forgot")
        _wait(page, lambda: bool(opened))
        assert "token" not in opened[0].url
        conversations = site_owner.http.get(f"/api/v1/widgets/{wid}/conversations").json()
        cid = conversations["conversations"][0]["id"]
        reply = site_owner.http.post(
            f"/api/v1/conversations/{cid}/reply", json={"content": "A person, live."}
        )
        assert reply.status_code == 201, reply.text
        expect(chat.locator("[data-role=agent]").last).to_contain_text("A person, live.")

        closed: list[bool] = []
        opened[-1].on("close", lambda _ws: closed.append(True))
        assert site_owner.http.delete(f"/api/v1/widgets/{wid}").status_code == 204
        _wait(page, lambda: bool(closed))
        page.wait_for_timeout(3000)  # past the first reconnect delay: none was tried
        assert len(opened) == 1
    finally:
        httpd.shutdown()
        httpd.server_close()
