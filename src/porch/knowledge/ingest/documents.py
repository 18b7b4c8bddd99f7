"""Uploaded documents: the type from the bytes (never the name), then Markdown via markitdown."""

from __future__ import annotations

import csv
import importlib.util
import io
import re
import zipfile
from pathlib import PurePath

from porch.knowledge.ingest.extracted import Extracted, tidy

KINDS = ("pdf", "docx", "pptx", "xlsx", "html", "markdown", "text", "csv")
_OFFICE = {"word/document.xml": "docx", "ppt/presentation.xml": "pptx", "xl/workbook.xml": "xlsx"}
_BINARY_NAMES = {".pdf": "pdf", ".docx": "docx", ".pptx": "pptx", ".xlsx": "xlsx"}
_HTML = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)[\s>]", re.I | re.S
)
_MD_HINT = re.compile(r"^(#{1,6} |\* |- |\d+\. |```|> )", re.M)
# Zip bombs: an Office file (a ZIP) may expand to this much, this many times its own size
# (real documents compress 3-20x; a bomb, 1000x), and hold this many members. zipfile never
# inflates a member past the size its header declares, so checking the headers holds.
MAX_UNZIPPED = 200 * 1024 * 1024
MAX_RATIO = 100
RATIO_CHECKED_ABOVE = 10 * 1024 * 1024
MAX_MEMBERS = 10_000
# PDFs with more pages than this are refused before any text is extracted.
MAX_PDF_PAGES = 2000


class UnsupportedDocument(Exception):
    """The bytes are not one of the supported document types (the message says what)."""


class DocumentTooLarge(UnsupportedDocument):
    """A supported type, but too big once opened: a zip bomb, a PDF of too many pages."""


def _decode(data: bytes) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\x00" in data[:65536]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1252", errors="replace")
    controls = sum(1 for ch in text[:65536] if ord(ch) < 9 or 13 < ord(ch) < 32)
    return None if controls > 10 else text


def _office_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise UnsupportedDocument("The file is a damaged ZIP archive.") from None
    if len(infos) > MAX_MEMBERS:
        raise DocumentTooLarge(f"The document holds more than {MAX_MEMBERS} files.")
    unzipped = sum(i.file_size for i in infos)
    if unzipped > MAX_UNZIPPED:
        raise DocumentTooLarge(
            f"The document expands to more than {MAX_UNZIPPED // (1024 * 1024)} MB."
        )
    if unzipped > RATIO_CHECKED_ABOVE and unzipped > MAX_RATIO * max(1, len(data)):
        raise DocumentTooLarge("The document expands suspiciously much (a ZIP bomb?).")
    names = {i.filename for i in infos}
    for marker, kind in _OFFICE.items():
        if marker in names:
            return kind
    raise UnsupportedDocument("ZIP archives other than DOCX, PPTX and XLSX are not supported.")


def sniff(data: bytes, filename: str) -> str:
    """One of KINDS, decided by the content; the name only tells text formats apart."""
    suffix = PurePath(filename).suffix.lower()
    if data.startswith(b"%PDF-"):
        kind = "pdf"
        pages = pdf_pages(data)
        if pages is not None and pages > MAX_PDF_PAGES:
            raise DocumentTooLarge(f"The PDF has {pages} pages; at most {MAX_PDF_PAGES} are read.")
    elif data.startswith(b"PK\x03\x04"):
        kind = _office_kind(data)
        if kind == "xlsx" and not xlsx_supported():
            raise UnsupportedDocument(
                "Reading XLSX needs porch's `documents` extra: pip install 'porch[documents]'."
            )
    else:
        text = _decode(data)
        if text is None:
            raise UnsupportedDocument(
                "Unsupported file type: upload PDF, DOCX, PPTX, XLSX, HTML, Markdown, text or CSV."
            )
        if suffix in _BINARY_NAMES:
            raise UnsupportedDocument(
                f"{filename} is named like a {suffix[1:].upper()} but is text."
            )
        if _HTML.match(data[:4096]):
            kind = "html"
        elif suffix in (".csv", ".tsv") and _looks_tabular(text):
            kind = "csv"
        elif suffix in (".md", ".markdown", ".mdx") or _MD_HINT.search(text[:8192]):
            kind = "markdown"
        else:
            kind = "text"
    if suffix in _BINARY_NAMES and _BINARY_NAMES[suffix] != kind:
        raise UnsupportedDocument(
            f"{filename} is named like a {suffix[1:].upper()} but is not one."
        )
    return kind


