"""What a conversation's stream says about an action: started, confirm, succeeded, failed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ActionEvent:
    call_id: uuid.UUID
    slug: str
    state: str  # started | confirm | succeeded | failed
    text: str = ""
    # With `confirm`: what the card shows and the hash its answer must carry back.
    arguments: dict[str, Any] | None = None
    arguments_hash: str | None = None
    expires_at: Any = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "call_id": str(self.call_id),
            "slug": self.slug,
            "state": self.state,
            "text": self.text,
        }
        if self.state == "confirm":
            out.update(
                arguments=self.arguments or {},
                arguments_hash=self.arguments_hash,
                expires_at=self.expires_at,
            )
        return out
