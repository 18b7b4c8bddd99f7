"""HTML to Markdown that keeps the page's structure: headings, lists, term/definition pairs,
tables and code, with navigation and other page furniture removed.

trafilatura is good at telling a page's main text from boilerplate but drops headings it
finds inside title blocks (as documentation generators such as DocBook and Sphinx write
them), and splits definition lists into orphan lines. So the page is walked here for
structure, and trafilatura's main text decides which blocks are content (see extract.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import html as lxml_html

_SPACE = re.compile(r"\s+")
_DROP_TAGS = frozenset(
    {
        *("script", "style", "noscript", "template", "svg", "canvas", "iframe", "form"),
        *("button", "select", "input", "textarea", "nav", "aside", "footer", "object", "embed"),
    }
)
_DROP_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "complementary"})
# class or id tokens that mark page furniture, matched as prefixes ("navheader", "menu-main")
_FURNITURE = re.compile(
    r"^(nav|menu|breadcrumb|footer|sidebar|cookie|consent|gdpr|banner|skip|share|social|"
    r"toc|pagination|pager|related|advert|promo|newsletter|subscribe|modal|popup)",
    re.I,
)
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_BLOCKS = frozenset(
    {
        *("p", "div", "section", "article", "main", "header", "li", "ul", "ol", "dl", "dt"),
        *("dd", "pre", "table", "thead", "tbody", "tfoot", "tr", "blockquote", "figure"),
        *("figcaption", "details", "summary", "body", "center", "address", "hr"),
    }
)


@dataclass(frozen=True, slots=True)
class Block:
    kind: str  # heading | text | item | code | row
    text: str
    level: int = 0
    anchor: str = ""  # a heading's id on the page, when it has one

    def markdown(self) -> str:
        if self.kind == "heading":
            suffix = f" {{#{self.anchor}}}" if self.anchor else ""
            return "#" * self.level + " " + self.text + suffix
        if self.kind == "item":
            return "- " + self.text
        if self.kind == "code":
            return "```\n" + self.text + "\n```"
        return self.text


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _furniture(el: lxml_html.HtmlElement) -> bool:
    if el.tag in _DROP_TAGS:
        return True
    if el.tag == "header" and not el.xpath(".//h1|.//h2"):
        return True
    if (el.get("role") or "").lower() in _DROP_ROLES:
        return True
    if (el.get("aria-hidden") or "").lower() == "true":
        return True
    names = f"{el.get('class') or ''} {el.get('id') or ''}".split()
    return any(_FURNITURE.match(n) for n in names)


_ANCHOR_OK = re.compile(r"^[A-Za-z][\w.:-]{0,199}$")


def _anchor(heading: lxml_html.HtmlElement) -> str:
    """The id a link to this heading would use: its own, an <a id|name> inside it, or that of
    the section it opens (DocBook and Sphinx put the id on the enclosing element)."""
    candidates = [heading.get("id")]
    candidates += [a.get("id") or a.get("name") for a in heading.iter("a")]
    parent = heading.getparent()
    for _ in range(4):
        if parent is None:
            break
        first = next(parent.iter(*_HEADINGS), None)
        if first is not heading:
            break
        candidates.append(parent.get("id"))
        parent = parent.getparent()
    return next((c for c in candidates if c and _ANCHOR_OK.match(c)), "")


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[Block] = []

    def _flush(self, buf: list[str], kind: str = "text") -> None:
        text = _clean("".join(buf))
        buf.clear()
        if text:
            self.blocks.append(Block(kind, text))

    def walk(self, el: lxml_html.HtmlElement, buf: list[str]) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if not tag or _furniture(el):
            if el.tail:
                buf.append(el.tail)
            return
        if tag in _HEADINGS:
            self._flush(buf)
            text = _clean(el.text_content())
            if text:
                self.blocks.append(Block("heading", text, _HEADINGS[tag], _anchor(el)))
        elif tag == "pre":
            self._flush(buf)
            code = el.text_content().strip("\n")
            if code.strip():
                self.blocks.append(Block("code", code))
        elif tag == "table":
            self._flush(buf)
            for row in el.iter("tr"):
                cells = [_clean(c.text_content()) for c in row if c.tag in ("td", "th")]
                line = " | ".join(c for c in cells if c)
                if line:
                    self.blocks.append(Block("row", line))
        elif tag == "dl":
            self._flush(buf)
            self._definitions(el)
        elif tag == "br":
            buf.append("\n")
        elif tag in _BLOCKS:
            self._flush(buf)
            inner: list[str] = [el.text or ""]
            for child in el:
                self.walk(child, inner)
            self._flush(inner, "item" if tag == "li" else "text")
        else:
            buf.append(el.text_content())
        if el.tail:
            buf.append(el.tail)

    def _definitions(self, dl: lxml_html.HtmlElement) -> None:
        """Each term with its definition in one block: "max_connections (integer): Determines…"."""
        term = ""
        for child in dl:
            if not isinstance(child.tag, str) or _furniture(child):
                continue
            if child.tag == "dt":
                text = _clean(child.text_content())
                term = f"{term}, {text}" if term else text
            elif child.tag == "dd":
                text = _clean(child.text_content())
                joined = f"{term}: {text}" if term and text else term or text
                if joined:
                    self.blocks.append(Block("text", joined))
                term = ""
            else:
                self.walk(child, [])
        if term:
            self.blocks.append(Block("text", term))


def blocks(html: bytes | str) -> list[Block]:
    """The structured blocks of a page's body (or its main/article element when it has one)."""
    try:
        doc = lxml_html.document_fromstring(html)
    except (ValueError, lxml_html.etree.ParserError):
        return []
    roots = doc.xpath("//main|//*[@role='main']|//article")
    root = max(roots, key=lambda r: len(r.text_content())) if roots else doc.body
    if root is None:
        return []
    walker = _Walker()
    walker.walk(root, [])
    return walker.blocks
