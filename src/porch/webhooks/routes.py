"""Owner routes of webhooks: subscribe, list, change, delete, read the delivery log."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from porch.accounts.dependencies import AdminScope
from porch.deps import PubSubDep, SessionDep, SettingsDep
from porch.webhooks import service
from porch.webhooks.schemas import (
    DeliveryList,
    WebhookCreated,
    WebhookIn,
    WebhookList,
    WebhookOut,
    WebhookPatch,
)

router = APIRouter(prefix="/api/v1", tags=["webhooks"])


@router.post("/webhooks", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated)
async def create_webhook(
    body: WebhookIn,
    owner: AdminScope,
    session: SessionDep,
    settings: SettingsDep,
    pubsub: PubSubDep,
) -> WebhookCreated:
    """Subscribe a URL to events. The reply holds the signing secret, shown this once."""
    hook, secret = await service.create(session, settings, pubsub, owner.workspace_id, body)
    return WebhookCreated(**service.to_out(hook).model_dump(), secret=secret)


@router.get("/webhooks", response_model=WebhookList)
async def list_webhooks(owner: AdminScope, session: SessionDep) -> WebhookList:
    hooks = await service.list_all(session, owner.workspace_id)
    return WebhookList(webhooks=[service.to_out(h) for h in hooks])


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut)
async def get_webhook(webhook_id: uuid.UUID, owner: AdminScope, session: SessionDep) -> WebhookOut:
    return service.to_out(await service.get(session, owner.workspace_id, webhook_id))


@router.patch("/webhooks/{webhook_id}", response_model=WebhookOut)
async def update_webhook(
    webhook_id: uuid.UUID,
    body: WebhookPatch,
    owner: AdminScope,
    session: SessionDep,
    settings: SettingsDep,
    pubsub: PubSubDep,
) -> WebhookOut:
    hook = await service.update(session, settings, pubsub, owner.workspace_id, webhook_id, body)
    return service.to_out(hook)


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(
    webhook_id: uuid.UUID, owner: AdminScope, session: SessionDep, pubsub: PubSubDep
) -> Response:
    await service.delete(session, pubsub, owner.workspace_id, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryList)
async def list_deliveries(
    webhook_id: uuid.UUID, owner: AdminScope, session: SessionDep
) -> DeliveryList:
    """The newest 100 deliveries: event, status, attempts, the receiver's last answer."""
    return DeliveryList(
        deliveries=await service.deliveries(session, owner.workspace_id, webhook_id)
    )
