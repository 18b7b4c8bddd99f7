"""A small website made by the tests, served on loopback by a threaded HTTP server.

Pages have navigation, footers and cookie banners to strip; the site has redirects, a
redirect loop, robots.txt rules, a sitemap index with a gzip sitemap, a huge page, a slow
page, a 404, duplicate URLs, a canonical link and links to things that are not pages.
Tests change `pages` between crawls; every request is recorded.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHROME_TOP = (
    '<nav class="menu"><a href="/">Home</a> <a href="/docs/install">Install</a> '
    '<a href="/docs/billing">Billing</a></nav>'
    '<div id="cookie-banner" class="cookie-consent">We use cookies. Accept all cookies to '
    "continue browsing this website.</div>"
)
CHROME_BOTTOM = "<footer>Copyright 2026 Acme Widgets Incorporated. All rights reserved.</footer>"


def page(title: str, body: str, head: str = "") -> str:
    return (
        f"<!doctype html><html><head><title>{title}</title>{head}</head><body>{CHROME_TOP}"
        f"<main><article>{body}</article></main>{CHROME_BOTTOM}</body></html>"
    )


def default_pages() -> dict[str, str]:
    return {
        "/": page(
            "Acme Widgets Help",
            "<h1>Acme Widgets help center</h1>"
            "<p>Welcome to the help center for Acme Widgets, the smart garden sensor that "
            "measures soil moisture and tells your phone when the plants need water.</p>"
            '<ul><li><a href="/docs/install">Installation guide</a></li>'
            '<li><a href="/docs/install#step-2">Step two</a></li>'
            '<li><a href="/docs/install?utm_source=newsletter">Install (newsletter)</a></li>'
            '<li><a href="/docs/billing">Billing</a></li>'
            '<li><a href="/docs/billing?print=1">Billing, printable</a></li>'
            '<li><a href="/docs/errors">Error codes</a></li>'
            '<li><a href="/docs/new">What is new</a></li>'
            '<li><a href="/old-install">Old install page</a></li>'
            '<li><a href="/loop-a">Loop</a></li>'
            '<li><a href="/private/secret">Staff only</a></li>'
            '<li><a href="/missing">Missing page</a></li>'
            '<li><a href="/huge">Huge page</a></li>'
            '<li><a href="/slow">Slow page</a></li>'
            '<li><a href="/logo.png">Logo</a></li>'
            '<li><a href="/files/warranty.pdf">Warranty (PDF)</a></li>'
            '<li><a href="/download.zip">Download</a></li>'
            '<li><a href="https://other.example.invalid/partner">Partner site</a></li>'
            '<li><a href="mailto:help@acme.example">Mail us</a></li></ul>',
        ),
        "/docs/install": page(
            "Installing the sensor",
            "<h1>Installing the sensor</h1>"
            "<p>Push the sensor into the soil next to the roots, about ten centimetres deep, "
            "and keep the solar cap facing the sky so the battery stays charged.</p>"
            '<h2 id="step-2">Pairing with your phone</h2>'
            "<p>Open the Acme app, tap Add device, and hold the pairing button for five "
            "seconds until the light blinks blue. Pairing uses Bluetooth Low Energy.</p>",
        ),
        "/docs/billing": page(
            "Billing and plans",
            "<h1>Billing and plans</h1><p>The Premium plan costs 4 euros per month and adds "
            "weather forecasts, watering schedules and unlimited history.</p>"
            "<h2>Refunds</h2><p>You can cancel any time; we refund the unused part of an "
            "annual subscription within fourteen days of the request.</p>",
            head='<link rel="canonical" href="/docs/billing">',
        ),
        "/docs/errors": page(
            "Error codes",
            "<h1>Error codes</h1><h2>E1234 sensor offline</h2><p>Error E1234 means the "
            "sensor has not reported for six hours. Replace the battery cover and restart "
            "the hub.</p><h2>E2001 soil probe fault</h2><p>Error E2001 appears when the "
            "probe reads an impossible value; clean the metal prongs with a dry cloth.</p>",
        ),
        "/private/secret": page("Secret", "<p>The staff discount code is PINEAPPLE42.</p>"),
        "/files/warranty.pdf": "PDF",
    }


def minimal_pdf(lines: list[str]) -> bytes:
    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({ln}) Tj T*" for ln in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class Site:
    base: str = ""
    pages: dict[str, str] = field(default_factory=default_pages)
    requests: list[Seen] = field(default_factory=list)
    huge_bytes: int = 400_000
    slow_seconds: float = 3.0

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def url(self, path: str) -> str:
        return self.base + path

    def sitemap_urls(self) -> list[str]:
        return [self.url(p) for p in ("/", "/docs/install", "/docs/billing")]

    def respond(self, handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        path = handler.path
        plain = path.split("?", 1)[0]
        if plain == "/robots.txt":
            text = "User-agent: *\nDisallow: /private/\n"
            return 200, {"Content-Type": "text/plain"}, text.encode()
        if plain == "/old-install":
            return 301, {"Location": "/docs/install"}, b""
        if plain in ("/loop-a", "/loop-b"):
            other = "/loop-b" if plain == "/loop-a" else "/loop-a"
            return 302, {"Location": other}, b""
        if plain == "/huge":
            body = page("Huge", "<p>" + "lorem ipsum " * (self.huge_bytes // 12) + "</p>")
            return 200, {"Content-Type": "text/html"}, body.encode()
        if plain == "/slow":
            time.sleep(self.slow_seconds)
            return 200, {"Content-Type": "text/html"}, page("Slow", "<p>Finally.</p>").encode()
        if plain == "/sitemap_index.xml":
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{self.url('/sitemap-main.xml')}</loc></sitemap>"
                f"<sitemap><loc>{self.url('/sitemap-more.xml.gz')}</loc></sitemap>"
                "</sitemapindex>"
            )
            return 200, {"Content-Type": "application/xml"}, body.encode()
        if plain == "/sitemap-main.xml":
            urls = "".join(f"<url><loc>{u}</loc></url>" for u in self.sitemap_urls()[:2])
            body = (
                '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"{urls}</urlset>"
            )
            return 200, {"Content-Type": "application/xml"}, body.encode()
        if plain == "/sitemap-more.xml.gz":
            urls = "".join(
                f"<url><loc>{u}</loc><lastmod>2020-01-01</lastmod></url>"
                for u in [*self.sitemap_urls()[2:], self.url("/docs/errors")]
            )
            body = (
                '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"{urls}</urlset>"
            )
            return 200, {"Content-Type": "application/gzip"}, gzip.compress(body.encode())
        if plain == "/logo.png":
            return 200, {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n" + b"\0" * 64
        if plain == "/download.zip":
            return 200, {"Content-Type": "application/zip"}, b"PK\x03\x04" + b"\0" * 64
        if plain == "/files/warranty.pdf" and plain in self.pages:
            body = minimal_pdf(["Warranty", "Every sensor carries a three year warranty."])
            return 200, {"Content-Type": "application/pdf"}, body
        html = self.pages.get(plain)
        if html is None:
            return 404, {"Content-Type": "text/html"}, b"<h1>Not found</h1>"
        body = html.encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if handler.headers.get("If-None-Match") == etag:
            return 304, {"ETag": etag}, b""
        return 200, {"Content-Type": "text/html; charset=utf-8", "ETag": etag}, body


@contextmanager
def serve(site: Site) -> Iterator[Site]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            site.requests.append(Seen(self.path, dict(self.headers.items())))
            try:
                status, headers, body = site.respond(self)
            except Exception:  # pragma: no cover - a bug in the fake
                status, headers, body = 500, {}, b"fake site error"
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                # The crawler may hang up on a page too large or too slow.
                with contextlib.suppress(OSError):
                    self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            return None  # the crawler hung up on a huge or slow page, as it should

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
