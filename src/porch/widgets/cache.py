"""Widget configs kept in memory, shared by the chat path and the public config route.

A change anywhere publishes `widget.changed`; every process drops its copy, so a stale
config lives at most as long as pub/sub delivery. When pub/sub reconnects after an outage,
the changes published in the gap are lost, so every process drops every config and reads
the database again. Concurrent misses for one widget share one database read.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from porch.models import Widget
from porch.pubsub import PubSub
from porch.widgets.schemas import Features, Handoff, PublicConfig, Theme

CHANNEL = "widget.changed"


@dataclass(frozen=True, slots=True)
class WidgetConfig:
    """What serving a visitor needs of a widget, frozen at load time."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    allowed_origins: tuple[str, ...]
    system_prompt: str
    provider: str | None
    model: str | None
    temperature: float
    max_tokens: int
    history_limit: int
    fallback_message: str
    greeting: str
    limits: dict[str, Any]
    features: Features
    public_json: bytes
    etag: str
    # Encrypted (porch.crypto); decrypted only where used, never logged.
    identity_secret_encrypted: str | None = None
    require_identity: bool = False
    provider_api_key_encrypted: str | None = None
    # Read by every unanswered reply (whether to offer a person): kept here, not re-read.
    handoff: Handoff = field(default_factory=Handoff)

    def allows_origin(self, origin: str | None, own_host: str | None = None) -> bool:
        """Whether a browser on `origin` may use this widget.

        No Origin (a server-side client) passes: origin checks stop other websites, not
        scripts. porch's own pages (the chat iframe at /w/{id}) always pass; which sites may
        frame them is enforced by the page's CSP frame-ancestors.
        """
        if origin is None or "*" in self.allowed_origins or origin in self.allowed_origins:
            return True
        return own_host is not None and origin.partition("://")[2] == own_host


def build_config(widget: Widget) -> WidgetConfig:
    features = Features.model_validate(widget.features or {})
    public = PublicConfig(
        widget_id=widget.id,
        title=widget.title,
        subtitle=widget.subtitle,
        greeting=widget.greeting,
        theme=Theme.model_validate(widget.theme or {}),
        position=widget.position,
        suggested_questions=list(widget.suggested_questions or []),
        features=features,
    )
    body = orjson.dumps(public.model_dump(mode="json"))
    return WidgetConfig(
        id=widget.id,
        workspace_id=widget.workspace_id,
        allowed_origins=tuple(widget.allowed_origins or ["*"]),
        system_prompt=widget.system_prompt,
        provider=widget.provider,
        model=widget.model,
        temperature=widget.temperature,
        max_tokens=widget.max_tokens,
        history_limit=widget.history_limit,
        fallback_message=widget.fallback_message,
        greeting=widget.greeting,
        limits=dict(widget.limits or {}),
        features=features,
        public_json=body,
        etag='"' + hashlib.sha256(body).hexdigest()[:20] + '"',
        identity_secret_encrypted=widget.identity_secret_encrypted,
        require_identity=widget.require_identity,
        provider_api_key_encrypted=widget.provider_api_key_encrypted,
        handoff=Handoff.model_validate(widget.handoff or {}),
    )


class WidgetCache:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        pubsub: PubSub,
        max_entries: int = 10_000,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._pubsub = pubsub
        self._entries: dict[uuid.UUID, WidgetConfig | None] = {}
        self._loading: dict[uuid.UUID, asyncio.Future[WidgetConfig | None]] = {}
        self._max = max_entries
        # Bumped by every invalidation: a load that started before one may have read the old
        # row, so its result is handed to its waiters but not kept.
        self._generation = 0
        # Appended to what this cache publishes, to know its own message when it comes back.
        self._sender = uuid.uuid4().bytes
        # For health pages (GET /api/health): lookups answered from memory, and loads.
        self.hits = 0
        self.misses = 0
        pubsub.subscribe(CHANNEL, self._on_changed)
        pubsub.on_reconnect(self._on_reconnect)

    def peek(self, widget_id: uuid.UUID | None) -> WidgetConfig | None:
        """The cached config, without loading: None when absent, unknown or not cached."""
        return self._entries.get(widget_id) if widget_id is not None else None

    def __len__(self) -> int:
        return len(self._entries)

    def cached(self, widget_id: uuid.UUID) -> bool:
        """Whether the widget's config (or its absence) is already in memory."""
        return widget_id in self._entries

    async def get(self, widget_id: uuid.UUID) -> WidgetConfig | None:
        try:
            found = self._entries[widget_id]
        except KeyError:
            self.misses += 1
        else:
            self.hits += 1
            return found
        pending = self._loading.get(widget_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[WidgetConfig | None] = asyncio.get_running_loop().create_future()
        self._loading[widget_id] = future
        generation = self._generation
        try:
            config = await self._load(widget_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            # Only our own: an invalidation may have let a newer load take the slot.
            if self._loading.get(widget_id) is future:
                del self._loading[widget_id]
        if generation == self._generation:
            if len(self._entries) >= self._max:
                self._entries.pop(next(iter(self._entries)))
            self._entries[widget_id] = config
        future.set_result(config)
        return config

    async def _load(self, widget_id: uuid.UUID) -> WidgetConfig | None:
        async with self._sessionmaker() as session:
            widget = (
                await session.execute(select(Widget).where(Widget.id == widget_id))
            ).scalar_one_or_none()
            return build_config(widget) if widget else None

    async def changed(self, widget_id: uuid.UUID) -> None:
        """Call after committing a change to a widget: every process forgets it."""
        self._forget(widget_id)
        await self._pubsub.publish(CHANNEL, widget_id.bytes + self._sender)

    def clear(self) -> None:
        """Forget every config (and any load in flight): the next request reads the database."""
        self._generation += 1
        self._entries.clear()
        self._loading.clear()

    def _forget(self, widget_id: uuid.UUID) -> None:
        self._generation += 1
        self._entries.pop(widget_id, None)
        # A load in flight may have read the row before the change: later misses load anew.
        self._loading.pop(widget_id, None)

    async def _on_changed(self, data: bytes) -> None:
        if data[16:] == self._sender:
            # Our own change, forgotten in changed(): forgetting again would throw away loads
            # that already read the new row.
            return
        self._forget(uuid.UUID(bytes=data[:16]))

    async def _on_reconnect(self) -> None:
        self.clear()
