"""The owner's API in tests: a real HTTP server on loopback that records every request."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Target:
    """Orders: GET /orders/{id}, POST /orders/{id}/cancel; and misbehaving paths for failures."""

    requests: list[Seen] = field(default_factory=list)
    server: Any = None
    # Called in the server's thread with each request before it is answered: a test looks at
    # what porch holds while it waits for the owner's API.
    while_waiting: Callable[[Seen], None] | None = None
    huge_bytes: int = 200_000

    @property
    def base(self) -> str:
        host, port = self.server.server_address
        return f"http://{host}:{port}"

    def seen(self, path_prefix: str) -> list[Seen]:
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    def _answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        path = seen.path
        if path.startswith("/orders/") and path.endswith("/cancel"):
            order = path.split("/")[2]
            return 200, {}, json.dumps({"order": order, "status": "cancelled"}).encode()
        if path.startswith("/orders/"):
            order = path.split("/")[2]
            body = {
                "order": {"id": order, "status": "shipped", "eta": "Monday"},
                "internal_note": "fraud score 0.93",
                "customer": {"email": seen.query.get("email", ["?"])[0]},
            }
            return 200, {}, json.dumps(body).encode()
        if path == "/echo":
            return 200, {}, json.dumps({"headers": seen.headers, "query": seen.query}).encode()
        if path == "/slow":
            time.sleep(2)
            return 200, {}, b"{}"
        if path == "/fail":
            return 500, {}, b'{"error": "boom"}'
        if path == "/missing":
            return 404, {}, b'{"error": "no such order"}'
        if path == "/text":
            return 200, {"Content-Type": "text/html"}, b"<html>not json</html>"
        if path == "/huge":
            return 200, {}, json.dumps({"blob": "x" * self.huge_bytes}).encode()
        if path == "/to-metadata":
            return 302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""
        if path == "/to-localhost":
            port = self.server.server_address[1]
            return 307, {"Location": f"http://localhost:{port}/orders/R1"}, b""
        if path == "/hop":
            return 302, {"Location": "/orders/H1"}, b""
        return 404, {}, b"{}"

    def __enter__(self) -> Target:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    dict(self.headers.items()),
                    self.rfile.read(length),
                )
                owner.requests.append(seen)
                if owner.while_waiting is not None:
                    owner.while_waiting(seen)
                status, headers, body = owner._answer(seen)
                self.send_response(status)
                headers.setdefault("Content-Type", "application/json")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
