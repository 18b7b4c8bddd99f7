"""Harness for the browser tests: a real porch process, an owner client, and a host page server.

The host page is served from a second loopback port, so it is a different origin from porch,
just like a customer's site.
"""

from __future__ import annotations

import html
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SHOTS = Path(os.environ.get("PORCH_SHOTS_DIR", "/tmp/porch-shots"))

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

FAQ = """# Passwords
To reset your password, open the sign-in page and click **Forgot password**. The reset link
stays valid for one hour. If the email does not arrive, check your spam folder.

# Plans and pricing
The Pro plan costs $12 per month and includes unlimited sites and 1 TB of bandwidth.
The Free plan includes 3 sites and 100 GB of bandwidth per month.

# Refunds
Annual plans are refunded pro rata within 30 days of purchase. Contact support to ask.
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PorchServer:
    """`porch serve` on a free port, with its own data folder (removed on stop).

    The folder is not under pytest's tmp_path: pytest prunes old basetemp folders, and a
    concurrent pytest run could delete it under a server that is still running.
    """

    def __init__(self, **env_extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir = Path(tempfile.mkdtemp(prefix="porch-web-"))
        self.log = data_dir / "server.log"
        env = {
            **os.environ,
            "PORCH_DATA_DIR": str(data_dir),
            "PORCH_PUBLIC_URL": self.url,
            "PORCH_LOG_JSON": "false",
            "PORCH_LOG_LEVEL": "warning",
            "PORCH_ALLOW_SIGNUP": "true",
            **env_extra,
        }
        porch = VENV_BIN / "porch"
        if porch.exists() or shutil.which("porch"):
            cmd = [str(porch), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        else:  # the CLI not installed: run uvicorn on the app factory (migrating first)
            cmd = [
                sys.executable,
                "-m",
                "uvicorn",
                "porch.app:create_app_from_env",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ]
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=self._out, stderr=subprocess.STDOUT
        )
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                output = self.log.read_text()[-3000:]
                self.stop()
                raise RuntimeError(f"porch exited: {output}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        output = self.log.read_text()[-3000:]
        self.stop()
        raise RuntimeError(f"porch did not start: {output}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._out.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


class Owner:
    """The API as a signed-in owner: widgets and sources."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        resp = self.http.post(
            "/api/v1/auth/signup", json={"email": "owner@example.com", "password": "correct horse"}
        )
        assert resp.status_code == 201, resp.text
        self.http.headers["X-CSRF-Token"] = resp.json()["csrf_token"]

    def widget(self, with_faq: bool = True, **fields: Any) -> str:
        body = {
            "name": "Support",
            "title": "Acme Support",
            "subtitle": "We usually answer at once",
            "greeting": "Hi! Ask me about **passwords**, plans or refunds.",
            "suggested_questions": ["How do I reset my password?", "What does Pro cost?"],
            **fields,
        }
        resp = self.http.post("/api/v1/widgets", json=body)
        assert resp.status_code == 201, resp.text
        wid = str(resp.json()["id"])
        if with_faq:
            self.add_text(wid, "Help center", FAQ)
        return wid

    def add_text(self, wid: str, title: str, text: str) -> None:
        resp = self.http.post(
            f"/api/v1/widgets/{wid}/sources", json={"type": "text", "title": title, "text": text}
        )
        assert resp.status_code == 202, resp.text
        sid = resp.json()["source_id"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = self.http.get(f"/api/v1/sources/{sid}").json().get("status")
            if status == "ready":
                return
            assert status != "failed", "the text source failed to index"
            time.sleep(0.1)
        raise AssertionError("the text source never became ready")

    def patch(self, wid: str, **fields: Any) -> None:
        resp = self.http.patch(f"/api/v1/widgets/{wid}", json=fields)
        assert resp.status_code == 200, resp.text


@dataclass
class HostPage:
    """A customer's site on another port: /?wid=…&attr=position:bottom-left&call=open."""

    porch_url: str
    port: int = field(default_factory=free_port)
    # "localhost" makes the page another *site* than porch on 127.0.0.1 (ports do not make
    # sites): the browser then treats the chat frame as third-party, as on a real shop.
    hostname: str = "127.0.0.1"

    @property
    def origin(self) -> str:
        return f"http://{self.hostname}:{self.port}"

    def url(self, wid: str, attrs: tuple[str, ...] = (), calls: tuple[str, ...] = ()) -> str:
        query = urlencode(
            [("wid", wid), *(("attr", a) for a in attrs), *(("call", c) for c in calls)]
        )
        return f"{self.origin}/?{query}"

    def start(self) -> ThreadingHTTPServer:
        porch_url = self.porch_url

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                if not query.get("wid"):
                    self.send_error(404)
                    return
                body = host_html(porch_url, query).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


def host_html(porch_url: str, query: dict[str, list[str]]) -> str:
    wid = html.escape(query["wid"][0])
    attrs = "".join(
        f' data-{html.escape(a.split(":", 1)[0])}="{html.escape(a.split(":", 1)[1])}"'
        for a in query.get("attr", [])
    )
    known = {
        "open": "porch('open');",
        "toggle": "porch('toggle');",
        "identify": "porch('identify', {id: 'u-42', name: 'Ann Example'});",
    }
    calls = "".join(known[c] for c in query.get("call", []) if c in known)
    stub = ""
    if calls:
        stub = (
            "<script>window.porch = window.porch || function () "
            "{ (porch.q = porch.q || []).push(arguments); };" + calls + "</script>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shop host page</title>
<style>
  body {{ font: 16px/1.5 Georgia, serif; margin: 0; background: #fafaf9; color: #292524; }}
  header {{ background: #1c1917; color: #fff; padding: 18px 32px; font-size: 20px; }}
  main {{ padding: 32px; max-width: 760px; }}
  button, iframe {{ border: 5px dashed red; }}  /* hostile host CSS: must not leak in */
</style></head>
<body><header>Shop</header>
<main><h1>Welcome to the shop</h1>
<p>Great products at fair prices. Questions? The chat in the corner answers.</p>
<p><a href="#one">A link on the host page</a></p></main>
{stub}
<script src="{porch_url}/widget.js" data-widget-id="{wid}"{attrs} async></script>
</body></html>"""
