"""What a limit is and what checking one says."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

# quarter_hour: sign-in throttling counts failures over 15 minutes.
PERIOD_SECONDS = {"minute": 60, "quarter_hour": 900, "hour": 3600, "day": 86400}


@dataclass(frozen=True, slots=True)
class Rule:
    """One limit: `amount` per `period`, counted under `name` for a key."""

    name: str
    amount: int
    period: str

    @property
    def seconds(self) -> int:
        return PERIOD_SECONDS[self.period]


@dataclass(frozen=True, slots=True)
class Verdict:
    rule: Rule
    allowed: bool
    remaining: int
    reset_at: float  # wall-clock seconds

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_at - time.time()))

    def headers(self) -> dict[str, str]:
        reset = max(0, math.ceil(self.reset_at - time.time()))
        return {
            "RateLimit-Limit": str(self.rule.amount),
            "RateLimit-Remaining": str(max(0, self.remaining)),
            "RateLimit-Reset": str(reset),
        }
