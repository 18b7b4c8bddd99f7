"""The one outbound-URL check: porch fetches only public http(s) addresses (unless
PORCH_CRAWL_ALLOW_PRIVATE_NETWORKS says otherwise). Crawls, sitemaps and webhooks all use it.

The check runs three times: on the URL as given (scheme, host, IP literals), on every
redirect target, and inside the resolver the HTTP client connects through (resolver.py,
apart because it imports aiohttp), so a name
that resolves to a private address, or changes its answer between checks (DNS
rebinding), never gets a connection. An IPv6 address that carries an IPv4 one (mapped,
compatible, NAT64, 6to4, Teredo, ISATAP) is judged by the IPv4 address inside it, since a
translator or relay on the path would deliver it there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from typing import Any
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_net = ipaddress.ip_network
# Ranges `is_global` misses (in some Python versions) or that mean "this network" to clouds.
_EXTRA_V4 = [
    _net("100.64.0.0/10"),  # carrier-grade NAT
    _net("192.0.0.0/24"),
    _net("192.88.99.0/24"),  # 6to4 relays (deprecated anycast)
    _net("198.18.0.0/15"),  # benchmarking
]
_EXTRA_V6 = [
    _net("fd00:ec2::/32"),  # AWS metadata over IPv6
    _net("fec0::/10"),  # site-local (deprecated, still routed inside some networks)
    # NAT64 local-use prefixes (RFC 8215): where the IPv4 address sits depends on the
    # prefix length the operator chose, so the whole range is refused rather than unwrapped.
    _net("64:ff9b:1::/48"),
]
# IPv6 forms that carry an IPv4 address in fixed bits, reaching it through a translator,
# a relay or the host's own stack: each is judged by the IPv4 address inside.
_NAT64 = _net("64:ff9b::/96")  # RFC 6052 well-known prefix: the last 32 bits
_COMPATIBLE = _net("::/96")  # IPv4-compatible (RFC 4291, deprecated): the last 32 bits
_TRANSLATED = _net("::ffff:0:0:0/96")  # SIIT IPv4-translated (RFC 2765): the last 32 bits
_ISATAP_IID = (0x00005EFE, 0x02005EFE)  # RFC 5214: interface id [02]00:5efe:<IPv4>
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
# 2130706433, 0x7f000001, 127.1, 0177.0.0.1: resolvers read these as addresses, Python's
# ipaddress does not. No real host name is all numbers, so they are refused outright.
_NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]*|\d+)(?:\.(?:0x[0-9a-f]*|\d+)){0,3}$")


class BlockedURL(Exception):
    """A URL porch will not fetch; the message says why, fit for the owner to read."""


# Named in every private-address refusal: an intranet wiki is a real source, and the owner
# should learn at once which setting lets porch read it.
ALLOW_PRIVATE_HINT = (
    " To crawl an intranet, whoever runs porch sets PORCH_CRAWL_ALLOW_PRIVATE_NETWORKS=true."
)


class PrivateAddress(OSError):
    """Raised by the resolver: the name resolves only to addresses porch must not reach."""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address carries: mapped, compatible, translated, NAT64,
    6to4, Teredo (server and client) and ISATAP forms. Empty for a plain IPv6 address."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in _NAT64 or ip in _TRANSLATED or (ip in _COMPATIBLE and int(ip) > 1):
        found.append(low32)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if (int(ip) >> 32) & 0xFFFFFFFF in _ISATAP_IID:
        found.append(low32)
    return found


def _blocked_v4(ip: ipaddress.IPv4Address) -> bool:
    return not ip.is_global or ip.is_multicast or any(ip in net for net in _EXTRA_V4)


def blocked_ip(ip: IPAddress) -> bool:
    """Whether porch must not connect to `ip`: anything not public, spelled any way."""
    if isinstance(ip, ipaddress.IPv4Address):
        return _blocked_v4(ip)
    inner = embedded_ipv4(ip)
    if any(_blocked_v4(v4) for v4 in inner):
        return True
    if ip.ipv4_mapped is not None or (ip in _COMPATIBLE and int(ip) > 1):
        return False  # an IPv4 address in IPv6 clothing: the IPv4 address decided
    if not ip.is_global or ip.is_multicast:
        return True
    return any(ip in net for net in _EXTRA_V6)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_url(url: str, *, allow_private: bool) -> str:
    """The URL if it may be fetched; raises BlockedURL otherwise (no network used)."""
    if _CONTROL.search(url):
        # urlsplit drops tabs and line breaks, so the URL it judged would not be the URL
        # sent; a CR/LF would also split the request line or a header.
        raise BlockedURL("The URL holds control characters (a line break, a tab, NUL…).")
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
        raise BlockedURL("The URL points at a private or local address." + ALLOW_PRIVATE_HINT)
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
        raise BlockedURL(
            "The URL's host resolves to a private or local address." + ALLOW_PRIVATE_HINT
        )


def describe(exc: BaseException) -> str:
    text: Any = str(exc) or type(exc).__name__
    return str(text)[:300]
