"""Owner-side shapes of the inbox: conversation summaries, one conversation in full."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from porch.actions.schemas import ArgumentValue, Name
from porch.schemas import Text

ConversationStatus = Literal["open", "waiting_for_agent", "agent", "closed"]
Rating = Literal["up", "down"]


class InboxUser(BaseModel):
    id: str | None
    name: str | None
    email: str | None


class RatingSummary(BaseModel):
    up: int = 0
    down: int = 0


class ConversationSummary(BaseModel):
    id: uuid.UUID
    widget_id: uuid.UUID
    status: str
    page_url: str | None
    page_title: str | None
    locale: str | None
    user: InboxUser | None
    message_count: int
    last_message_at: datetime
    created_at: datetime
    last_message_preview: str | None
    last_question: str | None = Field(description="The visitor's latest message, one line")
    # An action call waits for a team member's approval (docs/actions.md).
    awaiting_approval: bool = False
    rating_summary: RatingSummary
    unread_count: int = Field(default=0, description="Visitor messages no agent has read")
    assigned_user_id: uuid.UUID | None = None
    assigned_name: str | None = None
    handoff_requested_at: datetime | None = None


class InboxPage(BaseModel):
    conversations: list[ConversationSummary]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next (older) page.")


class MessageSource(BaseModel):
    title: str
    url: str | None
    snippet: str
    source_id: str | None = None
    chunk_id: str | None = None


class MessageUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int


class InboxMessage(BaseModel):
    id: uuid.UUID
    role: str
    content: str
    status: str
    sources: list[MessageSource]
    provider: str | None
    model: str | None
    usage: MessageUsage
    cost_usd: float
    latency_ms: int | None
    first_token_ms: int | None
    error_code: str | None
    unanswered: bool
    rating: str | None
    feedback_comment: str | None
    author_name: str | None
    created_at: datetime
    # What redaction removed before storing, counted per kind (docs/privacy.md).
    redactions: dict[str, int] = Field(default_factory=dict)


class ConversationTotals(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class ConversationDetail(ConversationSummary):
    messages: list[InboxMessage]
    totals: ConversationTotals


class StatusOut(BaseModel):
    id: uuid.UUID
    status: str
    assigned_user_id: uuid.UUID | None = None
    assigned_name: str | None = None


class AgentReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: Text = Field(min_length=1, max_length=4000)

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the reply is empty")
        return value


class AgentMessageOut(BaseModel):
    message: InboxMessage
    status: str = Field(description="The conversation's status after the reply")


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID | None = Field(
        default=None, description="A member of the workspace; omit to take it yourself"
    )
    unassign: bool = Field(default=False, description="Nobody has it any more")


class TypingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: bool = True


class Member(BaseModel):
    user_id: uuid.UUID
    email: str
    name: str
    role: str


class MemberList(BaseModel):
    members: list[Member]


class ApprovalIn(BaseModel):
    """An agent's answer to a call waiting for them; the hash the inbox showed, if any."""

    model_config = ConfigDict(extra="forbid")
    arguments_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$", max_length=64)


class AgentRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    arguments: dict[Name, ArgumentValue] = Field(default_factory=dict, max_length=30)


class OfferedAction(BaseModel):
    id: uuid.UUID
    slug: str
    title: str
    risk: str
    requires_verified: bool
    # The model-sourced parameters only: porch fills the rest from the verified visitor.
    parameters: dict[str, dict[str, object]]


class OfferedActions(BaseModel):
    actions: list[OfferedAction]
