"""Passage and question embeddings behind one interface, chosen by PORCH_EMBEDDINGS.

`minilm` (the default) runs all-MiniLM-L6-v2 on this machine; `openai` calls any
OpenAI-compatible embeddings endpoint; `none` turns dense search off (keywords only).
Each vector is stored with the embedder's `name`, so changing the model re-embeds.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import structlog

from porch.embeddings.vectors import Matrix, normalize
from porch.settings import Settings

log = structlog.get_logger("porch.embeddings")
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


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama.cpp server…)."""

    def __init__(self, settings: Settings, *, http_client: Any = None) -> None:
        from openai import AsyncOpenAI

        key = settings.embeddings_api_key or settings.llm_api_key
        self.model = settings.embeddings_model or ""
        self.name = f"openai:{self.model}"
        self._batch = settings.embeddings_request_inputs
        self._client: Any = AsyncOpenAI(
            api_key=key.get_secret_value() if key else "not-needed",
            base_url=settings.embeddings_base_url or settings.llm_base_url,
            timeout=settings.llm_timeout,
            max_retries=2,
            http_client=http_client,
        )
        self._cache = QueryCache()

    @property
    def enabled(self) -> bool:
        return True

    async def _call(self, texts: Sequence[str]) -> Matrix:
        try:
            reply = await self._client.embeddings.create(model=self.model, input=list(texts))
        except Exception as exc:
            raise EmbeddingError(f"embeddings endpoint failed: {type(exc).__name__}") from exc
        rows = sorted(reply.data, key=lambda d: d.index)
        return normalize(np.asarray([r.embedding for r in rows], dtype=np.float32))

    async def embed_passages(self, texts: Sequence[str]) -> Matrix:
        parts = [
            await self._call(texts[i : i + self._batch]) for i in range(0, len(texts), self._batch)
        ]
        return np.vstack(parts) if parts else np.zeros((0, 0), dtype=np.float32)

    async def embed_query(self, text: str) -> Matrix | None:
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        try:
            vector: Matrix = (await self._call([text]))[0]
        except EmbeddingError:
            log.warning("query_embedding_failed", embedder=self.name)
            return None
        self._cache.put(text, vector)
        return vector

    async def aclose(self) -> None:
        await self._client.close()


def _minilm(settings: Settings) -> Embedder:
    from porch.embeddings.minilm import MiniLMEmbedder

    return MiniLMEmbedder(threads=settings.embeddings_threads, batch=settings.embeddings_batch_size)


# The registry: PORCH_EMBEDDINGS names one of these.
EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {
    "minilm": _minilm,
    "openai": OpenAIEmbedder,
    "none": lambda _settings: NoEmbedder(),
}


def build_embedder(settings: Settings) -> Embedder:
    """The configured embedder; cheap to build (models load on first use)."""
    return EMBEDDERS[settings.embeddings](settings)


async def embed_off_loop(func: Callable[[], Matrix], pool: Any) -> Matrix:
    result: Matrix = await asyncio.get_running_loop().run_in_executor(pool, func)
    return result
