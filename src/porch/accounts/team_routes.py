"""Workspaces (list, create, switch, rename, delete), members and invitations."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from porch.accounts import team, workspaces
from porch.accounts.cookies import clear_cookie, session_out
from porch.accounts.dependencies import AgentScope, CurrentOwner, OwnerScope
from porch.accounts.roles import parse
from porch.accounts.schemas import (
    AcceptIn,
    InvitationCreated,
    InvitationIn,
    InvitationList,
    InvitationOut,
    MemberList,
    MemberOut,
    MemberPatch,
    MyWorkspaceOut,
    SessionOut,
    WorkspaceIn,
    WorkspaceList,
)
from porch.accounts.service import Owner, create_workspace
from porch.db import after_commit
from porch.deps import SessionDep, SettingsDep
from porch.errors import BadRequest, NotFound
from porch.widgets.dependencies import WidgetCacheDep

router = APIRouter(prefix="/api/v1", tags=["workspaces"])


def _session_only(owner: Owner, what: str) -> None:
    if owner.via != "session":
        raise BadRequest(
            f"API keys act in their own workspace only; {what} needs a signed-in session.",
            code="session_required",
        )


def _active(owner: Owner, workspace_id: uuid.UUID) -> None:
    """Workspace routes act on the session's active workspace (switch first); any other id
    is "not found", as for every other resource."""
    if workspace_id != owner.workspace_id:
        raise NotFound("No such workspace.", code="workspace_not_found")


@router.get("/workspaces", response_model=WorkspaceList)
async def list_workspaces(owner: CurrentOwner, session: SessionDep) -> WorkspaceList:
    """Every workspace you belong to, with your role there; `active` is this session's."""
    mine = await workspaces.list_mine(session, owner)
    if owner.via == "api_key":
        mine = [w for w in mine if w.id == owner.workspace_id]
    return WorkspaceList(
        workspaces=[
            MyWorkspaceOut(id=w.id, name=w.name, role=parse(w.role), active=w.active) for w in mine
        ]
    )


@router.post("/workspaces", status_code=status.HTTP_201_CREATED, response_model=MyWorkspaceOut)
async def create_new_workspace(
    body: WorkspaceIn, owner: CurrentOwner, session: SessionDep
) -> MyWorkspaceOut:
    """A new workspace you own. Switch to it to work in it."""
    _session_only(owner, "creating a workspace")
    await workspaces.check_capacity(session, owner.user_id)
    workspace = await create_workspace(session, owner.user_id, body.name)
    return MyWorkspaceOut(id=workspace.id, name=workspace.name, role=parse("owner"), active=False)


@router.post("/workspaces/{workspace_id}/switch", response_model=SessionOut)
async def switch_workspace(
    workspace_id: uuid.UUID, owner: CurrentOwner, session: SessionDep
) -> SessionOut:
    """Make another of your workspaces this session's active one."""
    _session_only(owner, "switching workspaces")
    return session_out(await workspaces.switch_to(session, owner, workspace_id))


@router.patch("/workspaces/{workspace_id}", response_model=MyWorkspaceOut)
async def rename_workspace(
    workspace_id: uuid.UUID, body: WorkspaceIn, owner: OwnerScope, session: SessionDep
) -> MyWorkspaceOut:
    _active(owner, workspace_id)
    workspace = await workspaces.rename(session, workspace_id, body.name)
    return MyWorkspaceOut(id=workspace.id, name=workspace.name, role=owner.level, active=True)


@router.delete("/workspaces/{workspace_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_workspace(
    workspace_id: uuid.UUID,
    owner: OwnerScope,
    session: SessionDep,
    settings: SettingsDep,
    cache: WidgetCacheDep,
    response: Response,
) -> None:
    """The workspace and everything in it, for every member. Cannot be undone."""
    _active(owner, workspace_id)
    widget_ids = await workspaces.delete_workspace(session, workspace_id)

    async def forget() -> None:
        for widget_id in widget_ids:
            await cache.changed(widget_id)

    after_commit(session, forget)
    if owner.via == "session" and len(await workspaces.list_mine(session, owner)) == 0:
        clear_cookie(response, settings)


def _member_out(m: team.Member) -> MemberOut:
    return MemberOut(
        user_id=m.user_id,
        email=m.email,
        display_name=m.display_name,
        role=parse(m.role),
        joined_at=m.joined_at,
    )


@router.get("/members", response_model=MemberList)
async def list_members(owner: AgentScope, session: SessionDep) -> MemberList:
    """Everyone in this workspace, with their role."""
    members = await team.list_members(session, owner.workspace_id)
    return MemberList(members=[_member_out(m) for m in members])


@router.patch("/members/{user_id}", response_model=MemberOut)
async def change_member_role(
    user_id: uuid.UUID, body: MemberPatch, owner: OwnerScope, session: SessionDep
) -> MemberOut:
    """The last owner cannot be demoted (409 last_owner)."""
    return _member_out(await team.change_role(session, owner.workspace_id, user_id, body.role))


@router.delete("/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(user_id: uuid.UUID, owner: OwnerScope, session: SessionDep) -> None:
    """They lose access at once (their API keys too). The last owner cannot be removed."""
    await team.remove_member(session, owner.workspace_id, user_id)


def _invitation_out(invitation: object) -> InvitationOut:
    return InvitationOut.model_validate(invitation, from_attributes=True)


@router.post("/invitations", status_code=status.HTTP_201_CREATED, response_model=InvitationCreated)
async def create_invitation(
    body: InvitationIn, owner: OwnerScope, session: SessionDep, settings: SettingsDep
) -> InvitationCreated:
    """A one-time link, shown once; whoever opens it joins with `role` (signing up if needed)."""
    invitation, token = await team.invite(
        session, owner, role=body.role, email=body.email, hours=settings.invitation_hours
    )
    # The token rides in the fragment: browsers never send it to a server or in a Referer.
    url = f"{settings.public_url}/app/join#{token}"
    return InvitationCreated(**_invitation_out(invitation).model_dump(), token=token, url=url)


@router.get("/invitations", response_model=InvitationList)
async def list_invitations(owner: OwnerScope, session: SessionDep) -> InvitationList:
    """Invitations not yet used or expired."""
    found = await team.list_invitations(session, owner.workspace_id)
    return InvitationList(invitations=[_invitation_out(i) for i in found])


@router.delete("/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_invitation(
    invitation_id: uuid.UUID, owner: OwnerScope, session: SessionDep
) -> None:
    await team.revoke_invitation(session, owner.workspace_id, invitation_id)


@router.post("/invitations/accept", response_model=SessionOut)
async def accept_invitation(body: AcceptIn, owner: CurrentOwner, session: SessionDep) -> SessionOut:
    """Join the inviting workspace as the signed-in user; the session switches to it."""
    _session_only(owner, "accepting an invitation")
    return session_out(await workspaces.accept(session, owner, body.token))
