"""Embeddings from any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama.cpp server…)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import structlog

from porch.embeddings.base import EmbeddingError, QueryCache
from porch.embeddings.vectors import Matrix, normalize
from porch.settings import Settings

log = structlog.get_logger("porch.embeddings")


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
