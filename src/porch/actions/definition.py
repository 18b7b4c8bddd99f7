"""An action as the runner reads it: a frozen copy of its row, cached per widget."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from porch.models import Action

CONFIRM_RISKS = frozenset({"write", "destructive"})


@dataclass(frozen=True, slots=True)
class Definition:
    id: uuid.UUID
    workspace_id: uuid.UUID
    widget_id: uuid.UUID
    slug: str
    title: str
    description: str
    examples: tuple[str, ...]
    method: str
    url: str
    headers: dict[str, str]
    body: Any
    parameters: dict[str, Any]
    sources: dict[str, str]
    extract: dict[str, Any]
    auth: dict[str, Any]
    risk: str
    requires_verified: bool
    timeout_ms: int
    retries: int
    max_response_bytes: int
    calls_per_conversation: int
    calls_per_day: int
    response_fields: list[str] | None
    result_template: str
    error_texts: dict[str, str]
    allowed_hosts: frozenset[str]
    enabled: bool
    version: int
    approval: str = "visitor"

    @property
    def agent_approves(self) -> bool:
        return self.needs_confirmation and self.approval == "agent"

    @property
    def needs_confirmation(self) -> bool:
        return self.risk in CONFIRM_RISKS

    def as_mapping(self) -> dict[str, Any]:
        return {
            "parameters": self.parameters,
            "sources": self.sources,
            "requires_verified": self.requires_verified,
        }


def from_row(row: Action) -> Definition:
    return Definition(
        id=row.id,
        workspace_id=row.workspace_id,
        widget_id=row.widget_id,
        slug=row.slug,
        title=row.title,
        description=row.description or "",
        examples=tuple(str(e) for e in row.examples or []),
        method=row.method,
        url=row.url,
        headers=dict(row.headers or {}),
        body=row.body,
        parameters=dict(row.parameters or {}),
        sources=dict(row.sources or {}),
        extract=dict(row.extract or {}),
        auth=dict(row.auth or {}),
        risk=row.risk,
        requires_verified=bool(row.requires_verified),
        timeout_ms=row.timeout_ms,
        retries=row.retries,
        max_response_bytes=row.max_response_bytes,
        calls_per_conversation=row.calls_per_conversation,
        calls_per_day=row.calls_per_day,
        response_fields=list(row.response_fields) if row.response_fields is not None else None,
        result_template=row.result_template or "",
        error_texts=dict(row.error_texts or {}),
        allowed_hosts=frozenset(h.lower() for h in row.allowed_hosts or []),
        enabled=bool(row.enabled),
        version=row.version,
        approval=row.approval or "visitor",
    )
