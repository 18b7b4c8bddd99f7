"""What reading a page or a document gives: title, Markdown text, links, robots hints.

Apart from extract.py, which imports trafilatura and lxml (about 0.3 s), so that sniffing an
upload or checking a source at start-up does not load the HTML readers.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from porch.schemas import clean_line, clean_text

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_BLANK_RUN = re.compile(r"\n{3,}")


@dataclass
class Extracted:
    title: str
    text: str  # Markdown: "#" headings give chunks their section paths
    links: list[str] = field(default_factory=list)
    canonical: str | None = None
    noindex: bool = False
    nofollow: bool = False

    def __post_init__(self) -> None:
        # A page or document may hold NUL and other control characters; the database would
        # refuse them (PostgreSQL) and they mean nothing in a passage.
        self.title = clean_line(self.title)
        self.text = clean_text(self.text)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(f"{self.title}\n{self.text}".encode()).hexdigest()


def tidy(markdown: str) -> str:
    text = _COMMENT.sub("", markdown).replace("\r\n", "\n")
    return _BLANK_RUN.sub("\n\n", text).strip()
