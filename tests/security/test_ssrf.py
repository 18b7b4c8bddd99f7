"""Crawling is a request on a user's behalf: private, loopback, link-local and metadata
addresses are refused up front, after every redirect and where the connection is made."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from porch.knowledge.fetch import client as fetch_client
from porch.knowledge.fetch.client import Fetcher, FetchError
from porch.security.ssrf import BlockedURL, check_url
from porch.settings import Settings


class Target:
    """A loopback web server that records what reached it; /hop?to=URL redirects there."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        seen = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                query = parse_qs(urlsplit(self.path).query)
                if self.path.startswith("/hop") and "to" in query:
                    self.send_response(302)
                    self.send_header("Location", query["to"][0])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b"<html><body><p>internal admin page</p></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def secret_hits(self) -> int:
        return sum(1 for p in self.paths if p.startswith("/secret"))


@pytest.fixture
def target() -> Iterator[Target]:
    t = Target()
    yield t
    t.server.shutdown()
    t.server.server_close()


@pytest.fixture
async def fetcher() -> Any:
    f = Fetcher(Settings(crawl_allow_private_networks=False, crawl_retries=0, crawl_timeout=5))
    yield f
    await f.aclose()


ADDRESSES = [
    "127.0.0.1",
    "[::1]",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.0.1",
    "169.254.169.254",
    "[::ffff:127.0.0.1]",
    "[::ffff:169.254.169.254]",
    "[::ffff:a00:1]",  # 10.0.0.1, mapped, in hex
    "0.0.0.0",
    "[fd00:ec2::254]",
]
# Spellings of 127.0.0.1 that are not IP literals to Python, but are to the resolver.
ODD_SPELLINGS = ["2130706433", "0x7f000001", "127.1", "0177.0.0.1"]


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/",
        "gopher://example.com:70/",
        "data:text/html,hi",
        "javascript:alert(1)",
        "dict://127.0.0.1:6379/info",
        *(f"http://{a}/secret" for a in ADDRESSES),
        "http://localhost/secret",
        "http://metadata.localhost/",
    ],
)
def test_refused_before_any_connection(url: str) -> None:
    with pytest.raises(BlockedURL):
        check_url(url, allow_private=False)


@pytest.mark.parametrize("address", ADDRESSES + ODD_SPELLINGS)
async def test_fetcher_refuses_private_addresses(
    address: str, target: Target, fetcher: Fetcher
) -> None:
    with pytest.raises(FetchError) as err:
        await fetcher.get(f"http://{address}:{target.port}/secret")
    assert err.value.reason == "blocked", str(err.value)
    assert target.secret_hits() == 0


def _loopback_name() -> str:
    """A host name (not "localhost") that this machine resolves to loopback."""
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, 80)}
    except OSError:
        pytest.skip("the host name does not resolve")
    if not addresses or not all(a.startswith("127.") or a == "::1" for a in addresses):
        pytest.skip("the host name does not resolve to loopback here")
    return name


async def test_a_name_resolving_to_loopback_is_refused_at_connect(
    target: Target, fetcher: Fetcher
) -> None:
    name = _loopback_name()
    check_url(f"http://{name}/", allow_private=False)  # the name alone looks public
    with pytest.raises(FetchError) as err:
        await fetcher.get(f"http://{name}:{target.port}/secret")
    assert err.value.reason == "blocked"
    assert target.secret_hits() == 0


async def test_redirects_to_private_addresses_are_refused(
    target: Target, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Let the first hop (this loopback server, standing in for a public site) through;
    # every redirect target still meets the real checks.
    real = fetch_client.check_url
    start = f"http://127.0.0.1:{target.port}/hop"

    def first_hop_public(url: str, *, allow_private: bool) -> str:
        return url if url.startswith(start) else real(url, allow_private=allow_private)

    monkeypatch.setattr(fetch_client, "check_url", first_hop_public)
    destinations = [f"http://{a}:{target.port}/secret" for a in ADDRESSES[1:]]
    destinations += [f"http://{s}:{target.port}/secret" for s in ODD_SPELLINGS]
    destinations += [f"http://{_loopback_name()}:{target.port}/secret", "file:///etc/passwd"]
    for destination in destinations:
        with pytest.raises(FetchError) as err:
            await fetcher.get(f"{start}?to={destination}")
        assert err.value.reason == "blocked", (destination, str(err.value))
    assert target.secret_hits() == 0
    assert sum(1 for p in target.paths if p.startswith("/hop")) == len(destinations)


async def test_rebinding_name_is_checked_when_connecting(
    target: Target, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that looked public when the source was added but resolves to loopback when
    the crawl connects (DNS rebinding) gets no connection: the resolver the client
    connects through drops private answers."""
    name = _loopback_name()
    # The early check (adding the source) is fooled: it saw a public answer.
    monkeypatch.setattr(fetch_client, "check_url", lambda url, *, allow_private: url)
    with pytest.raises(FetchError) as err:
        await fetcher.get(f"http://{name}:{target.port}/secret")
    assert err.value.reason == "blocked" and "private" in str(err.value)
    assert target.secret_hits() == 0


async def test_allowed_when_configured(target: Target) -> None:
    f = Fetcher(Settings(crawl_allow_private_networks=True, crawl_retries=0))
    try:
        resp = await f.get(f"http://127.0.0.1:{target.port}/secret")
        assert resp.status == 200 and b"internal" in resp.body
    finally:
        await f.aclose()
