"""Sending one action request to the owner's API through porch's SSRF guard.

The URL is checked before the request and on every redirect hop, and the connection
resolves names through `SafeResolver`, so a private address is reached only when its
host is on the action's allowlist (or the server allows private networks outright).
Redirects are followed by hand, at most three, and a method is never changed on the way:
a write redirected with 301/302/303 fails instead of becoming a GET. The body is read up
to the size cap and no further.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp

from porch.security.resolver import SafeResolver
from porch.security.ssrf import BlockedURL, PrivateAddress, check_url, describe

SIGNATURE_HEADER = "Porch-Signature"
USER_AGENT = "porch-actions/1"
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class Outgoing:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


@dataclass(frozen=True, slots=True)
class Received:
    status: int | None
    body: bytes
    content_type: str
    error_class: str | None = None
    error: str | None = None


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The HMAC-SHA256 over `{timestamp}.{body}`, as porch's webhooks sign (docs/actions.md)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def now() -> int:
    return int(time.time())


def _allow_private(url: str, allowed_hosts: frozenset[str], allow_all: bool) -> bool:
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    return allow_all or host in allowed_hosts


async def send(
    out: Outgoing,
    *,
    timeout_s: float,
    max_bytes: int,
    allowed_hosts: frozenset[str],
    allow_private: bool,
    retries: int = 0,
) -> Received:
    """One request, retried (GET only) after a timeout, a network error or a 5xx."""
    attempts = 1 + (retries if out.method == "GET" else 0)
    deadline = time.monotonic() + timeout_s
    got = Received(None, b"", "", "timeout", "no attempt was made")
    for _ in range(attempts):
        left = deadline - time.monotonic()
        if left <= 0.05:
            break
        got = await _follow(out, left, max_bytes, allowed_hosts, allow_private)
        if got.error_class not in ("timeout", "network", "http_5xx"):
            return got
    return got


async def _follow(
    out: Outgoing, timeout_s: float, max_bytes: int, hosts: frozenset[str], allow_all: bool
) -> Received:
    url, method, body = out.url, out.method, out.body
    try:
        async with asyncio.timeout(timeout_s):
            for _ in range(MAX_REDIRECTS + 1):
                private = _allow_private(url, hosts, allow_all)
                try:
                    check_url(url, allow_private=private)
                except BlockedURL as exc:
                    return Received(None, b"", "", "ssrf_blocked", str(exc))
                status, location, data, kind = await _one(
                    Outgoing(method, url, out.headers, body), private, max_bytes
                )
                if status not in _REDIRECTS or not location:
                    return _classify(status, data, kind, max_bytes)
                if method != "GET" and status in (301, 302, 303):
                    return Received(
                        status, b"", "", "config", f"the API redirected a {method} ({status})"
                    )
                url = urljoin(url, location)
            return Received(None, b"", "", "network", "too many redirects")
    except TimeoutError:
        return Received(None, b"", "", "timeout", f"no answer within {timeout_s:.1f} s")
    except PrivateAddress as exc:
        return Received(None, b"", "", "ssrf_blocked", str(exc))
    except (aiohttp.ClientError, OSError) as exc:
        if isinstance(exc.__cause__, PrivateAddress) or "private or local" in str(exc):
            return Received(None, b"", "", "ssrf_blocked", describe(exc))
        return Received(None, b"", "", "network", describe(exc))


async def _one(
    out: Outgoing, allow_private: bool, max_bytes: int
) -> tuple[int, str | None, bytes, str]:
    connector = aiohttp.TCPConnector(resolver=SafeResolver(allow_private=allow_private), limit=1)
    headers = {"User-Agent": USER_AGENT, **out.headers}
    # No proxy (it would connect past the resolver check), no automatic redirects.
    async with (
        aiohttp.ClientSession(connector=connector, trust_env=False) as http,
        http.request(
            out.method, out.url, data=out.body, headers=headers, allow_redirects=False
        ) as resp,
    ):
        data = await resp.content.read(max_bytes + 1)
        return resp.status, resp.headers.get("Location"), data, resp.content_type or ""


def _classify(status: int, data: bytes, kind: str, max_bytes: int) -> Received:
    if len(data) > max_bytes:
        return Received(status, b"", kind, "too_large", f"the response is over {max_bytes} bytes")
    if 400 <= status < 500:
        return Received(status, data, kind, "http_4xx", f"the API answered {status}")
    if status >= 500:
        return Received(status, data, kind, "http_5xx", f"the API answered {status}")
    if status >= 300:
        return Received(status, data, kind, "http_4xx", f"the API answered {status}")
    return Received(status, data, kind)
