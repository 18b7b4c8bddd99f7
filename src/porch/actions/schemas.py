"""Action shapes: a definition, secrets, a test run, the call log, a confirmation."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    field_validator,
    model_validator,
)

from porch.schemas import Line, Text

Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", max_length=64)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", max_length=64)]
# A value someone types into a parameter (an agent's run, the owner's test panel): one of the
# parameter types, as text every database stores (PostgreSQL refuses a NUL, in JSON too).
ArgumentValue = (
    StrictBool | StrictInt | StrictFloat | Annotated[Text, Field(max_length=2000)] | None
)
# A short text item of a list (an example phrasing, a field name, a host).
Item = Annotated[Line, Field(max_length=500)]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
Risk = Literal["read", "write", "destructive"]
FailureClass = Literal[
    "config",
    "ssrf_blocked",
    "timeout",
    "network",
    "http_4xx",
    "http_5xx",
    "invalid_arguments",
    "invalid_response",
    "too_large",
    "declined",
    "expired",
    "limited",
]
_SOURCE = re.compile(
    r"^(model|identity\.user_id|identity\.[A-Za-z_][A-Za-z0-9_]{0,63}|conversation\.(id|page_url"
    r"|locale)|secret:[A-Za-z_][A-Za-z0-9_]{0,63}|const:.{0,500})$",
    re.DOTALL,
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Param(Strict):
    """One parameter: a JSON Schema subset."""

    type: Literal["string", "integer", "number", "boolean"] = "string"
    description: Line = Field(default="", max_length=500)
    enum: list[str | int | float] | None = Field(default=None, max_length=100)
    pattern: Line | None = Field(default=None, max_length=500)
    maxLength: int | None = Field(default=None, ge=1, le=10000)
    minimum: float | None = None
    maximum: float | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"the pattern is not a valid regular expression: {exc}") from None
        return value


class Parameters(Strict):
    type: Literal["object"] = "object"
    properties: dict[Name, Param] = Field(default_factory=dict, max_length=30)
    required: list[Name] = Field(default_factory=list, max_length=30)

    @model_validator(mode="after")
    def _known(self) -> Parameters:
        unknown = [r for r in self.required if r not in self.properties]
        if unknown:
            raise ValueError(f"required names unknown parameters: {', '.join(unknown)}")
        return self


class Auth(Strict):
    """How porch authenticates to the owner's API; `secret` names a widget secret."""

    type: Literal["none", "bearer", "basic", "header", "hmac"] = "none"
    secret: Name | None = None
    username: Line | None = Field(default=None, max_length=200)
    header: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,64}$", max_length=64)] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Auth:
        if self.type != "none" and not self.secret:
            raise ValueError(f"auth type {self.type} needs a secret name")
        if self.type == "header" and not self.header:
            raise ValueError("auth type header needs a header name")
        return self


class Extraction(Strict):
    """How the offline answerer finds a parameter in the visitor's words."""

    regex: Line | None = Field(default=None, max_length=500)
    synonyms: dict[Annotated[str, Field(max_length=100)], list[Item]] = Field(
        default_factory=dict, max_length=50
    )
    ask: Line | None = Field(default=None, max_length=300)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return Param._compiles(value)


