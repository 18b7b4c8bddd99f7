"""Refuse to fetch anything but public http(s) addresses (unless configured otherwise).

The check runs three times: on the URL as given (scheme, host, IP literals), on every
redirect target, and inside the resolver the HTTP client connects through, so a name
that resolves to a private address, or changes its answer between checks (DNS
rebinding), never gets a connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ThreadedResolver
from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Ranges `is_global` misses or that mean "this network" to cloud providers.
_EXTRA_BLOCKED = [
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT
    ipaddress.ip_network("192.0.0.0/24"),
    ipaddress.ip_network("198.18.0.0/15"),  # benchmarking
    ipaddress.ip_network("fd00:ec2::/32"),  # AWS metadata over IPv6
]
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
# 2130706433, 0x7f000001, 127.1, 0177.0.0.1: resolvers read these as addresses, Python's
# ipaddress does not. No real host name is all numbers, so they are refused outright.
_NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]*|\d+)(?:\.(?:0x[0-9a-f]*|\d+)){0,3}$")


class BlockedURL(Exception):
    """A URL porch will not fetch; the message says why, fit for the owner to read."""


class PrivateAddress(OSError):
    """Raised by the resolver: the name resolves only to addresses porch must not reach."""


def blocked_ip(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if not ip.is_global or ip.is_multicast:
        return True
    return any(ip in net for net in _EXTRA_BLOCKED)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_url(url: str, *, allow_private: bool) -> str:
    """The URL if it may be fetched; raises BlockedURL otherwise (no network used)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedURL(f"Not a valid URL: {exc}.") from None
    if parts.scheme not in ("http", "https"):
        raise BlockedURL("Only http:// and https:// URLs can be fetched.")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise BlockedURL("The URL has no host.")
    if parts.username or parts.password:
        raise BlockedURL("URLs with credentials are not fetched.")
    if port is not None and not 0 < port < 65536:
        raise BlockedURL("The URL's port is out of range.")
    if allow_private:
        return url
    ip = _literal(host)
    if ip is None and _NUMERIC_HOST.match(host):
        raise BlockedURL("Write the address as a dotted IPv4 address or a host name.")
    if (ip is not None and blocked_ip(ip)) or host in _LOCAL_NAMES or host.endswith(".localhost"):
        raise BlockedURL("The URL points at a private or local address.")
    return url


async def check_resolves_public(url: str, *, allow_private: bool) -> None:
    """Early, friendly refusal of a host that resolves only to private addresses.

    A name that does not resolve now is let through: the crawl reports it per page.
    """
    if allow_private:
        return
    host = urlsplit(url).hostname or ""
    if _literal(host) is not None:
        return
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM), 3.0
        )
    except (OSError, TimeoutError):
        return
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    if addresses and all(blocked_ip(a) for a in addresses):
        raise BlockedURL("The URL's host resolves to a private or local address.")


class SafeResolver(AbstractResolver):
    """aiohttp resolver that drops private addresses: the connection-time check."""

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = ThreadedResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if self._allow_private:
            return results
        allowed = [r for r in results if not blocked_ip(ipaddress.ip_address(r["host"]))]
        if not allowed:
            raise PrivateAddress(f"{host} resolves only to private or local addresses")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def describe(exc: BaseException) -> str:
    text: Any = str(exc) or type(exc).__name__
    return str(text)[:300]
