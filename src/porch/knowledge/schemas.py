"""Source and search shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SourceStatus = Literal["pending", "running", "ready", "failed"]


class TextSourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["text"]
    title: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1, max_length=500_000)
    url: str | None = Field(default=None, max_length=2048)


class SourceCreated(BaseModel):
    source_id: uuid.UUID
    status: SourceStatus


class SourceOut(BaseModel):
    id: uuid.UUID
    widget_id: uuid.UUID
    type: str
    title: str
    url: str | None
    status: SourceStatus
    pages: int
    chunks: int
    progress: float
    error: str | None
    created_at: datetime
    updated_at: datetime
    last_synced_at: datetime | None


class SourceList(BaseModel):
    sources: list[SourceOut]


class SearchResult(BaseModel):
    chunk_id: uuid.UUID
    source_id: uuid.UUID
    title: str
    heading: str
    url: str | None
    text: str
    score: float


class SearchOut(BaseModel):
    results: list[SearchResult]
