"""Server-side request forgery: private addresses refused up front, after redirects, at connect."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

from porch.knowledge.ingest import fetch as fetch_client
from porch.knowledge.ingest.fetch import Fetcher, FetchError
from porch.security.resolver import SafeResolver
from porch.security.ssrf import BlockedURL, blocked_ip, check_url
from porch.settings import Settings
from tests.conftest import OwnerClient, make_widget
from tests.knowledge.site import Site, serve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_private_ranges_are_blocked(address: str) -> None:
    assert blocked_ip(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert not blocked_ip(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/x",
        "gopher://example.com",
        "http://127.0.0.1:8000/",
        "http://localhost/admin",
        "http://app.localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://user:pw@example.com/",
        "http:///nohost",
        "http://example.com:99999/",
    ],
)
def test_urls_refused_without_network(url: str) -> None:
    with pytest.raises(BlockedURL):
        check_url(url, allow_private=False)


async def test_api_refuses_private_urls(owner: OwnerClient) -> None:
    widget = await make_widget(owner)
    for url in (
        "http://127.0.0.1/",
        "http://localhost:6379/",
        "file:///etc/passwd",
        "http://169.254.169.254/",
        "http://2130706433/",
    ):
        resp = await owner.post(
            f"/api/v1/widgets/{widget['id']}/sources", json={"type": "url", "url": url}
        )
        assert resp.status_code == 400, (url, resp.text)
        assert resp.json()["error"]["code"] == "invalid_url"
        if url.startswith(("http://127", "http://localhost", "http://169")):  # the way out
            assert "PORCH_CRAWL_ALLOW_PRIVATE_NETWORKS" in resp.json()["error"]["message"]
    resp = await owner.post(
        f"/api/v1/widgets/{widget['id']}/sources",
        json={"type": "sitemap", "url": "http://10.0.0.5/sitemap.xml"},
    )
    assert resp.status_code == 400


async def test_resolver_drops_private_answers() -> None:
    with pytest.raises(OSError, match="private"):
        await SafeResolver(allow_private=False).resolve("localhost", 80)
    assert await SafeResolver(allow_private=True).resolve("localhost", 80)


@pytest.fixture
def redirecting_site() -> Iterator[Site]:
    site = Site()
    with serve(site) as s:
        port = s.base.rsplit(":", 1)[1]
        s.pages["/hop"] = ""  # replaced below by a redirect to a name that means loopback

        original = s.respond

        def respond(handler: object) -> tuple[int, dict[str, str], bytes]:
            if getattr(handler, "path", "") == "/hop":
                return 302, {"Location": f"http://localhost:{port}/docs/install"}, b""
            return original(handler)  # type: ignore[arg-type]

        s.respond = respond  # type: ignore[method-assign]
        yield s


async def test_redirects_and_connections_are_checked(
    redirecting_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetcher = Fetcher(Settings(crawl_allow_private_networks=False, crawl_retries=0))
    try:
        with pytest.raises(FetchError) as err:
            await fetcher.get(redirecting_site.url("/docs/install"))
        assert err.value.reason == "blocked"

        # Let the literal 127.0.0.1 through (as if it were a public name): the redirect
        # to localhost is still refused, by the check every hop goes through.
        real = fetch_client.check_url

        def lenient(url: str, *, allow_private: bool) -> str:
            return url if "//127.0.0.1:" in url else real(url, allow_private=allow_private)

        monkeypatch.setattr(fetch_client, "check_url", lenient)
        with pytest.raises(FetchError) as err:
            await fetcher.get(redirecting_site.url("/hop"))
        assert err.value.reason == "blocked"

        # And a name that slips past the URL check is refused where the connection is made.
        monkeypatch.setattr(fetch_client, "check_url", lambda url, *, allow_private: url)
        port = redirecting_site.base.rsplit(":", 1)[1]
        with pytest.raises(FetchError) as err:
            await fetcher.get(f"http://localhost:{port}/docs/install")
        assert err.value.reason == "blocked" and "private" in str(err.value)
        assert not any(r.path == "/docs/install" for r in redirecting_site.requests)
    finally:
        await fetcher.aclose()
