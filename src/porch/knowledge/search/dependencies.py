"""The retriever (and its embedder) the lifespan built, for routes: `RetrieverDep`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from porch.deps import built
from porch.knowledge.search.retriever import Retriever


async def get_retriever(conn: HTTPConnection) -> Retriever:
    retriever: Retriever = built(conn, "retriever")
    return retriever


RetrieverDep = Annotated[Retriever, Depends(get_retriever)]
