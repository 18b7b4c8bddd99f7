"""A page written to Spur's documented API (seed 003), in Chromium, against a real porch.

The page does what Spur's frontend does: keep `sessionId` in localStorage, load
`GET /chat/history/:sessionId` on start (showing its own welcome when there is none or the
call fails), `POST /chat/message {message, sessionId}` to send, and render each message's
`sender`, `text` and `new Date(createdAt)`. It is served from http://localhost:P, a different
site from porch on 127.0.0.1; the same page on http://127.0.0.1:P is an origin the widget
does not allow.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.browser import Owner, PorchServer, free_port

pytestmark = pytest.mark.slow
WELCOME = "Hey, how can we help you today?"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Spur-style chat</title></head>
<body>
<ol id="messages"></ol>
<form id="send"><textarea name="message"></textarea><button>Send</button></form>
<script>
const API = %(api)s;
const KEY = "spur_chat_sessionId";
const list = document.getElementById("messages");
window.calls = [];

function show(sender, text, createdAt) {
  const when = createdAt ? new Date(createdAt) : new Date();
  const li = document.createElement("li");
  li.className = "message";
  li.dataset.sender = sender;
  li.dataset.validDate = String(!isNaN(when.getTime()));
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  const time = document.createElement("time");
  time.textContent = when.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
  li.append(body, time);
  list.append(li);
}

async function call(method, path, body) {
  const record = {method, path};
  window.calls.push(record);
  try {
    const resp = await fetch(API + path, {
      method, headers: {"Content-Type": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    record.status = resp.status;
    record.body = await resp.json();
    return record;
  } catch (err) {
    record.failed = String(err);  // what a page sees of a reply it may not read
    return record;
  }
}

async function load() {
  const saved = localStorage.getItem(KEY);
  if (saved) {
    const r = await call("GET", "/chat/history/" + encodeURIComponent(saved));
    if (r.status === 200 && r.body.messages.length) {
      for (const m of r.body.messages) show(m.sender, m.text, m.createdAt);
      document.body.dataset.ready = "history";
      return;
    }
  }
  show("ai", %(welcome)s);
  document.body.dataset.ready = "welcome";
}

document.getElementById("send").addEventListener("submit", async (e) => {
  e.preventDefault();
  const box = e.target.message;
  const text = box.value.trim();
  box.value = "";
  show("user", text);
  const r = await call("POST", "/chat/message", {
    message: text, sessionId: localStorage.getItem(KEY) || undefined,
  });
  if (r.status === 200) {
    show("ai", r.body.reply);
    localStorage.setItem(KEY, r.body.sessionId);
  } else {
    show("ai", "I'm having trouble responding right now.");
  }
  document.body.dataset.sent = String(window.calls.length);
});
load();
</script></body></html>
"""


@dataclass
class Site:
    porch: PorchServer
    port: int

    @property
    def allowed(self) -> str:
        return f"http://localhost:{self.port}/"

    @property
    def refused(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    srv = PorchServer()
    port = free_port()
    # The only widget, so the default one that Spur's calls (which name none) reach.
    Owner(srv.url).widget(allowed_origins=[f"http://localhost:{port}"])
    body = (PAGE % {"api": json.dumps(srv.url), "welcome": json.dumps(WELCOME)}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield Site(srv, port)
    httpd.shutdown()
    httpd.server_close()
    srv.stop()


def ask(page: Page, text: str) -> None:
    sent = int(page.evaluate("window.calls.length"))
    page.fill("textarea[name=message]", text)
    page.click("button")
    page.wait_for_function(f"document.body.dataset.sent === '{sent + 1}'")


def last_call(page: Page) -> dict[str, Any]:
    return dict(page.evaluate("window.calls[window.calls.length - 1]"))


def messages(page: Page) -> list[dict[str, str]]:
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('li.message')].map(li => ({
                sender: li.dataset.sender, valid: li.dataset.validDate,
                text: li.querySelector('.text').textContent,
                time: li.querySelector('time').textContent}))"""
        )
    )


def test_send_reload_restore_and_recover_a_stale_session(page: Page, site: Site) -> None:
    page.goto(site.allowed)
    expect(page.locator("body[data-ready=welcome]")).to_have_count(1)
    ask(page, "What does Pro cost?")
    reply = last_call(page)
    assert reply["status"] == 200 and "$12" in reply["body"]["reply"], reply
    assert "[1]" not in reply["body"]["reply"]
    session = page.evaluate("localStorage.getItem('spur_chat_sessionId')")
    assert session == reply["body"]["sessionId"]

    page.reload()
    expect(page.locator("body[data-ready=history]")).to_have_count(1)
    shown = messages(page)
    assert [m["sender"] for m in shown] == ["user", "ai"]  # no greeting, no welcome
    assert shown[0]["text"] == "What does Pro cost?"
    assert shown[1]["text"] == reply["body"]["reply"]
    assert all(m["valid"] == "true" and m["time"] != "Invalid Date" for m in shown), shown

    # A session porch does not know: a readable 404, the welcome, then a new conversation.
    page.evaluate("localStorage.setItem('spur_chat_sessionId', 'pv_left_over_from_spur')")
    page.reload()
    expect(page.locator("body[data-ready=welcome]")).to_have_count(1)
    history = page.evaluate("window.calls[0]")
    assert history["status"] == 404, history
    assert history["body"]["code"] == "session_not_found"
    assert isinstance(history["body"]["error"], str)
    ask(page, "How do I reset my password?")
    fresh = last_call(page)
    assert fresh["status"] == 200 and "Forgot password" in fresh["body"]["reply"], fresh
    assert fresh["body"]["sessionId"] not in (session, "pv_left_over_from_spur")
    page.reload()
    expect(page.locator("body[data-ready=history]")).to_have_count(1)
    restored = messages(page)
    assert [m["sender"] for m in restored] == ["user", "ai"]
    assert restored[0]["text"] == "How do I reset my password?"


def test_errors_are_readable_to_the_allowed_site_only(page: Page, site: Site) -> None:
    page.goto(site.allowed)
    expect(page.locator("body[data-ready]")).to_have_count(1)
    bad = page.evaluate(
        """async (api) => {
            const r = await fetch(api + '/chat/message', {method: 'POST',
                headers: {'Content-Type': 'application/json'}, body: '{"message": ""}'});
            return {status: r.status, body: await r.json()};
        }""",
        site.porch.url,
    )
    assert bad == {
        "status": 400,
        "body": {
            "error": "Message cannot be empty",
            "code": "validation_error",
            "request_id": bad["body"]["request_id"],
        },
    }

    other = page.context.new_page()
    other.goto(site.refused)
    expect(other.locator("body[data-ready=welcome]")).to_have_count(1)
    ask(other, "What does Pro cost?")
    refused = last_call(other)
    assert "status" not in refused and "TypeError" in refused["failed"], refused
    other.close()
