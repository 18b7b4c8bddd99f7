"""An add-source request, read: a JSON body of one of the three kinds, or a multipart upload.

The route documents both bodies itself (`request_body`), since it reads them by hand: the
kind of body decides how it is parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import UploadFile

from porch.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from porch.knowledge.ingest import documents
from porch.knowledge.sources.schemas import SitemapSourceIn, SourceIn, TextSourceIn, UrlSourceIn
from porch.schemas import check_line, clean_line

_SOURCE_IN: TypeAdapter[Any] = TypeAdapter(SourceIn)


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    kind: str
    content: bytes
    title: str


NewSource = Upload | TextSourceIn | UrlSourceIn | SitemapSourceIn


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """The JSON schema with local $refs resolved, so it can sit inside the OpenAPI document."""
    if isinstance(schema, dict):
        ref = schema.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inline(defs[ref.rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def request_body() -> dict[str, Any]:
    schema = _SOURCE_IN.json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _inline(schema, schema.get("$defs", {}))},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "title": {"type": "string", "maxLength": 300},
                        },
                    }
                },
            },
        }
    }


async def read(request: Request, upload_max_bytes: int) -> NewSource:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await _upload(request, upload_max_bytes)
    raw = await request.body()
    try:
        body: NewSource = _SOURCE_IN.validate_python(orjson.loads(raw))
    except orjson.JSONDecodeError:
        raise BadRequest("The request body is not valid JSON.", code="malformed_json") from None
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    return body


async def _upload(request: Request, limit: int) -> Upload:
    try:
        form = await request.form(max_files=1, max_fields=5)
    except Exception as exc:  # starlette raises several types for a broken multipart body
        raise BadRequest(f"Could not read the upload: {exc}", code="bad_upload") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise BadRequest("Send the document in a multipart field named 'file'.", code="no_file")
    data = await upload.read(limit + 1)
    await form.close()
    if len(data) > limit:
        raise PayloadTooLarge(f"The file is larger than {limit} bytes.", code="file_too_large")
    if not data:
        raise BadRequest("The file is empty.", code="empty_file")
    # A label only, never a path; control characters in it are dropped, not refused.
    name = clean_line((upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1])
    filename = name[:300] or "upload"
    try:
        kind = documents.sniff(data, filename)
    except documents.DocumentTooLarge as exc:
        raise PayloadTooLarge(str(exc), code="document_too_large") from None
    except documents.UnsupportedDocument as exc:
        raise UnsupportedMediaType(str(exc), code="unsupported_file_type") from None
    title = form.get("title")
    if isinstance(title, str):
        try:
            check_line(title)
        except ValueError as exc:
            raise BadRequest(f"title: {exc}", code="validation_error") from None
    return Upload(
        filename,
        kind,
        data,
        (title.strip() if isinstance(title, str) and title.strip() else "")[:300]
        or documents.default_title(filename),
    )
