"""No outbound request reaches a private address spelled as another address: every IPv6
form that carries an IPv4 address (mapped, compatible, translated, NAT64, 6to4, Teredo,
ISATAP) is judged by the address inside, on every way a URL enters porch (a URL source, a
sitemap, a webhook, created or changed) and where connections are made (the resolver the
crawler and the webhook sender connect through)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from porch.security.resolver import SafeResolver
from porch.security.ssrf import BlockedURL, PrivateAddress, blocked_ip, check_url
from tests.conftest import BOTH, OwnerClient, make_widget

# Each carries 169.254.169.254 (the metadata service), 127.0.0.1 or 10.0.0.1.
EMBEDDED = {
    "IPv4-mapped": "::ffff:169.254.169.254",
    "IPv4-mapped, hex": "::ffff:a9fe:a9fe",
    "IPv4-compatible": "::169.254.169.254",
    "IPv4-compatible loopback": "::127.0.0.1",
    "IPv4-translated (SIIT)": "::ffff:0:a9fe:a9fe",
    "NAT64 well-known prefix": "64:ff9b::a9fe:a9fe",
    "NAT64 well-known prefix, dotted": "64:ff9b::10.0.0.1",
    "NAT64 local-use prefix": "64:ff9b:1::a9fe:a9fe",
    "NAT64 local-use prefix, /48 layout": "64:ff9b:1:a9fe:a9:fe00::",
    "6to4": "2002:a9fe:a9fe::1",
    "6to4 loopback": "2002:7f00:1::",
    "Teredo, private server": "2001:0:a00:1::1",
    "Teredo, private client": "2001:0:4136:e378:8000:63bf:80ff:fffe",  # client 127.0.0.1
    "ISATAP": "2600::5efe:a9fe:a9fe",
    "ISATAP, universal bit": "2600::200:5efe:a00:1",
    "site-local": "fec0::1",
}
# The same forms around public IPv4 addresses, and plain public IPv6: not refused.
PUBLIC = ["64:ff9b::808:808", "::ffff:8.8.8.8", "2600::5efe:808:808", "2606:4700:4700::1111"]


@pytest.mark.parametrize("form", list(EMBEDDED))
def test_each_form_is_judged_by_the_address_inside(form: str) -> None:
    address = ipaddress.ip_address(EMBEDDED[form])
    assert blocked_ip(address), form
    with pytest.raises(BlockedURL):
        check_url(f"http://[{address}]/", allow_private=False)
    with pytest.raises(BlockedURL):
        check_url(f"https://[{address}]:8443/latest/meta-data/", allow_private=False)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_in_the_same_forms_pass(address: str) -> None:
    assert not blocked_ip(ipaddress.ip_address(address))
    assert check_url(f"http://[{address}]/", allow_private=False)


class _Answers:
    """A resolver that answers what it is told, standing in for DNS."""

    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses

    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> Any:
        return [
            {"hostname": host, "host": a, "port": port, "family": socket.AF_INET6, "proto": 0}
            for a in self.addresses
        ]

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("form", list(EMBEDDED))
async def test_a_name_resolving_to_a_form_gets_no_connection(form: str) -> None:
    """Where the crawler and the webhook sender connect: a host name whose DNS answer is one
    of these forms (a rebinding name, say) is refused by the resolver itself."""
    resolver = SafeResolver(allow_private=False)
    resolver._inner = _Answers([EMBEDDED[form]])  # type: ignore[assignment]
    with pytest.raises(PrivateAddress):
        await resolver.resolve("rebind.example", 80, socket.AF_INET6)
    resolver._inner = _Answers([EMBEDDED[form], "2606:4700:4700::1111"])  # type: ignore[assignment]
    kept = await resolver.resolve("mixed.example", 80, socket.AF_INET6)
    assert [r["host"] for r in kept] == ["2606:4700:4700::1111"]


Door = Callable[[OwnerClient, dict[str, Any], str], Awaitable[httpx.Response]]


async def _url_source(o: OwnerClient, w: dict[str, Any], url: str) -> httpx.Response:
    return await o.post(f"/api/v1/widgets/{w['id']}/sources", json={"type": "url", "url": url})


async def _sitemap(o: OwnerClient, w: dict[str, Any], url: str) -> httpx.Response:
    return await o.post(f"/api/v1/widgets/{w['id']}/sources", json={"type": "sitemap", "url": url})


async def _new_webhook(o: OwnerClient, w: dict[str, Any], url: str) -> httpx.Response:
    return await o.post("/api/v1/webhooks", json={"url": url, "events": ["message.created"]})


async def _changed_webhook(o: OwnerClient, w: dict[str, Any], url: str) -> httpx.Response:
    hooks = (await o.get("/api/v1/webhooks")).json()["webhooks"]
    return await o.patch(f"/api/v1/webhooks/{hooks[0]['id']}", json={"url": url})


# Every way a URL that porch will fetch enters it, and the error code each answers with.
DOORS: dict[str, tuple[Door, str]] = {
    "URL source": (_url_source, "invalid_url"),
    "sitemap source": (_sitemap, "invalid_url"),
    "new webhook": (_new_webhook, "webhook_url_blocked"),
    "changed webhook": (_changed_webhook, "webhook_url_blocked"),
}


@pytest.mark.parametrize("backend", BOTH, indirect=True)
async def test_every_door_refuses_every_form(
    owner: OwnerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = await make_widget(owner)
    # A webhook to change, made while a public name may be used (no DNS in tests).
    monkeypatch.setattr("porch.webhooks.service.check_resolves_public", _no_dns)
    hook = await _new_webhook(owner, w, "https://hooks.example.com/porch")
    assert hook.status_code == 201, hook.text
    for door, (call, code) in DOORS.items():
        for form, address in EMBEDDED.items():
            resp = await call(owner, w, f"http://[{address}]/sitemap.xml")
            assert resp.status_code == 400, (door, form, resp.text)
            assert resp.json()["error"]["code"] == code, (door, form, resp.text)
    sources = (await owner.get(f"/api/v1/widgets/{w['id']}/sources")).json()["sources"]
    assert sources == []
    hooks = (await owner.get("/api/v1/webhooks")).json()["webhooks"]
    assert [h["url"] for h in hooks] == ["https://hooks.example.com/porch"]


async def _no_dns(url: str, *, allow_private: bool) -> None:
    return None
