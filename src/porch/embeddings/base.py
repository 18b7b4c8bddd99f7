"""The one interface every embedder has, and what they share: errors, a cache of questions'
vectors, running a model off the event loop. The embedders are in minilm.py and openai.py;
registry.py builds the configured one.

Each vector is stored with the embedder's `name`, so changing the model re-embeds.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from porch.embeddings.vectors import Matrix

QUERY_CACHE = 2048


class EmbeddingError(Exception):
    """The embedder could not produce vectors (endpoint down, bad model); retried by jobs."""


class Embedder(Protocol):
    # Stored beside each vector; vectors of another name are re-embedded. "" when disabled.
    name: str

    @property
    def enabled(self) -> bool: ...

    async def embed_passages(self, texts: Sequence[str]) -> Matrix: ...

    async def embed_query(self, text: str) -> Matrix | None: ...

    async def aclose(self) -> None: ...


class NoEmbedder:
    """Keywords only: nothing is embedded and dense search is skipped."""

    name = ""

    @property
    def enabled(self) -> bool:
        return False

    async def embed_passages(self, texts: Sequence[str]) -> Matrix:
        return np.zeros((len(texts), 0), dtype=np.float32)

    async def embed_query(self, text: str) -> Matrix | None:
        return None

    async def aclose(self) -> None:
        return None


class QueryCache:
    """Recent questions' vectors: suggested questions and retries are asked over and over."""

    def __init__(self, size: int = QUERY_CACHE) -> None:
        self._size = size
        self._items: OrderedDict[str, Matrix] = OrderedDict()

    def get(self, text: str) -> Matrix | None:
        vector = self._items.get(text)
        if vector is not None:
            self._items.move_to_end(text)
        return vector

    def put(self, text: str, vector: Matrix) -> None:
        self._items[text] = vector
        if len(self._items) > self._size:
            self._items.popitem(last=False)


async def embed_off_loop(func: Callable[[], Matrix], pool: Any) -> Matrix:
    result: Matrix = await asyncio.get_running_loop().run_in_executor(pool, func)
    return result
