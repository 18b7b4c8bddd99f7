"""Eval case, run and playground shapes. An assertion is one of `Assertion`'s types; a new
kind (the actions' ones, once actions exist) is one more model in the union."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from porch.schemas import Line, Text

Tag = Annotated[Line, Field(min_length=1, max_length=60)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Check(Strict):
    # Which visitor turn's reply is checked (0-based); unset: the last.
    turn: int | None = Field(default=None, ge=0, le=19)


class Contains(_Check):
    type: Literal["contains"]
    value: Text = Field(min_length=1, max_length=2000)
    case_sensitive: bool = False


class NotContains(_Check):
    type: Literal["not_contains"]
    value: Text = Field(min_length=1, max_length=2000)
    case_sensitive: bool = False


class Regex(_Check):
    type: Literal["regex"]
    pattern: Text = Field(min_length=1, max_length=500)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value


class Cites(_Check):
    """The reply's sources include this source (id), URL or title."""

    type: Literal["cites"]
    source_id: Line | None = Field(default=None, max_length=100)
    url: Line | None = Field(default=None, max_length=2048)
    title: Line | None = Field(default=None, max_length=300)

    @model_validator(mode="after")
    def _one(self) -> Cites:
        if not (self.source_id or self.url or self.title):
            raise ValueError("name a source_id, url or title")
        return self


class UsesCurated(_Check):
    type: Literal["curated"]
    curated_answer_id: uuid.UUID


class Refuses(_Check):
    """The assistant says it does not know (nothing relevant was found)."""

    type: Literal["refuses"]


class Handoff(_Check):
    """A person is offered (or the visitor's request for one is taken up)."""

    type: Literal["handoff"]


class ActionCalled(_Check):
    type: Literal["action_called"]
    slug: Line = Field(min_length=1, max_length=100)
    arguments: dict[str, Any] | None = None
    # Unset: the action's recorded mock response; true: the action's real endpoint.
    live: bool = False


class ActionNotCalled(_Check):
    type: Literal["action_not_called"]
    slug: Line = Field(min_length=1, max_length=100)


class Language(_Check):
    type: Literal["language"]
    language: Line = Field(min_length=2, max_length=8, pattern=r"^[a-z]{2,3}$")


class Latency(_Check):
    type: Literal["latency"]
    max_ms: int = Field(ge=1, le=600_000)


class Judge(_Check):
    """A model grades the reply against the rubric; skipped when no judge is configured."""

    type: Literal["judge"]
    rubric: Text = Field(min_length=1, max_length=2000)


Assertion = Annotated[
    Contains
    | NotContains
    | Regex
    | Cites
    | UsesCurated
    | Refuses
    | Handoff
    | ActionCalled
    | ActionNotCalled
    | Language
    | Latency
    | Judge,
    Field(discriminator="type"),
]


class Visitor(Strict):
    user_id: Line | None = Field(default=None, max_length=200)
    verified: bool = False
    attributes: dict[str, Any] = Field(default_factory=dict)


class TurnIn(Strict):
    content: Text = Field(min_length=1, max_length=4000)
    visitor: Visitor | None = None


class CaseIn(Strict):
    name: Line = Field(min_length=1, max_length=200)
    turns: list[TurnIn] = Field(min_length=1, max_length=20)
    assertions: list[Assertion] = Field(min_length=1, max_length=30)
    tags: list[Tag] = Field(default_factory=list, max_length=20)


class CasePatch(Strict):
    name: Line | None = Field(default=None, min_length=1, max_length=200)
    turns: list[TurnIn] | None = Field(default=None, min_length=1, max_length=20)
    assertions: list[Assertion] | None = Field(default=None, min_length=1, max_length=30)
    tags: list[Tag] | None = Field(default=None, max_length=20)


class CaseOut(BaseModel):
    id: uuid.UUID
    widget_id: uuid.UUID
    name: str
    turns: list[dict[str, Any]]
    assertions: list[dict[str, Any]]
    tags: list[str]
    origin: str
    created_at: datetime
    updated_at: datetime


class CaseList(BaseModel):
    eval_cases: list[CaseOut]


class FromConversation(Strict):
    """ "Add to tests": the conversation's visitor turns, asserting what the reply cited."""

    name: Line | None = Field(default=None, max_length=200)
    tags: list[Tag] = Field(default_factory=list, max_length=20)


class RunIn(Strict):
    tags: list[Tag] | None = Field(default=None, max_length=20)
    case_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000)


class AssertionResult(BaseModel):
    type: str
    passed: bool
    skipped: bool = False
    evidence: str = ""


class CaseResult(BaseModel):
    case_id: uuid.UUID
    name: str
    # passed | failed | skipped (every assertion skipped: nothing was checked)
    outcome: str
    passed: bool
    assertions: list[AssertionResult]
    transcript: list[dict[str, Any]]
    latency_ms: int
    # The same case in the previous run: passed | failed | skipped, or None (new).
    previous: str | None = None
    regressed: bool = False


class RunOut(BaseModel):
    id: uuid.UUID
    widget_id: uuid.UUID
    status: str
    trigger: str
    tags: list[str]
    against: dict[str, Any]
    passed: int
    failed: int
    skipped: int
    regressions: list[dict[str, Any]]
    results: list[CaseResult]
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class RunSummary(BaseModel):
    id: uuid.UUID
    status: str
    trigger: str
    passed: int
    failed: int
    skipped: int
    regressions: int
    created_at: datetime
    finished_at: datetime | None


class RunList(BaseModel):
    eval_runs: list[RunSummary]


class HistoryTurn(Strict):
    role: Literal["user", "assistant"]
    content: Text = Field(min_length=1, max_length=8000)


class PlaygroundIn(Strict):
    content: Text = Field(min_length=1, max_length=4000)
    history: list[HistoryTurn] = Field(default_factory=list, max_length=40)
    page_url: Line | None = Field(default=None, max_length=2048)


class PlaygroundOut(BaseModel):
    message: dict[str, Any]
    retrieval: dict[str, Any]
    curated: dict[str, Any] | None = None
    actions: list[dict[str, Any]] = Field(default_factory=list)
    handoff: str | None = None
    latency_ms: int
