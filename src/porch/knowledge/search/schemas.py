"""Bodies of the search-threshold routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ThresholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # null: automatic again (it follows the size of the knowledge base).
    threshold: float | None = Field(ge=-1.0, le=1.0, allow_inf_nan=False)


class ThresholdOut(BaseModel):
    threshold: float | None  # the widget's own, if set
    effective: float | None  # what searches use now (null: keyword search, no threshold)
    source: str  # widget | server | automatic | none
    passages: int


class PreviewPoint(BaseModel):
    threshold: float
    answered: int  # recent questions that would have had at least one passage


class PreviewOut(BaseModel):
    questions: int
    current: float | None
    source: str
    points: list[PreviewPoint]
