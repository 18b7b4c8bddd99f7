"""The curated-answer index the lifespan built, for routes: `CuratedDep`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from porch.curation.index import CuratedIndex
from porch.deps import built


async def get_curated(conn: HTTPConnection) -> CuratedIndex:
    index: CuratedIndex = built(conn, "curated")
    return index


CuratedDep = Annotated[CuratedIndex, Depends(get_curated)]
