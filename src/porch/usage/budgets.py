"""What a budget is, which apply to a widget, and how much of each is used."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from porch.settings import Settings

Scope = Literal["widget", "workspace"]
Metric = Literal["messages", "tokens", "cost_usd"]
# Budget name -> (metric, period); the names are the API's and the logs'.
KINDS: dict[str, tuple[Metric, Literal["day", "month"]]] = {
    "messages_per_day": ("messages", "day"),
    "tokens_per_month": ("tokens", "month"),
    "cost_per_month_usd": ("cost_usd", "month"),
}


def periods(now: datetime) -> tuple[str, str]:
    """The UTC day and month a moment counts in: ("2026-11-22", "2026-11")."""
    return now.strftime("%Y-%m-%d"), now.strftime("%Y-%m")


@dataclass(frozen=True, slots=True)
class Budget:
    scope: Scope
    name: str
    limit: float | None  # None: no cap, only counted
    warning_ratio: float

    @property
    def metric(self) -> Metric:
        return KINDS[self.name][0]

    @property
    def period(self) -> str:
        return KINDS[self.name][1]

    @property
    def warn_at(self) -> float | None:
        return None if self.limit is None else self.limit * self.warning_ratio

    def state(self, used: float) -> str:
        """ok, warning (at or past the threshold) or exhausted (nothing left)."""
        if self.limit is None:
            return "ok"
        if used >= self.limit:
            return "exhausted"
        assert self.warn_at is not None
        return "warning" if used >= self.warn_at else "ok"

    def spent_before(self, used_including_this: float) -> bool:
        """Whether a new message finds this budget already spent.

        Messages count the new one (its number N is allowed while N <= limit); tokens and cost
        are only known after a reply, so what is used already decides.
        """
        if self.limit is None:
            return False
        if self.metric == "messages":
            return used_including_this > self.limit
        return used_including_this >= self.limit

    def crossed(self, before: float, after: float) -> list[str]:
        """The thresholds an increment from `before` to `after` passed: warning, exhausted.

        Each increment is one atomic update, so exactly one of them, in one process, sees a
        threshold being passed: the event fires once across every process.
        """
        if self.limit is None:
            return []
        out = []
        assert self.warn_at is not None
        warn_at = math.ceil(self.warn_at) if self.metric == "messages" else self.warn_at
        if before < warn_at <= after and warn_at < self.limit:
            out.append("warning")
        # Messages: the first one over the cap; tokens and cost: reaching the cap.
        cap = self.limit + 1 if self.metric == "messages" else self.limit
        if before < cap <= after:
            out.append("exhausted")
        return out


def _pick(value: Any, default: Any) -> Any:
    return value if value is not None else default


def widget_budgets(settings: Settings, limits: dict[str, Any]) -> list[Budget]:
    ratio = float(_pick(limits.get("warning_ratio"), settings.budget_warning_ratio))
    return [
        Budget(
            "widget",
            "messages_per_day",
            _pick(limits.get("widget_messages_per_day"), settings.default_widget_messages_per_day),
            ratio,
        ),
        Budget(
            "widget",
            "tokens_per_month",
            _pick(limits.get("widget_tokens_per_month"), settings.default_widget_tokens_per_month),
            ratio,
        ),
        Budget(
            "widget",
            "cost_per_month_usd",
            _pick(
                limits.get("widget_cost_per_month_usd"),
                settings.default_widget_cost_per_month_usd,
            ),
            ratio,
        ),
    ]


def workspace_budgets(settings: Settings) -> list[Budget]:
    ratio = settings.budget_warning_ratio
    return [
        Budget("workspace", "messages_per_day", settings.default_workspace_messages_per_day, ratio),
        Budget("workspace", "tokens_per_month", settings.default_workspace_tokens_per_month, ratio),
        Budget(
            "workspace", "cost_per_month_usd", settings.default_workspace_cost_per_month_usd, ratio
        ),
    ]
