"""Visitor-side shapes of conversations and messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from porch.schemas import Line, Text

Role = Literal["user", "assistant", "agent", "system"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# An HS256 JWT the site's server signs (identity_token.py): who the visitor is and what the
# site vouches for (email, plan…); a few hundred bytes in practice.
IdentityToken = Annotated[
    str,
    Field(
        min_length=1,
        max_length=8192,
        pattern=r"^[A-Za-z0-9_=.-]+$",
        description="An HS256 JWT signed with the widget's identity secret: sub = user id, "
        "exp, other claims = verified attributes (docs/security.md)",
    ),
]


class VisitorUser(Strict):
    id: Line = Field(min_length=1, max_length=200)
    name: Line | None = Field(default=None, max_length=200)
    email: Line | None = Field(default=None, max_length=320)
    hash: Line | None = Field(default=None, max_length=128)


class ConversationIn(Strict):
    page_url: Line | None = Field(default=None, max_length=2048)
    page_title: Line | None = Field(default=None, max_length=300)
    locale: str | None = Field(
        default=None, max_length=20, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"
    )
    user: VisitorUser | None = None
    identity_token: IdentityToken | None = None


class SourceRef(BaseModel):
    title: str
    url: str | None
    snippet: str
    refs: list[int] = Field(
        default_factory=list, description="The reply's [n] markers that cite this source"
    )


class ActionOut(BaseModel):
    """A call the assistant made for a message, as the stream's `action` event showed it."""

    call_id: uuid.UUID
    slug: str
    # waiting: held for a team member's approval (actions/approval.py), nothing to answer here
    state: Literal["started", "confirm", "waiting", "succeeded", "failed"]
    text: str = ""
    confirmation: Literal["none", "pending", "agent", "confirmed", "declined", "expired"] = Field(
        default="none", description="Whether and how the visitor answered a confirmation"
    )
    arguments: dict[str, Any] | None = Field(
        default=None, description="With state confirm: the arguments the card shows"
    )
    arguments_hash: str | None = Field(
        default=None, description="With state confirm: what the answer must carry back"
    )
    expires_at: datetime | None = None


class MessageOut(BaseModel):
    id: uuid.UUID
    role: Role
    content: str
    sources: list[SourceRef] = Field(default_factory=list)
    created_at: datetime
    status: str = "complete"
    author_name: str | None = None
    actions: list[ActionOut] = Field(
        default_factory=list, description="The action calls made for this message, oldest first"
    )


class ConversationCreated(BaseModel):
    conversation_id: uuid.UUID
    visitor_token: str
    messages: list[MessageOut]


class MessageIn(Strict):
    content: Text = Field(min_length=1, max_length=4000)

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the message is empty")
        return value


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int


class ReplyOut(BaseModel):
    message: MessageOut | None = Field(
        description="The assistant's reply; null while a human agent has the conversation."
    )
    user_message_id: uuid.UUID
    usage: Usage | None = None


class History(BaseModel):
    messages: list[MessageOut]
    has_more: bool
    status: str | None = Field(
        default=None,
        description="The conversation's status: open, waiting_for_agent, agent, closed",
    )


class FeedbackIn(Strict):
    rating: Literal["up", "down"]
    comment: Text | None = Field(default=None, max_length=2000)


class HandoffIn(Strict):
    reason: Text | None = Field(default=None, max_length=1000)


class HandoffOut(BaseModel):
    status: str
    message: str = Field(default="", description="What to tell the visitor")
    online: bool = Field(default=True, description="Whether it is within office hours")
    reply_expected_at: datetime | None = Field(
        default=None, description="Outside office hours: when the team is back"
    )
