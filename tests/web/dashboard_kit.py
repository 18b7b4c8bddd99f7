"""Helpers of the dashboard's browser tests: screenshots, a slow site to crawl, a visitor."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from playwright.sync_api import ConsoleMessage, Page

from tests.web.browser import SHOTS


def page_problems(page: Page) -> list[str]:
    """Script errors and console errors (a CSP violation is one) the page meets from now on.

    Failed resource loads are left out: the API's answers to the invalid input these tests
    send on purpose (400, 401, 422) show up as such."""
    seen: list[str] = []

    def console(m: ConsoleMessage) -> None:
        if m.type == "error" and not m.text.startswith("Failed to load resource"):
            seen.append(f"console: {m.text}")

    page.on("pageerror", lambda e: seen.append(f"pageerror: {e}"))
    page.on("console", console)
    return seen


def shot(page: Page, name: str, full_page: bool = True) -> None:
    """The whole page, from the top (or just the viewport, where sticky parts matter)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def visitor_chat(base: str, wid: str, question: str, rating: str, **body: Any) -> str:
    """A visitor's conversation through the public API, as the widget would have it."""
    with httpx.Client(base_url=base, timeout=30) as http:
        started = http.post(f"/api/v1/widgets/{wid}/conversations", json=body)
        assert started.status_code == 201, started.text
        cid, token = started.json()["conversation_id"], started.json()["visitor_token"]
        auth = {"Authorization": f"Bearer {token}"}
        resp = http.post(
            f"/api/v1/conversations/{cid}/messages", json={"content": question}, headers=auth
        )
        assert resp.status_code == 200, resp.text
        reply = resp.json()["message"]["id"]
        rated = http.post(
            f"/api/v1/messages/{reply}/feedback", json={"rating": rating}, headers=auth
        )
        assert rated.status_code == 204
    return str(cid)


class SlowSite:
    """Six small pages on loopback, each taking a moment, so a crawl is seen running."""

    PAGES = ("shipping", "returns", "warranty", "payments", "accounts")

    def __init__(self, delay: float = 0.8) -> None:
        delay_s = delay
        pages = self.PAGES

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.strip("/") or "home"
                if name != "home" and name not in pages:
                    self.send_error(404)
                    return
                time.sleep(delay_s)
                links = "".join(f'<li><a href="/{p}">{p}</a></li>' for p in pages)
                text = (
                    f"<h1>{name.title()} help</h1><p>Everything about {name} at Acme: "
                    f"the {name} policy explained in plain words for customers.</p>"
                )
                body = (
                    f"<!doctype html><html><head><title>{name.title()}</title></head><body>"
                    f"<main>{text}<ul>{links}</ul></main></body></html>"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
