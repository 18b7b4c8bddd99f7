"""Webhook shapes: a subscription, the secret shown once, the delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from porch.schemas import Line

EventName = Literal[
    "conversation.created",
    "message.created",
    "handoff.requested",
    "conversation.closed",
    "feedback.created",
    # Sent by evals/ (not a conversation's event): a test that passed now fails.
    "eval.regressed",
    # Sent by actions/notify.py: a call to the owner's API finished, succeeded or not.
    "action.completed",
    "action.failed",
]
EVENT_NAMES: tuple[str, ...] = (
    "conversation.created",
    "message.created",
    "handoff.requested",
    "conversation.closed",
    "feedback.created",
    "eval.regressed",
    "action.completed",
    "action.failed",
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _http_url(value: str) -> str:
    if not value.lower().startswith(("http://", "https://")):
        raise ValueError("use an http:// or https:// URL")
    return value


class WebhookIn(Strict):
    url: Line = Field(min_length=8, max_length=2048)
    events: list[EventName] = Field(min_length=1, max_length=len(EVENT_NAMES))
    description: Line = Field(default="", max_length=200)

    _url = field_validator("url")(classmethod(lambda cls, v: _http_url(v)))

    @field_validator("events")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class WebhookPatch(Strict):
    url: Line | None = Field(default=None, min_length=8, max_length=2048)
    events: list[EventName] | None = Field(default=None, min_length=1, max_length=len(EVENT_NAMES))
    description: Line | None = Field(default=None, max_length=200)
    active: bool | None = None

    _url = field_validator("url")(classmethod(lambda cls, v: v if v is None else _http_url(v)))


class WebhookOut(BaseModel):
    id: uuid.UUID
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Signs every delivery. Shown this once; store it now.")


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: uuid.UUID
    webhook_id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    response_status: int | None
    error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    payload: dict[str, Any]


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]
