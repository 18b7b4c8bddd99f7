"""The connection-time half of the outbound-URL check (ssrf.py): an aiohttp resolver.

Apart from ssrf.py so that checking a URL (adding a source, saving a webhook) does not
import aiohttp; only the modules that open connections import this one.
"""

from __future__ import annotations

import ipaddress
import socket

from aiohttp import ThreadedResolver
from aiohttp.abc import AbstractResolver, ResolveResult

from porch.security.ssrf import PrivateAddress, blocked_ip


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
