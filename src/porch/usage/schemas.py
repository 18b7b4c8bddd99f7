"""Usage as the API shows it: counters for today and this month, and each budget's standing."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel


class Counters(BaseModel):
    messages: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class BudgetOut(BaseModel):
    name: Literal["messages_per_day", "tokens_per_month", "cost_per_month_usd"]
    # The day (YYYY-MM-DD) or month (YYYY-MM, UTC) the budget runs over.
    period: str
    used: float
    limit: float | None
    ratio: float | None
    state: Literal["ok", "warning", "exhausted"]


class UsageOut(BaseModel):
    scope: Literal["widget", "workspace"]
    id: uuid.UUID
    day: str
    month: str
    warning_ratio: float
    today: Counters
    this_month: Counters
    budgets: list[BudgetOut]


class WidgetUsage(BaseModel):
    widget_id: uuid.UUID
    name: str
    today: Counters
    this_month: Counters


class WorkspaceUsageOut(UsageOut):
    widgets: list[WidgetUsage]
