"""Analytics shapes: totals, one row per day, and the questions the assistant could not answer."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field


class Counts(BaseModel):
    conversations: int = 0
    messages: int = Field(default=0, description="Visitor questions plus replies (no greetings)")
    questions: int = Field(default=0, description="Messages from visitors")
    replies: int = Field(default=0, description="Replies from the assistant or a person")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    thumbs_up: int = 0
    thumbs_down: int = 0
    unanswered: int = 0


class DayStats(Counts):
    date: dt.date


class UnansweredQuestion(BaseModel):
    question: str
    count: int
    last_asked_at: dt.datetime
    conversation_id: uuid.UUID | None = Field(description="The latest conversation that asked it")


class UnansweredGroup(BaseModel):
    """Unanswered questions that mean about the same, most asked first."""

    question: str = Field(description="The group's most asked wording")
    count: int
    questions: list[str] = Field(description="Every wording in the group")
    last_asked_at: dt.datetime
    conversation_id: uuid.UUID | None


class HandoffStats(BaseModel):
    handed_off: int = 0
    answered_by_person: int = 0
    resolved: int = Field(default=0, description="Handed off and since closed")
    resolution_rate: float | None = None
    first_response_median_seconds: float | None = None
    first_response_p90_seconds: float | None = None
    resolution_median_seconds: float | None = None


class ActionStats(BaseModel):
    """One action's finished calls over the range."""

    action_id: uuid.UUID
    slug: str
    title: str | None = Field(description="None when the action has been deleted since")
    calls: int = 0
    succeeded: int = 0
    failed: int = 0
    failure_classes: dict[str, int] = Field(
        default_factory=dict, description="Failed calls per failure class"
    )
    triggers: dict[str, int] = Field(
        default_factory=dict, description="Calls per trigger: model, offline, agent (test)"
    )
    declined: int = Field(default=0, description="Confirmations the visitor declined")
    expired: int = Field(default=0, description="Confirmations that expired unanswered")
    median_duration_ms: float | None = Field(
        default=None, description="Over calls that reached the owner's API"
    )


class ActionsSummary(BaseModel):
    """Calls of the widget's actions, most called first; test runs only when asked for."""

    includes_tests: bool = False
    calls: int = 0
    succeeded: int = 0
    failed: int = 0
    declined: int = 0
    expired: int = 0
    per_action: list[ActionStats] = Field(default_factory=list)


class AnalyticsOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    widget_id: uuid.UUID
    date_from: dt.date = Field(alias="from")
    date_to: dt.date = Field(alias="to")
    totals: Counts
    days: list[DayStats]
    unanswered: list[UnansweredQuestion]
    unanswered_groups: list[UnansweredGroup] = Field(default_factory=list)
    handoffs: HandoffStats = Field(default_factory=HandoffStats)
    actions: ActionsSummary = Field(default_factory=ActionsSummary)
