"""Owner routes of actions: definitions, secrets, test runs and the call log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from porch.accounts.dependencies import AdminScope
from porch.actions import calls, openapi, secrets, service, trial
from porch.actions.dependencies import ActionsDep
from porch.actions.schemas import (
    ActionIn,
    ActionList,
    ActionOut,
    ActionPatch,
    CallList,
    ImportOut,
    SecretIn,
    SecretList,
    TestIn,
    TestOut,
)
from porch.deps import PubSubDep, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["actions"])
SecretName = Annotated[str, Path(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


@router.post(
    "/widgets/{widget_id}/actions", status_code=status.HTTP_201_CREATED, response_model=ActionOut
)
async def create_action(
    widget_id: uuid.UUID, body: ActionIn, owner: AdminScope, session: SessionDep, pubsub: PubSubDep
) -> ActionOut:
    action = await service.create(session, pubsub, owner.workspace_id, widget_id, body)
    return service.to_out(action)


@router.post(
    "/widgets/{widget_id}/actions/import",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportOut,
    openapi_extra=openapi.REQUEST_BODY,
)
async def import_actions(
    widget_id: uuid.UUID,
    request: Request,
    owner: AdminScope,
    session: SessionDep,
    pubsub: PubSubDep,
) -> ImportOut:
    """Disabled draft actions from an OpenAPI 3.0/3.1 document (JSON or YAML), or from
    `{document, operation_ids?, base_url?}`; all of them or none (422 names what is wrong)."""
    raw = await openapi.read_bounded(request.stream())
    return await openapi.import_document(session, pubsub, owner.workspace_id, widget_id, raw)


@router.get("/widgets/{widget_id}/actions", response_model=ActionList)
async def list_actions(widget_id: uuid.UUID, owner: AdminScope, session: SessionDep) -> ActionList:
    found = await service.list_for_widget(session, owner.workspace_id, widget_id)
    return ActionList(actions=[service.to_out(a) for a in found])


@router.get("/actions/{action_id}", response_model=ActionOut)
async def get_action(action_id: uuid.UUID, owner: AdminScope, session: SessionDep) -> ActionOut:
    return service.to_out(await service.get(session, owner.workspace_id, action_id))


@router.patch("/actions/{action_id}", response_model=ActionOut)
async def update_action(
    action_id: uuid.UUID,
    body: ActionPatch,
    owner: AdminScope,
    session: SessionDep,
    pubsub: PubSubDep,
) -> ActionOut:
    action = await service.update(session, pubsub, owner.workspace_id, action_id, body)
    return service.to_out(action)


@router.delete("/actions/{action_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_action(
    action_id: uuid.UUID, owner: AdminScope, session: SessionDep, pubsub: PubSubDep
) -> Response:
    await service.delete(session, pubsub, owner.workspace_id, action_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/actions/{action_id}/test", response_model=TestOut)
async def test_action(
    action_id: uuid.UUID, body: TestIn, owner: AdminScope, session: SessionDep, state: ActionsDep
) -> TestOut:
    """Call the owner's API now with these arguments; recorded with trigger `test`."""
    return await trial.test_action(
        session, state.settings, state.metrics, owner.workspace_id, action_id, body
    )


@router.put("/widgets/{widget_id}/secrets/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def put_secret(
    widget_id: uuid.UUID,
    name: SecretName,
    body: SecretIn,
    owner: AdminScope,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Set a named secret; its value is never returned."""
    await secrets.put(session, settings, owner.workspace_id, widget_id, name, body.value)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/widgets/{widget_id}/secrets", response_model=SecretList)
async def list_secrets(widget_id: uuid.UUID, owner: AdminScope, session: SessionDep) -> SecretList:
    return SecretList(secrets=await secrets.list_names(session, owner.workspace_id, widget_id))


@router.delete("/widgets/{widget_id}/secrets/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_secret(
    widget_id: uuid.UUID, name: SecretName, owner: AdminScope, session: SessionDep
) -> Response:
    await secrets.delete(session, owner.workspace_id, widget_id, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/widgets/{widget_id}/action-calls", response_model=CallList)
async def list_calls(
    widget_id: uuid.UUID,
    owner: AdminScope,
    session: SessionDep,
    action_id: uuid.UUID | None = None,
    conversation_id: uuid.UUID | None = None,
    failed: Annotated[bool, Query()] = False,
) -> CallList:
    """The newest calls first; filter by action, conversation, or failed ones only."""
    found = await calls.list_calls(
        session,
        owner.workspace_id,
        widget_id,
        action_id=action_id,
        conversation_id=conversation_id,
        failed_only=failed,
    )
    return CallList(calls=found)