def xlsx_supported() -> bool:
    """Whether the spreadsheet readers (pandas, openpyxl: the `documents` extra) are here."""
    return all(importlib.util.find_spec(name) is not None for name in ("pandas", "openpyxl"))


def pdf_pages(data: bytes) -> int | None:
    """The page count a PDF declares (its page tree's /Count), or None when unreadable.

    Reads the cross-reference table and the catalog only, not the pages' content.
    """
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfparser import PDFParser
    from pdfminer.pdftypes import resolve1

    try:
        document = PDFDocument(PDFParser(io.BytesIO(data)))
        count = resolve1(resolve1(document.catalog["Pages"]).get("Count"))
    except Exception:  # pdfminer raises many types for damaged files; convert reports them
        return None
    return count if isinstance(count, int) else None


def _looks_tabular(text: str) -> bool:
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) < 2:
        return False
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines))
    except csv.Error:
        return False
    counts = {line.count(dialect.delimiter) for line in lines}
    return len(counts) == 1 and counts.pop() > 0


def _csv_text(text: str) -> str:
    """Each row as "column: value" pairs, so every passage carries its column names."""
    lines = text.splitlines()
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff("\n".join(lines[:20]))
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(lines, dialect))
    if not rows:
        return ""
    header = [h.strip() or f"column {i + 1}" for i, h in enumerate(rows[0])]
    out = []
    for row in rows[1:]:
        pairs = [f"{h}: {v.strip()}" for h, v in zip(header, row, strict=False) if v.strip()]
        if pairs:
            out.append("; ".join(pairs))
    return "\n\n".join(out)


def default_title(filename: str) -> str:
    """An upload's title when the owner gives none: the name without its extension, as
    both the dashboard and the visitors' source links show it."""
    return PurePath(filename).stem.replace("_", " ").strip()[:300] or filename[:300]


# A first line that reads like a heading: short, without the full stop of a sentence.
_HEADING_LINE = re.compile(r"^[^\n#>*\-|`]{1,80}(?<![.!?:;,])$")


def _text_headings(text: str) -> str:
    """A plain text file's title line as a Markdown heading, so it heads the first passage
    instead of being glued to its first sentence ("Warranty All devices carry…")."""
    first, sep, rest = text.partition("\n")
    if sep and rest.strip() and _HEADING_LINE.match(first.strip()):
        return f"# {first.strip()}\n\n{rest.lstrip()}"
    return text


def convert(data: bytes, kind: str, filename: str) -> Extracted:
    """Markdown text of a document (CPU-bound: call it from a worker thread)."""
    title = default_title(filename)
    if kind == "html":
        from porch.knowledge.ingest.extract import extract_html  # trafilatura: on first use

        page = extract_html(data, f"file:///{filename}")
        page.links, page.canonical = [], None
        page.title = page.title or title
        return page
    if kind in ("markdown", "text", "csv"):
        text = _decode(data) or ""
        if kind == "csv":
            return Extracted(title, _csv_text(text))
        return Extracted(title, tidy(_text_headings(tidy(text)) if kind == "text" else text))
    if kind == "docx":
        return _docx(data, title)
    from markitdown import MarkItDown, StreamInfo

    try:
        result = MarkItDown(enable_plugins=False).convert_stream(
            io.BytesIO(data), stream_info=StreamInfo(extension=f".{kind}", filename=filename)
        )
    except Exception as exc:  # markitdown wraps every parser's failure differently
        raise UnsupportedDocument(
            f"The {kind.upper()} could not be read: {type(exc).__name__}."
        ) from None
    return Extracted((result.title or title).strip()[:300], tidy(result.markdown or ""))


def _docx(data: bytes, title: str) -> Extracted:
    """Word documents through mammoth's HTML, then markitdown's HTML to Markdown.

    markitdown's own DOCX path first rewrites the XML to render equations, and with
    beautifulsoup4 4.15 that rewrite drops every namespace, after which mammoth finds no
    body in any document; equations are rare in support content, readable documents are not.
    """
    import mammoth
    from markitdown.converters import HtmlConverter

    try:
        html = mammoth.convert_to_html(io.BytesIO(data)).value
    except Exception as exc:  # mammoth raises ValueError, KeyError, XML errors for damaged files
        raise UnsupportedDocument(f"The DOCX could not be read: {type(exc).__name__}.") from None
    result = HtmlConverter().convert_string(html)
    return Extracted((result.title or title).strip()[:300], tidy(result.markdown or ""))
