"""Owner routes for sources, pages, test retrieval and context rules."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import UploadFile

from porch.accounts.dependencies import AdminScope
from porch.db import after_commit
from porch.deps import SessionDep, StateDep
from porch.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from porch.knowledge import documents, service
from porch.knowledge import rules as rules_service
from porch.knowledge.schemas import (
    ContextRuleIn,
    ContextRuleList,
    ContextRuleOut,
    PageList,
    PageOut,
    SearchOut,
    SearchResult,
    SitemapSourceIn,
    SourceCreated,
    SourceIn,
    SourceList,
    SourceOut,
    SourcePatch,
    TextSourceIn,
    UrlSourceIn,
)
from porch.models import Source
from porch.schemas import Line, check_line, clean_line
from porch.security.ssrf import BlockedURL, check_resolves_public, check_url
from porch.state import State
from porch.widgets import service as widgets

router = APIRouter(prefix="/api/v1", tags=["knowledge"])
UPLOAD_PATH = re.compile(r"/api/v1/widgets/[^/]+/sources")
_SOURCE_IN: TypeAdapter[Any] = TypeAdapter(SourceIn)


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


def _request_body() -> dict[str, Any]:
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


def _source_out(source: Source) -> SourceOut:
    return SourceOut.model_validate(source, from_attributes=True)


async def _checked_url(url: str, state: State) -> str:
    allow = state.settings.crawl_allow_private_networks
    try:
        check_url(url, allow_private=allow)
        await check_resolves_public(url, allow_private=allow)
    except BlockedURL as exc:
        raise BadRequest(str(exc), code="invalid_url") from None
    return url


def _enqueue_sync(session: Any, state: State, source: Source) -> None:
    source_id, generation = source.id, source.generation

    async def enqueue() -> None:
        await state.jobs.sync(source_id, generation)

    after_commit(session, enqueue)


async def _upload(
    request: Request, widget_id: uuid.UUID, owner: AdminScope, session: SessionDep, state: State
) -> Source:
    limit = state.settings.upload_max_bytes
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
    return await service.add_file(
        session,
        owner.workspace_id,
        widget_id,
        filename=filename,
        kind=kind,
        content=data,
        title=(title if isinstance(title, str) and title.strip() else filename)[:300],
    )


@router.post(
    "/widgets/{widget_id}/sources",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SourceCreated,
    openapi_extra=_request_body(),
)
async def add_source(
    widget_id: uuid.UUID,
    request: Request,
    owner: AdminScope,
    session: SessionDep,
    state: StateDep,
) -> SourceCreated:
    """A text (searchable on return), a site to crawl, a sitemap, or an uploaded document."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        source = await _upload(request, widget_id, owner, session, state)
        _enqueue_sync(session, state, source)
        return SourceCreated(source_id=source.id, status="pending")
    raw = await request.body()
    try:
        body = _SOURCE_IN.validate_python(orjson.loads(raw))
    except orjson.JSONDecodeError:
        raise BadRequest("The request body is not valid JSON.", code="malformed_json") from None
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    if isinstance(body, TextSourceIn):
        source = await service.add_text(
            session,
            state.retriever.keywords,
            owner.workspace_id,
            widget_id,
            title=body.title,
            body=body.text,
            url=body.url,
            embedder=state.retriever.embedder,
        )
        if source.stats.get("vectors_missing"):
            wid = source.widget_id

            async def embed() -> None:
                await state.jobs.embed(wid)

            after_commit(session, embed)
        return SourceCreated(source_id=source.id, status="ready")
    assert isinstance(body, UrlSourceIn | SitemapSourceIn)
    url = await _checked_url(body.url.strip(), state)
    config: dict[str, Any] = (
        {"crawl": body.crawl.model_dump()}
        if isinstance(body, UrlSourceIn)
        else {"crawl": {"max_pages": body.max_pages}}
    )
    source = await service.add_remote(
        session,
        owner.workspace_id,
        widget_id,
        kind=body.type,
        url=url,
        title=body.title or url,
        config=config,
        schedule=body.schedule,
    )
    _enqueue_sync(session, state, source)
    return SourceCreated(source_id=source.id, status="pending")


@router.get("/widgets/{widget_id}/sources", response_model=SourceList)
async def list_sources(widget_id: uuid.UUID, owner: AdminScope, session: SessionDep) -> SourceList:
    sources = await service.list_for_widget(session, owner.workspace_id, widget_id)
    return SourceList(sources=[_source_out(s) for s in sources])


