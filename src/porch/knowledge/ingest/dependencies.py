"""The ingestion queue (syncs and back-fills) the lifespan built, for routes: `IngestDep`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from porch.deps import built
from porch.knowledge.ingest.tasks import Ingest


async def get_ingest(conn: HTTPConnection) -> Ingest:
    ingest: Ingest = built(conn, "ingest")
    return ingest


IngestDep = Annotated[Ingest, Depends(get_ingest)]
