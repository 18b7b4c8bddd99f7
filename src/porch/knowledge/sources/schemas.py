"""Source, page, search and context-rule shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from porch.schemas import Line, Text

SourceStatus = Literal["pending", "running", "ready", "failed"]
Schedule = Literal["off", "daily", "weekly"]
Glob = Annotated[Line, Field(min_length=1, max_length=500)]


class TextSourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["text"]
    title: Line = Field(min_length=1, max_length=300)
    text: Text = Field(min_length=1, max_length=500_000)
    url: Line | None = Field(default=None, max_length=2048)


class CrawlOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Unset: PORCH_CRAWL_MAX_PAGES, which also caps any value given here.
    max_pages: int | None = Field(default=None, ge=1, le=100_000)
    max_depth: int = Field(default=5, ge=0, le=50)
    # Globs on the path ("/docs/*") or on the full URL ("https://help.example.com/*").
    include: list[Glob] = Field(default_factory=list, max_length=50)
    exclude: list[Glob] = Field(default_factory=list, max_length=50)


class UrlSourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["url"]
    url: Line = Field(min_length=1, max_length=2048)
    title: Line | None = Field(default=None, max_length=300)
    crawl: CrawlOptions = Field(default_factory=CrawlOptions)
    schedule: Schedule = "off"


class SitemapSourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["sitemap"]
    url: Line = Field(min_length=1, max_length=2048)
    title: Line | None = Field(default=None, max_length=300)
    max_pages: int | None = Field(default=None, ge=1, le=100_000)
    schedule: Schedule = "off"


SourceIn = Annotated[TextSourceIn | UrlSourceIn | SitemapSourceIn, Field(discriminator="type")]


class SourcePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Line | None = Field(default=None, min_length=1, max_length=300)
    schedule: Schedule | None = None


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
    schedule: str
    # seen, stored, unchanged, skipped, failed, removed, skip_reasons{}, errors[{url, reason}]
    stats: dict[str, Any]
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    last_synced_at: datetime | None
    next_sync_at: datetime | None


class SourceList(BaseModel):
    sources: list[SourceOut]


class PageOut(BaseModel):
    id: uuid.UUID
    url: str
    title: str
    status: str
    reason: str | None
    http_status: int | None
    chunks: int
    fetched_at: datetime | None
    updated_at: datetime


class PageList(BaseModel):
    pages: list[PageOut]


class SearchResult(BaseModel):
    chunk_id: uuid.UUID
    source_id: uuid.UUID
    title: str
    heading: str
    url: str | None
    text: str
    score: float


class SearchCandidate(BaseModel):
    """A passage the decision looked at, kept or not, and why."""

    chunk_id: uuid.UUID
    title: str
    heading: str
    cosine: float | None  # None: no vector yet, or keyword search
    keyword: float
    coverage: float  # share of the question's words (or their paraphrases) in the passage
    score: float
    kept: bool
    reason: str


class SearchOut(BaseModel):
    results: list[SearchResult]
    # Instructions that context rules add on the page given as page_url.
    instructions: list[str] = Field(default_factory=list)
    candidates: list[SearchCandidate] = Field(default_factory=list)
    # The similarity threshold that applied (null: keyword search, none applies), where it
    # came from (widget | server | automatic | none) and the corpus size it follows.
    threshold: float | None = None
    threshold_source: str = "automatic"
    passages: int = 0
    refused: str | None = None  # why nothing was kept, when nothing was


class ContextRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A glob on the visitor's page: a path ("/pricing*") or a full URL.
    match: Line = Field(min_length=1, max_length=500)
    instructions: Text = Field(default="", max_length=4000)
    source_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    # prefer: these sources rank first; only: nothing else is searched on matching pages.
    mode: Literal["prefer", "only"] = "prefer"


class ContextRuleOut(BaseModel):
    id: uuid.UUID
    widget_id: uuid.UUID
    match: str
    instructions: str
    source_ids: list[uuid.UUID]
    mode: str
    created_at: datetime


class ContextRuleList(BaseModel):
    rules: list[ContextRuleOut]