@router.get("/sources/{source_id}", response_model=SourceOut)
async def get_source(source_id: uuid.UUID, owner: AdminScope, session: SessionDep) -> SourceOut:
    return _source_out(await service.get(session, owner.workspace_id, source_id))


@router.patch("/sources/{source_id}", response_model=SourceOut)
async def update_source(
    source_id: uuid.UUID, body: SourcePatch, owner: AdminScope, session: SessionDep
) -> SourceOut:
    source = await service.update(
        session, owner.workspace_id, source_id, title=body.title, schedule=body.schedule
    )
    return _source_out(source)


@router.get("/sources/{source_id}/pages", response_model=PageList)
async def list_pages(
    source_id: uuid.UUID,
    owner: AdminScope,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> PageList:
    pages = await service.list_pages(
        session, owner.workspace_id, source_id, limit=limit, offset=offset
    )
    return PageList(pages=[PageOut.model_validate(p, from_attributes=True) for p in pages])


@router.post(
    "/sources/{source_id}/resync", status_code=status.HTTP_202_ACCEPTED, response_model=SourceOut
)
async def resync_source(
    source_id: uuid.UUID, owner: AdminScope, session: SessionDep, state: StateDep
) -> SourceOut:
    """Fetch again now; only pages that changed are re-chunked and re-embedded."""
    before = await service.get(session, owner.workspace_id, source_id)
    generation = before.generation
    source = await service.request_sync(session, owner.workspace_id, source_id)
    if source.generation != generation:
        _enqueue_sync(session, state, source)
    return _source_out(source)


@router.delete("/sources/{source_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_source(
    source_id: uuid.UUID, owner: AdminScope, session: SessionDep, state: StateDep
) -> None:
    await service.delete_source(session, state.retriever.keywords, owner.workspace_id, source_id)


@router.get("/widgets/{widget_id}/search", response_model=SearchOut)
async def search(
    widget_id: uuid.UUID,
    owner: AdminScope,
    session: SessionDep,
    state: StateDep,
    q: Annotated[Line, Query(min_length=1, max_length=1000)],
    k: Annotated[int, Query(ge=1, le=50)] = 5,
    source_id: Annotated[list[uuid.UUID] | None, Query(max_length=100)] = None,
    url_prefix: Annotated[Line | None, Query(max_length=2048)] = None,
    page_url: Annotated[Line | None, Query(max_length=2048)] = None,
) -> SearchOut:
    """Retrieval exactly as the assistant sees it (the same function, threshold included)."""
    await widgets.get(session, owner.workspace_id, widget_id)
    hits = await state.retriever.search(
        session, widget_id, q, k, source_ids=source_id, url_prefix=url_prefix, page_url=page_url
    )
    return SearchOut(
        results=[
            SearchResult(
                chunk_id=h.chunk_id,
                source_id=h.source_id,
                title=h.title,
                heading=h.heading,
                url=h.url,
                text=h.text,
                score=round(h.score, 4),
            )
            for h in hits
        ],
        instructions=list(hits.instructions),
    )


def _rule_out(rule: Any) -> ContextRuleOut:
    return ContextRuleOut(
        id=rule.id,
        widget_id=rule.widget_id,
        match=rule.match,
        instructions=rule.instructions,
        source_ids=[uuid.UUID(str(s)) for s in rule.source_ids],
        mode=rule.mode,
        created_at=rule.created_at,
    )


@router.get("/widgets/{widget_id}/context-rules", response_model=ContextRuleList)
async def list_rules(
    widget_id: uuid.UUID, owner: AdminScope, session: SessionDep
) -> ContextRuleList:
    found = await rules_service.list_rules(session, owner.workspace_id, widget_id)
    return ContextRuleList(rules=[_rule_out(r) for r in found])


@router.post(
    "/widgets/{widget_id}/context-rules",
    status_code=status.HTTP_201_CREATED,
    response_model=ContextRuleOut,
)
async def create_rule(
    widget_id: uuid.UUID, body: ContextRuleIn, owner: AdminScope, session: SessionDep
) -> ContextRuleOut:
    rule = await rules_service.create_rule(
        session,
        owner.workspace_id,
        widget_id,
        match=body.match,
        instructions=body.instructions,
        source_ids=body.source_ids,
        mode=body.mode,
    )
    return _rule_out(rule)


@router.delete(
    "/widgets/{widget_id}/context-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def delete_rule(
    widget_id: uuid.UUID, rule_id: uuid.UUID, owner: AdminScope, session: SessionDep
) -> None:
    await rules_service.delete_rule(session, owner.workspace_id, widget_id, rule_id)
