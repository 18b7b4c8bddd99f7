"""The configured embedder, named by PORCH_EMBEDDINGS.

`minilm` (the default) runs all-MiniLM-L6-v2 on this machine; `openai` calls any
OpenAI-compatible embeddings endpoint; `none` turns dense search off (keywords only).
"""

from __future__ import annotations

from collections.abc import Callable

from porch.embeddings.base import Embedder, NoEmbedder
from porch.embeddings.openai import OpenAIEmbedder
from porch.settings import Settings


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
