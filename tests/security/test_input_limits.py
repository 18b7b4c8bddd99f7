"""Input limits: every body and field bounded, uploads judged by content, bombs refused."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from porch.knowledge.ingest import documents
from tests.conftest import OwnerClient, make_widget
from tests.knowledge.files import docx
from tests.knowledge.site import minimal_pdf


def _error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["code"] == code and error["message"] and "request_id" in error


async def test_bodies_over_the_cap_get_413_in_the_error_shape(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await make_widget(owner)
    url = f"/api/v1/widgets/{w['id']}/conversations"
    big = b'{"page_title": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    declared = await client.post(url, content=big, headers={"Content-Type": "application/json"})
    _error(declared, 413, "payload_too_large")

    async def chunks() -> Any:  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b" " * 65536
        yield b"{}"

    streamed = await client.post(
        url, content=chunks(), headers={"Content-Type": "application/json"}
    )
    _error(streamed, 413, "payload_too_large")
    # Uploads have their own, larger cap.
    upload = await owner.post(
        f"/api/v1/widgets/{w['id']}/sources",
        files={"file": ("notes.md", b"# Notes\n" + b"All fine here. " * 100_000)},
    )
    assert upload.status_code == 202, upload.text


async def test_fields_are_bounded(owner: OwnerClient, client: httpx.AsyncClient) -> None:
    w = await make_widget(owner)
    long_title = await owner.patch(f"/api/v1/widgets/{w['id']}", json={"title": "t" * 121})
    _error(long_title, 400, "validation_error")
    started = await client.post(
        f"/api/v1/widgets/{w['id']}/conversations", json={"user": {"id": "u" * 201}}
    )
    _error(started, 400, "validation_error")


def _walk(schema: dict[str, Any], spec: dict[str, Any], where: str, out: list[str]) -> None:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in _SEEN:
            return
        _SEEN.add(name)
        _walk(spec["components"]["schemas"][name], spec, name, out)
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            _walk(sub, spec, where, out)
    kind = schema.get("type")
    if kind == "string" and not (
        "maxLength" in schema
        or "enum" in schema
        or "const" in schema
        or schema.get("format") in ("uuid", "date-time", "date", "binary", "uri")
    ):
        out.append(where)
    if kind == "array":
        if "maxItems" not in schema:
            out.append(where + "[]")
        _walk(schema.get("items", {}), spec, where + "[]", out)
    for name, prop in schema.get("properties", {}).items():
        _walk(prop, spec, f"{where}.{name}", out)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        _walk(extra, spec, where + ".*", out)


_SEEN: set[str] = set()


async def test_every_request_body_field_has_a_bound(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    unbounded: list[str] = []
    _SEEN.clear()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            body = (op.get("requestBody") or {}).get("content", {})
            for media in body.values():
                _walk(media.get("schema", {}), spec, f"{method.upper()} {path}", unbounded)
    assert unbounded == [], "fields without maxLength/maxItems: " + ", ".join(unbounded)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _many_pages(count: int) -> bytes:
    """A real PDF of `count` empty pages."""
    kids = " ".join(f"{i + 3} 0 R" for i in range(count))
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>",
    ]
    objects += ["<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * count
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out


def test_zip_bombs_and_huge_pdfs_are_refused_before_parsing() -> None:
    bomb = _zip({"word/document.xml": b"\0" * (20 * 1024 * 1024), "[Content_Types].xml": b"x"})
    assert len(bomb) < 100_000
    with pytest.raises(documents.DocumentTooLarge):
        documents.sniff(bomb, "report.docx")
    real = docx([("Heading1", "Returns"), (None, "Send it back within 30 days.")])
    assert documents.sniff(real, "report.docx") == "docx"
    assert documents.pdf_pages(minimal_pdf(["one page"])) == 1
    assert documents.pdf_pages(_many_pages(10)) == 10
    with pytest.raises(documents.DocumentTooLarge):
        documents.sniff(_many_pages(documents.MAX_PDF_PAGES + 1), "manual.pdf")
    assert documents.sniff(_many_pages(5), "manual.pdf") == "pdf"


async def test_uploads_judged_by_content_with_bombs_refused(
    owner: OwnerClient, app: FastAPI
) -> None:
    w = await make_widget(owner)
    url = f"/api/v1/widgets/{w['id']}/sources"
    bomb = _zip({"word/document.xml": b"\0" * (20 * 1024 * 1024)})
    _error(await owner.post(url, files={"file": ("a.docx", bomb)}), 413, "document_too_large")
    pages = _many_pages(documents.MAX_PDF_PAGES + 1)
    _error(await owner.post(url, files={"file": ("b.pdf", pages)}), 413, "document_too_large")
    # A name does not make a type: text called .pdf, an executable called .md.
    _error(
        await owner.post(url, files={"file": ("c.pdf", b"just some text")}),
        415,
        "unsupported_file_type",
    )
    elf = b"\x7fELF\x02\x01\x01" + b"\0" * 200
    _error(await owner.post(url, files={"file": ("d.md", elf)}), 415, "unsupported_file_type")
    # Path-like names never become paths: stored under the base name only.
    ok = await owner.post(url, files={"file": ("../../etc/passwd.md", b"# Hi\nHello there.")})
    assert ok.status_code == 202, ok.text
    source = (await owner.get(f"/api/v1/sources/{ok.json()['source_id']}")).json()
    assert ".." not in str(source) and "/etc" not in str(source)
