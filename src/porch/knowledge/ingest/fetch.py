"""One HTTP client for crawls and sitemaps: SSRF-safe, size- and time-capped, polite, retried."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import aiohttp

from porch.security.resolver import SafeResolver
from porch.security.ssrf import BlockedURL, PrivateAddress, check_url
from porch.settings import Settings

MAX_REDIRECTS = 5
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class FetchError(Exception):
    """A page that could not be fetched; `reason` is a short code shown to the owner."""

    def __init__(self, reason: str, detail: str = "", status: int | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.status = status

    @property
    def transient(self) -> bool:
        return self.reason in ("timeout", "connection") or (self.status or 0) in _RETRY_STATUS


@dataclass
class Response:
    url: str  # after redirects
    status: int
    headers: dict[str, str]
    body: bytes
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class Fetcher:
    """Shared by one job: per-host concurrency, connection reuse, the SSRF resolver."""

    def __init__(self, settings: Settings) -> None:
        self._allow_private = settings.crawl_allow_private_networks
        self._max_bytes = settings.crawl_page_max_bytes
        self._timeout = settings.crawl_timeout
        self._per_host = settings.crawl_concurrency
        self._user_agent = settings.crawl_user_agent
        self._retries = settings.crawl_retries
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=SafeResolver(allow_private=self._allow_private),
                limit=64,
                limit_per_host=self._per_host,
                ttl_dns_cache=60,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self._user_agent, "Accept-Encoding": "gzip, deflate"},
                timeout=aiohttp.ClientTimeout(total=self._timeout, sock_connect=10),
                trust_env=False,  # a proxy would connect on our behalf, past the resolver check
                auto_decompress=True,
            )
        return self._session

    def _slot(self, url: str) -> asyncio.Semaphore:
        host = urlsplit(url).netloc.lower()
        return self._hosts.setdefault(host, asyncio.Semaphore(self._per_host))

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
        accept: str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.5",
        follow: Callable[[str], str | None] | None = None,
    ) -> Response:
        """GET with retries for transient failures (429, 5xx, timeouts), with backoff.

        `follow` sees each redirect target first and may refuse it by returning a reason
        (a page already crawled, a target out of scope): no request is made for it then.
        """
        for attempt in range(self._retries + 1):
            try:
                return await self._get(url, etag, last_modified, max_bytes, accept, follow)
            except FetchError as exc:
                if not exc.transient or attempt == self._retries:
                    raise
                await asyncio.sleep(0.5 * (3**attempt) * (0.5 + random.random()))  # noqa: S311
        raise AssertionError("unreachable")

    async def _get(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        max_bytes: int | None,
        accept: str,
        follow: Callable[[str], str | None] | None,
    ) -> Response:
        limit = max_bytes or self._max_bytes
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        seen: list[str] = []
        current = url
        while True:
            try:
                check_url(current, allow_private=self._allow_private)
            except BlockedURL as exc:
                raise FetchError("blocked", str(exc)) from None
            seen.append(current)
            async with self._slot(current):
                try:
                    async with self._client().get(
                        current, headers=headers, allow_redirects=False
                    ) as resp:
                        if resp.status in (301, 302, 303, 307, 308):
                            target = resp.headers.get("Location")
                            if not target:
                                raise FetchError("bad_redirect", "no Location", resp.status)
                            current = urljoin(current, target).split("#", 1)[0]
                            if current in seen:
                                raise FetchError("redirect_loop", current, resp.status)
                            if len(seen) > MAX_REDIRECTS:
                                raise FetchError("too_many_redirects", current, resp.status)
                            refusal = follow(current) if follow is not None else None
                            if refusal:
                                raise FetchError(refusal, current, resp.status)
                            continue
                        return await self._read(resp, current, seen[:-1], limit)
                except FetchError:
                    raise
                except TimeoutError:
                    raise FetchError(
                        "timeout", f"no complete reply in {self._timeout:g}s"
                    ) from None
                except aiohttp.ClientConnectorError as exc:
                    if isinstance(exc.os_error, PrivateAddress):
                        raise FetchError("blocked", str(exc.os_error)) from None
                    raise FetchError("connection", str(exc)[:200]) from None
                except aiohttp.ClientError as exc:
                    raise FetchError("connection", str(exc)[:200] or type(exc).__name__) from None
                except OSError as exc:
                    raise FetchError("connection", str(exc)[:200]) from None

    async def _read(
        self, resp: aiohttp.ClientResponse, url: str, redirects: list[str], limit: int
    ) -> Response:
        headers = {k.lower(): v for k, v in resp.headers.items()}
        if resp.status >= 400:
            raise FetchError(f"http_{resp.status}", resp.reason or "", resp.status)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError("too_large", f"{declared} bytes (limit {limit})", resp.status)
        body = bytearray()
        async for block in resp.content.iter_chunked(65536):
            body.extend(block)
            if len(body) > limit:
                raise FetchError("too_large", f"over {limit} bytes", resp.status)
        return Response(url, resp.status, headers, bytes(body), redirects)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
