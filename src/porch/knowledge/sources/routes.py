"""Owner routes for sources, pages, test retrieval and context rules."""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from porch.accounts.dependencies import AdminScope
from porch.deps import SessionDep, SettingsDep
from porch.knowledge.ingest.dependencies import IngestDep
from porch.knowledge.search import rules as rules_service
from porch.knowledge.search.dependencies import RetrieverDep
from porch.knowledge.search.result import Retrieval
from porch.knowledge.sources import adding, intake, service
from porch.knowledge.sources.schemas import (
    ContextRuleIn,
    ContextRuleList,
    ContextRuleOut,
    PageList,
    PageOut,
    SearchCandidate,
    SearchOut,
    SearchResult,
    SourceCreated,
    SourceList,
    SourceOut,
    SourcePatch,
)
from porch.models import Source
from porch.schemas import Line
from porch.widgets import service as widgets

router = APIRouter(prefix="/api/v1", tags=["knowledge"])
UPLOAD_PATH = re.compile(r"/api/v1/widgets/[^/]+/sources")


def _source_out(source: Source) -> SourceOut:
    return SourceOut.model_validate(source, from_attributes=True)


@router.post(
    "/widgets/{widget_id}/sources",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SourceCreated,
    openapi_extra=intake.request_body(),
)
async def add_source(
    widget_id: uuid.UUID,
    request: Request,
    owner: AdminScope,
    session: SessionDep,
    settings: SettingsDep,
    retriever: RetrieverDep,
    ingest: IngestDep,
) -> SourceCreated:
    """A text (searchable on return), a site to crawl, a sitemap, or an uploaded document."""
    body = await intake.read(request, settings.upload_max_bytes)
    source = await adding.add(
        session,
        ingest,
        retriever,
        owner.workspace_id,
        widget_id,
        body,
        allow_private=settings.crawl_allow_private_networks,
    )
    return SourceCreated(
        source_id=source.id, status="ready" if source.type == "text" else "pending"
    )


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
    source_id: uuid.UUID, owner: AdminScope, session: SessionDep, ingest: IngestDep
) -> SourceOut:
    """Fetch again now; only pages that changed are re-chunked and re-embedded."""
    return _source_out(await adding.resync(session, ingest, owner.workspace_id, source_id))


@router.delete("/sources/{source_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_source(
    source_id: uuid.UUID, owner: AdminScope, session: SessionDep, retriever: RetrieverDep
) -> None:
    await service.delete_source(session, retriever.keywords, owner.workspace_id, source_id)


@router.get("/widgets/{widget_id}/search", response_model=SearchOut)
async def search(
    widget_id: uuid.UUID,
    owner: AdminScope,
    session: SessionDep,
    retriever: RetrieverDep,
    q: Annotated[Line, Query(min_length=1, max_length=1000)],
    k: Annotated[int, Query(ge=1, le=50)] = 5,
    source_id: Annotated[list[uuid.UUID] | None, Query(max_length=100)] = None,
    url_prefix: Annotated[Line | None, Query(max_length=2048)] = None,
    page_url: Annotated[Line | None, Query(max_length=2048)] = None,
) -> SearchOut:
    """Retrieval exactly as the assistant sees it (the same function, threshold included)."""
    await widgets.get(session, owner.workspace_id, widget_id)
    hits = await retriever.search(
        session, widget_id, q, k, source_ids=source_id, url_prefix=url_prefix, page_url=page_url
    )
    return _search_out(hits)


def _search_out(hits: Retrieval) -> SearchOut:
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
        candidates=[SearchCandidate(**asdict(c)) for c in hits.candidates],
        threshold=hits.threshold,
        threshold_source=hits.threshold_source,
        passages=hits.passages,
        refused=hits.refused,
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
