"""The embedders: the offline model's files and tokens, batching, storage, the registry."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading

import httpx
import numpy as np
import pytest

from porch.embeddings import minilm, vectors
from porch.embeddings.base import NoEmbedder
from porch.embeddings.openai import OpenAIEmbedder
from porch.embeddings.registry import build_embedder
from porch.settings import Settings, SettingsError, load_settings


def test_model_file_is_the_published_one() -> None:
    digest = hashlib.sha256(minilm.model_file().read_bytes()).hexdigest()
    assert digest == minilm.MODEL_SHA256


def test_tokens_match_bert_base_uncased() -> None:
    model = minilm._load()
    # Reference ids from the BERT-base-uncased WordPiece vocabulary.
    assert model.ids("Hello, world!") == [101, 7592, 1010, 2088, 999, 102]
    assert model.ids("unaffable") == [101, 14477, 20961, 3468, 102]
    long = model.ids("word " * 1000)
    assert len(long) == minilm.MAX_TOKENS and long[0] == 101 and long[-1] == 102


async def test_the_model_is_loaded_and_run_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loading takes about a second: done on the event loop, it would stall every stream."""
    threads: list[str] = []
    real = minilm._load

    def watched() -> minilm._Model:
        threads.append(threading.current_thread().name)
        return real()

    monkeypatch.setattr(minilm, "_load", watched)
    embedder = minilm.MiniLMEmbedder(threads=2, batch=2)
    try:
        await embedder.embed_passages(["Refunds take five days.", "Invoices are monthly."])
        await embedder.embed_query("How do I get my money back?")
    finally:
        await embedder.aclose()
    assert len(threads) == 3
    assert all(name.startswith("porch-embed") for name in threads), threads


async def test_batches_keep_order_and_meaning() -> None:
    embedder = minilm.MiniLMEmbedder(threads=2, batch=2)
    texts = [
        "The cat sat on the mat. " * 20,
        "Refunds take five days.",
        "How do I get my money back?",
        "Kubernetes schedules containers onto nodes in a cluster.",
        "Invoices are emailed on the first day of each month.",
    ]
    # Two runs at once, on interleaved shards of uneven size: rows come back in input order.
    together = await embedder.embed_passages(texts)
    alone = np.vstack([await embedder.embed_passages([t]) for t in texts])
    assert together.shape == (5, minilm.DIM)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.all(np.sum(together * alone, axis=1) > 0.999)
    query = await embedder.embed_query("how long does a refund take")
    assert query is not None
    assert int(np.argmax(together @ query)) in (1, 2)
    assert await embedder.embed_query("how long does a refund take") is query  # cached
    await embedder.aclose()


async def test_questions_that_arrive_together_share_a_model_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Questions queued while the model is busy go into its next run (half the CPU a
    question at four or more), with the vectors each would get alone."""
    runs: list[int] = []
    real = minilm._run

    def counted(texts: list[str], batch: int) -> minilm.Matrix:
        runs.append(len(texts))
        return real(texts, batch)

    questions = [f"How do I return order A{i}00 bought last week?" for i in range(8)]
    alone_embedder = minilm.MiniLMEmbedder()
    alone = [await alone_embedder.embed_query(q) for q in questions]
    await alone_embedder.aclose()
    monkeypatch.setattr(minilm, "_run", counted)
    embedder = minilm.MiniLMEmbedder()
    try:
        together = await asyncio.gather(
            *(embedder.embed_query(q) for q in [*questions, questions[0]])
        )
    finally:
        await embedder.aclose()
    assert sum(runs) == len(questions)  # the repeated question is one row
    assert len(runs) < len(questions), runs
    for a, b in zip(alone, together, strict=False):
        assert a is not None and b is not None
        assert float(np.dot(a, b)) > 0.999
    assert together[-1] is together[0] or np.array_equal(together[-1], together[0])


def test_int8_storage_keeps_similarity() -> None:
    rng = np.random.default_rng(7)
    matrix = vectors.normalize(rng.standard_normal((200, 384)).astype(np.float32))
    blobs = vectors.encode_many(matrix)
    assert all(len(b) == 4 + 384 for b in blobs)
    restored = vectors.decode_many(blobs, 384)
    assert np.min(np.sum(matrix * restored, axis=1)) > 0.999


async def test_registry_and_openai_compatible_endpoint() -> None:
    assert isinstance(build_embedder(Settings(embeddings="none")), NoEmbedder)
    assert build_embedder(Settings()).name == minilm.MODEL_NAME
    with pytest.raises(SettingsError, match="PORCH_EMBEDDINGS_MODEL"):
        load_settings(embeddings="openai")

    seen: list[dict[str, object]] = []

    def reply(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0, 0.0]}
            for i, t in enumerate(body["input"])
        ]
        return httpx.Response(200, json={"object": "list", "data": data, "model": body["model"]})

    settings = Settings(
        embeddings="openai", embeddings_model="nomic-embed-text", llm_base_url="http://emb.test/v1"
    )
    client = httpx.AsyncClient(transport=httpx.MockTransport(reply))
    embedder = OpenAIEmbedder(settings, http_client=client)
    assert embedder.name == "openai:nomic-embed-text"
    out = await embedder.embed_passages(["a", "bbb"])
    assert out.shape == (2, 3) and np.allclose(np.linalg.norm(out, axis=1), 1.0)
    assert seen[0]["model"] == "nomic-embed-text"
    query = await embedder.embed_query("cc")
    assert query is not None and query.shape == (3,)
    await embedder.aclose()

    # A server that caps a request's inputs: requests of at most that many, rows in order.
    seen.clear()
    capped = Settings(
        embeddings="openai",
        embeddings_model="nomic-embed-text",
        llm_base_url="http://emb.test/v1",
        embeddings_request_inputs=2,
    )
    embedder = OpenAIEmbedder(
        capped, http_client=httpx.AsyncClient(transport=httpx.MockTransport(reply))
    )
    texts = ["a", "bb", "ccc", "dddd", "eeeee"]
    out = await embedder.embed_passages(texts)
    assert [len(b["input"]) for b in seen] == [2, 2, 1]  # type: ignore[arg-type]
    lengths = out[:, 0] / out[:, 1]  # each vector is (len(text), 1, 0), normalized
    assert np.allclose(lengths, [len(t) for t in texts])
    await embedder.aclose()
