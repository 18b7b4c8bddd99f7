"""Owner widget CRUD, the embed snippet, and the public config visitors' widgets read."""

from __future__ import annotations

import html
import uuid

from fastapi import APIRouter, Request, Response, status

from porch.accounts.dependencies import AdminScope, AgentScope
from porch.db import after_commit
from porch.deps import SessionDep, SettingsDep
from porch.errors import NotFound
from porch.security import cors
from porch.widgets import service
from porch.widgets.cache import WidgetConfig
from porch.widgets.dependencies import WidgetCacheDep
from porch.widgets.schemas import (
    EmbedOut,
    PublicConfig,
    WidgetCreate,
    WidgetFields,
    WidgetList,
    WidgetOut,
)

router = APIRouter(prefix="/api/v1", tags=["widgets"])
public_router = APIRouter(prefix="/api/v1", tags=["visitor"])


@router.post("/widgets", status_code=status.HTTP_201_CREATED, response_model=WidgetOut)
async def create_widget(
    body: WidgetCreate, owner: AdminScope, session: SessionDep, cache: WidgetCacheDep
) -> WidgetOut:
    widget = await service.create(session, owner.workspace_id, body)
    after_commit(session, lambda: cache.changed(widget.id))
    return service.to_out(widget)


@router.get("/widgets", response_model=WidgetList)
async def list_widgets(owner: AgentScope, session: SessionDep) -> WidgetList:
    widgets = await service.list_all(session, owner.workspace_id)
    return WidgetList(widgets=[service.to_out(w) for w in widgets])


@router.get("/widgets/{widget_id}", response_model=WidgetOut)
async def get_widget(widget_id: uuid.UUID, owner: AgentScope, session: SessionDep) -> WidgetOut:
    return service.to_out(await service.get(session, owner.workspace_id, widget_id))


@router.patch("/widgets/{widget_id}", response_model=WidgetOut)
async def update_widget(
    widget_id: uuid.UUID,
    body: WidgetFields,
    owner: AdminScope,
    session: SessionDep,
    cache: WidgetCacheDep,
) -> WidgetOut:
    widget = await service.update(session, owner.workspace_id, widget_id, body)
    after_commit(session, lambda: cache.changed(widget_id))
    return service.to_out(widget)


@router.delete("/widgets/{widget_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_widget(
    widget_id: uuid.UUID, owner: AdminScope, session: SessionDep, cache: WidgetCacheDep
) -> None:
    await service.delete(session, owner.workspace_id, widget_id)
    after_commit(session, lambda: cache.changed(widget_id))


@router.get("/widgets/{widget_id}/embed", response_model=EmbedOut)
async def embed(
    widget_id: uuid.UUID, owner: AdminScope, session: SessionDep, settings: SettingsDep
) -> EmbedOut:
    widget = await service.get(session, owner.workspace_id, widget_id)
    base = settings.public_url
    snippet = (
        f'<script src="{html.escape(base)}/widget.js" data-widget-id="{widget.id}" async></script>'
    )
    return EmbedOut(snippet=snippet, widget_url=f"{base}/w/{widget.id}")


@public_router.get(
    "/widgets/{widget_id}/public",
    response_model=PublicConfig,
    responses={304: {"description": "Not modified (If-None-Match)"}},
)
async def public_config(widget_id: uuid.UUID, request: Request, cache: WidgetCacheDep) -> Response:
    config = _allowed(request, await cache.get(widget_id))
    headers = {"ETag": config.etag, "Cache-Control": "public, max-age=30, must-revalidate"}
    if request.headers.get("if-none-match") == config.etag:
        return Response(status_code=304, headers=headers)
    # Pre-serialized at load time: this route does no validation or encoding per request.
    return Response(config.public_json, media_type="application/json", headers=headers)


def _allowed(request: Request, config: WidgetConfig | None) -> WidgetConfig:
    """The widget, when the page's Origin may use it; its CORS answer marked either way."""
    origin = request.headers.get("origin")
    if config is None:
        if origin:
            cors.allow(request.scope, origin)  # no widget, so no origin list to keep it from
        raise NotFound("No such widget.", code="widget_not_found")
    if not config.allows_origin(origin, request.headers.get("host")):
        # The loader adds no widget to a site the owner has not allowed.
        raise cors.refuse(request.scope, origin or "")
    if origin:
        cors.allow(request.scope, origin)
    return config
