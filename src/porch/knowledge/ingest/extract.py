"""Page text: the main content of an HTML page as Markdown (headings kept), and its links."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import lxml.html
import trafilatura
from lxml import etree

from porch.knowledge.ingest import structure
from porch.knowledge.ingest.extracted import Extracted, tidy
from porch.knowledge.ingest.structure import Block

__all__ = ["Extracted", "extract_html", "tidy"]
_NOT_WORD = re.compile(r"[\W_]+")


def _page_meta(html: bytes, url: str) -> tuple[str, list[str], str | None, bool, bool]:
    """Title, absolute links, canonical URL and robots meta flags, from the raw page."""
    try:
        doc = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return "", [], None, False, False
    base = url
    for href in doc.xpath("//base/@href")[:1]:
        base = urljoin(url, str(href).strip())
    robots = " ".join(
        str(c).lower()
        for c in doc.xpath("//meta[translate(@name,'ROBTS','robts')='robots']/@content")
    )
    nofollow = "nofollow" in robots or "none" in robots
    links: list[str] = []
    if not nofollow:
        for a in doc.xpath("//a[@href]"):
            if "nofollow" in str(a.get("rel", "")).lower():
                continue
            href = str(a.get("href", "")).strip()
            if href and not href.startswith(("javascript:", "mailto:", "tel:", "data:", "#")):
                links.append(urljoin(base, href))
    canonical = None
    for href in doc.xpath("//link[translate(@rel,'CANOLI','canoli')='canonical']/@href")[:1]:
        canonical = urljoin(base, str(href).strip())
    titles = doc.xpath("//title/text()")
    title = " ".join(str(titles[0]).split()) if titles else ""
    return title, links, canonical, "noindex" in robots or "none" in robots, nofollow


def _squash(text: str) -> str:
    return _NOT_WORD.sub("", text.lower())


def _assemble(found: list[Block], main: str | None) -> str:
    """The structured blocks that trafilatura counts as main text, with their headings."""
    squashed = _squash(main or "")
    judge = len(squashed) >= 200  # too little main text to judge by: keep every block
    kept = [b for b in found if b.kind == "heading" or not judge or _squash(b.text) in squashed]
    out: list[Block] = []
    for i, block in enumerate(kept):
        if block.kind == "heading":
            # A heading stays only if some content sits under it.
            following = (b for b in kept[i + 1 :] if b.kind != "heading" or b.level <= block.level)
            if next(following, block).kind == "heading":
                continue
        out.append(block)
    return tidy("\n\n".join(b.markdown() for b in out))


def extract_html(html: bytes, url: str) -> Extracted:
    """Main text without navigation, footers and cookie banners, as Markdown with headings."""
    title, links, canonical, noindex, nofollow = _page_meta(html, url)
    main = trafilatura.extract(
        html,
        url=url,
        output_format="txt",
        include_tables=True,
        include_links=False,
        include_images=False,
        include_comments=False,
        favor_recall=True,
        deduplicate=False,
    )
    text = _assemble(structure.blocks(html), main)
    if not text and main:
        text = tidy(main)
    if not title:
        first = re.match(r"#+\s+(.+)", text)
        title = first.group(1).strip() if first else ""
    return Extracted(
        title=title[:300],
        text=text,
        links=links,
        canonical=canonical,
        noindex=noindex,
        nofollow=nofollow,
    )
