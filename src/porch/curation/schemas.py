"""Curated answer and suggestion shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from porch.schemas import Line, Text

Mode = Literal["verbatim", "grounding"]
Status = Literal["draft", "suggested", "approved", "archived"]
Origin = Literal["manual", "import", "conversation", "feedback", "analytics"]
Tag = Annotated[Line, Field(min_length=1, max_length=60)]
Variant = Annotated[Text, Field(min_length=1, max_length=1000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CuratedIn(Strict):
    question: Text = Field(min_length=1, max_length=1000)
    variants: list[Variant] = Field(default_factory=list, max_length=50)
    answer: Text = Field(min_length=1, max_length=20_000)
    mode: Mode = "verbatim"
    # Unset: the widget's default. 0.0 is a threshold like any other (everything matches).
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    status: Status = "draft"
    locale: Line | None = Field(default=None, max_length=20)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    valid_until: datetime | None = None
    origin: Origin = "manual"


class CuratedPatch(Strict):
    question: Text | None = Field(default=None, min_length=1, max_length=1000)
    variants: list[Variant] | None = Field(default=None, max_length=50)
    answer: Text | None = Field(default=None, min_length=1, max_length=20_000)
    mode: Mode | None = None
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    status: Status | None = None
    locale: Line | None = Field(default=None, max_length=20)
    tags: list[Tag] | None = Field(default=None, max_length=20)
    valid_until: datetime | None = None


class CuratedOut(BaseModel):
    id: uuid.UUID
    widget_id: uuid.UUID
    question: str
    variants: list[str]
    answer: str
    mode: Mode
    threshold: float | None
    status: Status
    locale: str | None
    tags: list[str]
    valid_until: datetime | None
    origin: str
    origin_message_id: uuid.UUID | None
    created_by: uuid.UUID | None
    approved_by: uuid.UUID | None
    approved_at: datetime | None
    hit_count: int
    last_hit_at: datetime | None
    created_at: datetime
    updated_at: datetime


class CuratedList(BaseModel):
    curated_answers: list[CuratedOut]


class MatchIn(Strict):
    query: Text = Field(min_length=1, max_length=4000)


class MatchOut(BaseModel):
    id: uuid.UUID
    question: str
    mode: Mode
    score: float
    threshold: float
    components: dict[str, float | str]


class MatchResult(BaseModel):
    matches: list[MatchOut]
    threshold: float
    winner_id: uuid.UUID | None
    grounding_ids: list[uuid.UUID] = Field(default_factory=list)


class ImportResult(BaseModel):
    created: int
    updated: int
    ids: list[uuid.UUID]


class ImproveIn(Strict):
    question: Text = Field(min_length=1, max_length=1000)
    answer: Text = Field(min_length=1, max_length=20_000)
    mode: Mode = "verbatim"
    approve: bool = False
    variants: list[Variant] = Field(default_factory=list, max_length=50)


class SuggestionOut(BaseModel):
    id: uuid.UUID
    question: str
    answer: str
    count: int
    conversation_ids: list[uuid.UUID]
    reasons: list[str]
    status: str
    curated_answer_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class SuggestionList(BaseModel):
    suggestions: list[SuggestionOut]


class ApproveIn(Strict):
    """Optional edits made while approving; `merge_into` adds the question to an existing
    curated answer as a variant instead of creating one."""

    question: Text | None = Field(default=None, min_length=1, max_length=1000)
    answer: Text | None = Field(default=None, min_length=1, max_length=20_000)
    mode: Mode = "verbatim"
    merge_into: uuid.UUID | None = None
