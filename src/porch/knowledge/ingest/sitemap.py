"""Sitemaps: a urlset, a sitemap index of them, gzip or plain, or a text list of URLs."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from lxml import etree

from porch.knowledge.ingest.fetch import Fetcher, FetchError
from porch.knowledge.ingest.urls import normalize, site_of

MAX_SITEMAPS = 50
MAX_DEPTH = 2


class SitemapError(Exception):
    pass


@dataclass(frozen=True)
class Entry:
    url: str
    lastmod: str | None


def _gunzip(data: bytes, limit: int) -> bytes:
    if not data.startswith(b"\x1f\x8b"):
        return data
    # Decompress incrementally so a gzip bomb stops at the limit.
    out = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        result = out.decompress(data, limit + 1)
    except zlib.error as exc:
        raise SitemapError(f"bad gzip: {exc}") from None
    if len(result) > limit:
        raise SitemapError(f"sitemap expands to more than {limit} bytes")
    return result


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def parse(data: bytes) -> tuple[list[str], list[Entry]]:
    """(child sitemaps, page entries) of one sitemap document."""
    stripped = data.lstrip()
    if not stripped.startswith(b"<"):
        lines = stripped.decode("utf-8", errors="replace").splitlines()
        return [], [Entry(line.strip(), None) for line in lines if line.strip().startswith("http")]
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
    try:
        root = etree.fromstring(stripped, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise SitemapError(f"not a sitemap: {exc}") from None
    if root is None:
        raise SitemapError("not a sitemap: empty document")
    kind = _local(root.tag)
    children: list[str] = []
    entries: list[Entry] = []
    for item in root:
        fields = {_local(el.tag): (el.text or "").strip() for el in item}
        loc = fields.get("loc")
        if not loc:
            continue
        if kind == "sitemapindex":
            children.append(loc)
        elif kind == "urlset":
            entries.append(Entry(loc, fields.get("lastmod") or None))
    if kind not in ("sitemapindex", "urlset"):
        raise SitemapError(f"not a sitemap: root element <{kind}>")
    return children, entries


async def entries(fetcher: Fetcher, url: str, *, limit: int, max_bytes: int) -> list[Entry]:
    """Every page URL of the sitemap (following an index), on the sitemap's own site."""
    site = site_of(url)
    found: dict[str, Entry] = {}
    pending = [(url, 0)]
    fetched = 0
    while pending and len(found) < limit:
        current, depth = pending.pop(0)
        fetched += 1
        try:
            resp = await fetcher.get(
                current, max_bytes=max_bytes, accept="application/xml,text/xml,*/*"
            )
        except FetchError as exc:
            if current == url:
                raise SitemapError(f"could not fetch the sitemap: {exc}") from None
            continue
        children, items = parse(_gunzip(resp.body, max_bytes))
        for entry in items:
            normal = normalize(entry.url)
            if site_of(normal) == site and normal not in found:
                found[normal] = Entry(normal, entry.lastmod)
                if len(found) >= limit:
                    break
        if depth < MAX_DEPTH:
            for child in children:
                if fetched + len(pending) < MAX_SITEMAPS and site_of(child) == site:
                    pending.append((child, depth + 1))
    return list(found.values())
