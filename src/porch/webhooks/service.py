"""Webhook subscriptions and their delivery log, within one workspace."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.db import after_commit
from porch.errors import BadRequest, Conflict, NotFound
from porch.models import Webhook, WebhookDelivery
from porch.pubsub import PubSub
from porch.security.ssrf import BlockedURL, check_resolves_public, check_url
from porch.settings import Settings
from porch.webhooks import signing
from porch.webhooks.schemas import DeliveryOut, WebhookIn, WebhookOut, WebhookPatch
from porch.webhooks.secrets_box import SecretBox

CHANGED = "webhooks.changed"
MAX_PER_WORKSPACE = 20
DELIVERIES_SHOWN = 100


async def _check(url: str, settings: Settings) -> None:
    """The same rules as crawling: public http(s) addresses only, unless configured otherwise."""
    allow = settings.crawl_allow_private_networks
    try:
        check_url(url, allow_private=allow)
        await check_resolves_public(url, allow_private=allow)
    except BlockedURL as exc:
        raise BadRequest(str(exc), code="webhook_url_blocked") from None


def _changed(session: AsyncSession, pubsub: PubSub, workspace_id: uuid.UUID) -> None:
    async def tell() -> None:
        await pubsub.publish(CHANGED, str(workspace_id).encode())

    after_commit(session, tell)


def to_out(hook: Webhook) -> WebhookOut:
    return WebhookOut(
        id=hook.id,
        url=hook.url,
        events=list(hook.events or []),
        description=hook.description,
        active=hook.active,
        created_at=hook.created_at,
    )


async def create(
    session: AsyncSession,
    settings: Settings,
    pubsub: PubSub,
    workspace_id: uuid.UUID,
    body: WebhookIn,
) -> tuple[Webhook, str]:
    """A new subscription and its signing secret (returned once, stored encrypted)."""
    await _check(body.url, settings)
    count = len(
        (
            await session.execute(select(Webhook.id).where(Webhook.workspace_id == workspace_id))
        ).all()
    )
    if count >= MAX_PER_WORKSPACE:
        raise Conflict(
            f"A workspace has at most {MAX_PER_WORKSPACE} webhooks.", code="too_many_webhooks"
        )
    secret = signing.new_secret()
    hook = Webhook(
        workspace_id=workspace_id,
        url=body.url,
        events=list(body.events),
        description=body.description,
        secret_encrypted=SecretBox(settings.secret).encrypt(secret),
        active=True,
    )
    session.add(hook)
    await session.flush()
    _changed(session, pubsub, workspace_id)
    return hook, secret


async def get(session: AsyncSession, workspace_id: uuid.UUID, webhook_id: uuid.UUID) -> Webhook:
    hook = await session.get(Webhook, webhook_id)
    if hook is None or hook.workspace_id != workspace_id:
        raise NotFound("No such webhook.", code="webhook_not_found")
    return hook


async def list_all(session: AsyncSession, workspace_id: uuid.UUID) -> list[Webhook]:
    rows = await session.execute(
        select(Webhook).where(Webhook.workspace_id == workspace_id).order_by(Webhook.created_at)
    )
    return list(rows.scalars())


async def update(
    session: AsyncSession,
    settings: Settings,
    pubsub: PubSub,
    workspace_id: uuid.UUID,
    webhook_id: uuid.UUID,
    body: WebhookPatch,
) -> Webhook:
    hook = await get(session, workspace_id, webhook_id)
    if body.url is not None:
        await _check(body.url, settings)
        hook.url = body.url
    if body.events is not None:
        hook.events = list(dict.fromkeys(body.events))
    if body.description is not None:
        hook.description = body.description
    if body.active is not None:
        hook.active = body.active
    await session.flush()
    _changed(session, pubsub, workspace_id)
    return hook


async def delete(
    session: AsyncSession, pubsub: PubSub, workspace_id: uuid.UUID, webhook_id: uuid.UUID
) -> None:
    hook = await get(session, workspace_id, webhook_id)
    await session.delete(hook)
    await session.flush()
    _changed(session, pubsub, workspace_id)


async def deliveries(
    session: AsyncSession, workspace_id: uuid.UUID, webhook_id: uuid.UUID
) -> list[DeliveryOut]:
    """The newest deliveries first, with their attempts and the receiver's last answer."""
    await get(session, workspace_id, webhook_id)
    d = WebhookDelivery
    rows = await session.execute(
        select(d).where(d.webhook_id == webhook_id).order_by(d.id.desc()).limit(DELIVERIES_SHOWN)
    )
    return [
        DeliveryOut(
            id=r.id,
            webhook_id=r.webhook_id,
            event_type=r.event_type,
            status=r.status,
            attempts=r.attempts,
            response_status=r.response_status,
            error=r.error,
            created_at=r.created_at,
            last_attempt_at=r.last_attempt_at,
            delivered_at=r.delivered_at,
            payload=dict(r.payload or {}),
        )
        for r in rows.scalars()
    ]
