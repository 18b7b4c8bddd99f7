"""Privacy shapes: retention periods, requests from a person, redaction rules, holds."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from porch.schemas import Line, Text

Mode = Literal["delete", "anonymize"]
Stage = Literal["store", "model", "webhook", "export"]
Kind = Literal["email", "phone", "card", "iban", "regex"]
# Ten years: beyond that "forever" (unset) says what is meant.
Days = int


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RetentionIn(Strict):
    conversation_days: Days | None = Field(default=None, ge=1, le=3650)
    visitor_days: Days | None = Field(default=None, ge=1, le=3650)
    action_call_days: Days | None = Field(default=None, ge=1, le=3650)
    delivery_log_days: Days | None = Field(default=None, ge=1, le=3650)
    mode: Mode | None = None


class Preview(BaseModel):
    conversations: int
    messages: int


class RetentionOut(BaseModel):
    conversation_days: int | None
    visitor_days: int | None
    action_call_days: int | None
    delivery_log_days: int | None
    mode: Mode
    # What the next sweep removes (or anonymizes) under these periods.
    preview: Preview | None = None


class Subject(Strict):
    """One person: an anonymous visitor (their conversation's id), a verified user id, or
    an email address they gave."""

    visitor_id: uuid.UUID | None = None
    user_id: Line | None = Field(default=None, min_length=1, max_length=200)
    email: Line | None = Field(default=None, min_length=3, max_length=320)

    @model_validator(mode="after")
    def _one(self) -> Subject:
        given = [v for v in (self.visitor_id, self.user_id, self.email) if v is not None]
        if len(given) != 1:
            raise ValueError("name exactly one of visitor_id, user_id or email")
        return self

    def key(self) -> tuple[str, str]:
        if self.visitor_id is not None:
            return "visitor_id", str(self.visitor_id)
        if self.user_id is not None:
            return "user_id", self.user_id
        assert self.email is not None
        return "email", self.email.strip().lower()


class ExportIn(Strict):
    subject: Subject


class EraseIn(Strict):
    subject: Subject
    dry_run: bool = True
    reason: Text | None = Field(default=None, max_length=1000)


class JobCreated(BaseModel):
    job_id: uuid.UUID


class Counts(BaseModel):
    counts: dict[str, int]


class JobOut(BaseModel):
    id: uuid.UUID
    kind: str
    status: str
    counts: dict[str, Any]
    download_url: str | None = None
    created_at: datetime
    finished_at: datetime | None = None
    error: str | None = None


class RuleIn(Strict):
    kind: Kind
    pattern: Text | None = Field(default=None, max_length=500)
    stages: list[Stage] = Field(min_length=1, max_length=4)

    @model_validator(mode="after")
    def _pattern(self) -> RuleIn:
        if (self.kind == "regex") != (self.pattern is not None):
            raise ValueError("a pattern is given with kind regex, and only then")
        self.stages = list(dict.fromkeys(self.stages))
        return self


class RuleOut(BaseModel):
    id: uuid.UUID
    kind: str
    pattern: str | None
    stages: list[str]
    created_at: datetime


class RuleList(BaseModel):
    rules: list[RuleOut]


class RuleTestIn(Strict):
    """A sample text, against one rule not saved yet, or the workspace's rules (of one
    stage, or of every stage when none is named)."""

    text: Text = Field(max_length=20000)
    stage: Stage | None = None
    rule: RuleIn | None = None


class RuleTestOut(BaseModel):
    text: str
    counts: dict[str, int]


class HoldOut(BaseModel):
    conversation_id: uuid.UUID
    legal_hold: bool