class ActionFields(Strict):
    title: Line | None = Field(default=None, min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=2000)
    examples: list[Item] | None = Field(default=None, max_length=30)
    method: Method | None = None
    url: Line | None = Field(default=None, min_length=8, max_length=2048)
    headers: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,64}$")], Line] | None = Field(
        default=None, max_length=30
    )
    body: Any | None = None
    parameters: Parameters | None = None
    sources: dict[Name, str] | None = Field(default=None, max_length=30)
    extract: dict[Name, Extraction] | None = Field(default=None, max_length=30)
    auth: Auth | None = None
    risk: Risk | None = None
    requires_verified: bool | None = None
    # "agent": a team member approves a write in the inbox; the visitor cannot confirm it.
    approval: Literal["visitor", "agent"] | None = None
    timeout_ms: int | None = Field(default=None, ge=100, le=30000)
    retries: int | None = Field(default=None, ge=0, le=2)
    max_response_bytes: int | None = Field(default=None, ge=256, le=1_048_576)
    calls_per_conversation: int | None = Field(default=None, ge=1, le=100)
    calls_per_day: int | None = Field(default=None, ge=1, le=100_000)
    response_fields: list[Item] | None = Field(default=None, max_length=50)
    result_template: Text | None = Field(default=None, max_length=2000)
    # Beside the failure classes, `awaiting_agent`: the lead of "a team member needs to approve".
    error_texts: dict[FailureClass | Literal["awaiting_agent"], Item] | None = None
    allowed_hosts: list[Item] | None = Field(default=None, max_length=20)
    enabled: bool | None = None

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("http://", "https://")):
            raise ValueError("use an http:// or https:// URL")
        return value

    @field_validator("sources")
    @classmethod
    def _sources(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name, source in (value or {}).items():
            if not _SOURCE.match(source):
                raise ValueError(f"source of {name} is not one porch knows: {source[:60]}")
        return value


class ActionIn(ActionFields):
    slug: Slug
    title: Line = Field(min_length=1, max_length=200)
    method: Method = "GET"
    url: Line = Field(min_length=8, max_length=2048)


class ActionPatch(ActionFields):
    slug: Slug | None = None


class ActionOut(BaseModel):
    id: uuid.UUID
    widget_id: uuid.UUID
    slug: str
    title: str
    description: str
    examples: list[str]
    method: str
    url: str
    headers: dict[str, str]
    body: Any | None
    parameters: dict[str, Any]
    sources: dict[str, str]
    extract: dict[str, Any]
    auth: dict[str, Any]
    risk: str
    requires_verified: bool
    approval: str
    timeout_ms: int
    retries: int
    max_response_bytes: int
    calls_per_conversation: int
    calls_per_day: int
    response_fields: list[str] | None
    result_template: str
    error_texts: dict[str, str]
    allowed_hosts: list[str]
    enabled: bool
    version: int
    created_at: datetime
    updated_at: datetime


class ActionList(BaseModel):
    actions: list[ActionOut]


class ImportedOut(BaseModel):
    operation: str = Field(description="The operationId (or `METHOD /path`) it came from.")
    action: ActionOut
    notes: list[str] = Field(description="What the draft leaves out and why.")


class ImportOut(BaseModel):
    actions: list[ImportedOut]


class SecretIn(Strict):
    # Sent in headers: no NUL or line breaks.
    value: Line = Field(min_length=1, max_length=4000)


class SecretOut(BaseModel):
    name: str
    last_used_at: datetime | None
    created_at: datetime


class SecretList(BaseModel):
    secrets: list[SecretOut]


class TestVisitor(Strict):
    user_id: Line | None = Field(default=None, max_length=200)
    claims: dict[Name, str | int | float | bool] = Field(default_factory=dict, max_length=30)


class TestIn(Strict):
    arguments: dict[Name, ArgumentValue] = Field(default_factory=dict, max_length=30)
    visitor: TestVisitor | None = None


class RenderedRequest(BaseModel):
    method: str
    url: str
    headers: dict[str, str]
    body: str | None = None


class TestOut(BaseModel):
    call_id: uuid.UUID
    request: RenderedRequest | None
    status: int | None
    response: Any | None
    projected: Any | None
    visitor_text: str
    duration_ms: int
    error_class: str | None
    error: str | None


class CallOut(BaseModel):
    id: uuid.UUID
    action_id: uuid.UUID
    slug: str
    action_version: int
    conversation_id: uuid.UUID | None
    message_id: uuid.UUID | None
    trigger: str
    arguments: dict[str, Any]
    sent_arguments: dict[str, Any]
    argument_sources: dict[str, Any]
    state: str
    status: int | None
    error_class: str | None
    confirmation: str
    decided_by: str | None = None
    request_method: str | None
    request_url: str | None
    response: Any | None
    visitor_text: str | None
    duration_ms: int | None
    created_at: datetime
    # For error_class invalid_arguments: each rejected argument and what is wrong with it.
    problems: dict[str, str] = Field(default_factory=dict)


class CallList(BaseModel):
    calls: list[CallOut]


class ConfirmIn(Strict):
    decision: Literal["confirm", "decline"]
    # What the card showed: a replay with other arguments is refused (409).
    arguments_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", max_length=64)] | None = None
    arguments: dict[Name, Any] | None = None


class ConfirmOut(BaseModel):
    state: str
    text: str
    call_id: uuid.UUID
