"""Request and response shapes of the owner account routes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=256)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip().lower()
        local, _, domain = value.partition("@")
        if not local or "." not in domain or " " in value:
            raise ValueError("not an email address")
        return value


class SignupIn(Credentials):
    password: str = Field(min_length=8, max_length=256)
    workspace_name: str | None = Field(default=None, max_length=120)


class UserOut(BaseModel):
    id: uuid.UUID
    email: str


class WorkspaceOut(BaseModel):
    id: uuid.UUID
    name: str


class SessionOut(BaseModel):
    user: UserOut
    workspace: WorkspaceOut
    csrf_token: str | None = None


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="API key", min_length=1, max_length=120)


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    last4: str
    created_at: datetime
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself. Shown once; store it now.")


class ApiKeyList(BaseModel):
    api_keys: list[ApiKeyOut]
