"""Request and response shapes of the owner account routes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from porch.accounts.roles import Role
from porch.schemas import Line, Text


def _email(value: str) -> str:
    value = value.strip().lower()
    local, _, domain = value.partition("@")
    if not local or "." not in domain or " " in value:
        raise ValueError("not an email address")
    return value


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Line = Field(min_length=3, max_length=320)
    password: Text = Field(min_length=1, max_length=256)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return _email(value)


class SignupIn(Credentials):
    password: Text = Field(min_length=8, max_length=256)
    workspace_name: Line | None = Field(default=None, max_length=120)
    invitation_token: Line | None = Field(
        default=None,
        max_length=200,
        description="Join the inviting workspace instead of creating one; works when sign-up "
        "is otherwise closed.",
    )


class UserOut(BaseModel):
    id: uuid.UUID
    email: str


class WorkspaceOut(BaseModel):
    id: uuid.UUID
    name: str
    role: Role | None = None


class SessionOut(BaseModel):
    user: UserOut
    workspace: WorkspaceOut
    csrf_token: str | None = None


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(default="API key", min_length=1, max_length=120)
    role: Role = Field(default=Role.admin, description="At most your own role.")


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str = "porch_sk_"
    last4: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself. Shown once; store it now.")


class ApiKeyList(BaseModel):
    api_keys: list[ApiKeyOut]


# ---- workspaces, members, invitations ---------------------------------------------------


class WorkspaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=120)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class MyWorkspaceOut(BaseModel):
    id: uuid.UUID
    name: str
    role: Role
    active: bool = Field(description="The workspace this session acts in.")


class WorkspaceList(BaseModel):
    workspaces: list[MyWorkspaceOut]


class MemberOut(BaseModel):
    user_id: uuid.UUID
    email: str
    display_name: str | None
    role: Role
    joined_at: datetime


class MemberList(BaseModel):
    members: list[MemberOut]


class MemberPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


class InvitationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role = Role.agent
    email: Line | None = Field(
        default=None, min_length=3, max_length=320, description="Only this address may accept."
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return _email(value) if value is not None else None


class InvitationOut(BaseModel):
    id: uuid.UUID
    role: Role
    email: str | None
    created_at: datetime
    expires_at: datetime


class InvitationCreated(InvitationOut):
    token: str = Field(description="Shown once: the link carries it. Stored only as a hash.")
    url: str = Field(description="The one-time link to send to the invitee.")


class InvitationList(BaseModel):
    invitations: list[InvitationOut]


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Line = Field(min_length=1, max_length=200)
