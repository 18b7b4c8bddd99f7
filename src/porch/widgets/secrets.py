"""A widget's secrets: the identity secret (shown once) and its own provider API key.

Both are stored encrypted (porch.crypto) and never returned: the identity secret is shown
in the reply that creates it only, the API key by its last 4 characters.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from porch import crypto
from porch.accounts.dependencies import AdminScope
from porch.db import after_commit
from porch.deps import SessionDep, SettingsDep
from porch.widgets import service
from porch.widgets.dependencies import WidgetCacheDep
from porch.widgets.schemas import IdentitySecretOut, ProviderKeyIn, ProviderKeyOut

router = APIRouter(prefix="/api/v1", tags=["widgets"])


@router.post(
    "/widgets/{widget_id}/identity-secret",
    status_code=status.HTTP_201_CREATED,
    response_model=IdentitySecretOut,
)
async def create_identity_secret(
    widget_id: uuid.UUID,
    owner: AdminScope,
    session: SessionDep,
    settings: SettingsDep,
    cache: WidgetCacheDep,
) -> IdentitySecretOut:
    """A new identity secret; the previous one (if any) stops verifying at once."""
    secret = crypto.new_identity_secret()
    encrypted = crypto.box(settings.secret).encrypt(secret)
    await service.set_identity_secret(session, owner.workspace_id, widget_id, encrypted)
    after_commit(session, lambda: cache.changed(widget_id))
    return IdentitySecretOut(identity_secret=secret)


@router.delete("/widgets/{widget_id}/identity-secret", status_code=status.HTTP_204_NO_CONTENT)
async def delete_identity_secret(
    widget_id: uuid.UUID, owner: AdminScope, session: SessionDep, cache: WidgetCacheDep
) -> None:
    """Stop verifying identities (and stop requiring them)."""
    await service.set_identity_secret(session, owner.workspace_id, widget_id, None)
    after_commit(session, lambda: cache.changed(widget_id))


@router.put("/widgets/{widget_id}/provider-key", response_model=ProviderKeyOut)
async def set_provider_key(
    widget_id: uuid.UUID,
    body: ProviderKeyIn,
    owner: AdminScope,
    session: SessionDep,
    settings: SettingsDep,
    cache: WidgetCacheDep,
) -> ProviderKeyOut:
    """The API key this widget's provider is called with, instead of the server's."""
    last4 = crypto.last4(body.api_key) or ""
    encrypted = crypto.box(settings.secret).encrypt(body.api_key)
    await service.set_provider_key(session, owner.workspace_id, widget_id, encrypted, last4)
    after_commit(session, lambda: cache.changed(widget_id))
    return ProviderKeyOut(provider_api_key_last4=last4)


@router.delete("/widgets/{widget_id}/provider-key", status_code=status.HTTP_204_NO_CONTENT)
async def delete_provider_key(
    widget_id: uuid.UUID, owner: AdminScope, session: SessionDep, cache: WidgetCacheDep
) -> None:
    await service.set_provider_key(session, owner.workspace_id, widget_id, None, None)
    after_commit(session, lambda: cache.changed(widget_id))
