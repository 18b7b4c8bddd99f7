"""Retrieval benchmark on a real documentation site: Debian's postgresql-doc-15.

    apt-get install -y postgresql-doc-15
    .venv/bin/python -m bench.retrieval

Serves the HTML over loopback, crawls it with porch's own ingestion (SQLite, in-process
jobs, the offline MiniLM embedder), then prints:
  * ingest throughput: pages/s, chunks/s, and the embedding model's share of the time;
  * hit@1, hit@5 and MRR@10 (page level) of keyword-only, dense-only, reciprocal-rank
    fusion and weighted fusion at several keyword weights, on 52 visitor-style questions
    (bench/retrieval_questions.py), a quarter of them exact identifiers or error codes;
  * how the relevance threshold separates these questions from off-topic ones;
  * search latency p50/p99 for widgets of 10k and 100k chunks.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import select

from bench import refusal
from bench.retrieval_questions import NEAR_MISSES, QUESTIONS
from porch.app import create_app
from porch.db import create_engine
from porch.knowledge.search.retriever import IDENT_BOOST, Retriever
from porch.knowledge.search.store import NewChunk, bump_version, insert_chunks
from porch.migrate import upgrade
from porch.models import Chunk, Widget
from porch.settings import Settings

DOCS = Path("/usr/share/doc/postgresql-doc-15/html")
OFF_TOPIC = [
    "what is the weather like in Lisbon tomorrow?",
    "how do I bake sourdough bread at home?",
    "who won the football world cup in 2014?",
    "recommend a good science fiction novel",
    "how many calories are in a banana?",
    "what is the capital city of Australia?",
    "how do I change a flat tyre on a bicycle?",
    "best way to learn to play the guitar",
    "how do I train my puppy to sit?",
    "when does the next train to Porto leave?",
]


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

    handler = functools.partial(Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def page_of(url: str | None) -> str:
    return (url or "").rsplit("/", 1)[-1].split("#")[0]


def metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    return {
        "hit@1": sum(1 for r in ranks if r is not None and r < 1) / n,
        "hit@5": sum(1 for r in ranks if r is not None and r < 5) / n,
        "mrr@10": sum(1 / (r + 1) for r in ranks if r is not None and r < 10) / n,
    }


async def timed(total: list[float], call: Callable[[], Awaitable[Any]]) -> Any:
    began = time.perf_counter()
    try:
        return await call()
    finally:
        total[0] += time.perf_counter() - began


async def ingest(app: Any, base: str, max_pages: int) -> tuple[str, dict[str, float]]:
    state = app.state.porch
    embed_seconds = [0.0]
    embedder = state.retriever.embedder
    original = embedder.embed_passages

    async def counting(texts: Any) -> Any:
        return await timed(embed_seconds, lambda: original(texts))

    embedder.embed_passages = counting
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://porch.bench") as http:
        signup = await http.post(
            "/api/v1/auth/signup", json={"email": "bench@example.com", "password": "bench-pass-1"}
        )
        csrf = {"X-CSRF-Token": signup.json()["csrf_token"]}
        widget = (await http.post("/api/v1/widgets", json={"name": "Docs"}, headers=csrf)).json()
        began = time.perf_counter()
        resp = await http.post(
            f"/api/v1/widgets/{widget['id']}/sources",
            json={
                "type": "url",
                "url": f"{base}/index.html",
                "crawl": {"max_pages": max_pages, "max_depth": 30},
            },
            headers=csrf,
        )
        await state.jobs.drain()
        wall = time.perf_counter() - began
        source = (await http.get(f"/api/v1/sources/{resp.json()['source_id']}")).json()
    embedder.embed_passages = original
    return widget["id"], {
        "pages": source["pages"],
        "chunks": source["chunks"],
        "seconds": wall,
        "pages_per_s": source["pages"] / wall,
        "chunks_per_s": source["chunks"] / wall,
        "embedding_share": embed_seconds[0] / wall,
        "skipped": source["stats"]["skipped"],
        "failed": source["stats"]["failed"],
    }


async def quality(app: Any, widget_id: str, misses: bool = False) -> dict[str, dict[str, float]]:
    state = app.state.porch
    retriever: Retriever = state.retriever
    wid = uuid.UUID(widget_id)
    modes: list[tuple[str, str, float]] = [
        ("keyword", "keyword", 0.0),
        ("dense", "dense", 0.0),
        ("rrf", "rrf", 0.0),
        *[(f"dense+bm25*{w:g}", "weighted", w) for w in (0.1, 0.25, 0.5)],
        *[(f"dense+ident*{w:g}", "hybrid", w) for w in (0.1, 0.2, 0.3)],
    ]
    chosen = (retriever.keyword_weight, retriever.ident_boost)
    out: dict[str, dict[str, float]] = {}
    async with state.autocommit.connect() as conn:
        for label, mode, weight in modes:
            retriever.keyword_weight = retriever.ident_boost = weight
            ranks: list[int | None] = []
            ident_ranks: list[int | None] = []
            for i, (question, pages) in enumerate(QUESTIONS):
                hits = await retriever.search(conn, wid, question, 10, mode=mode, threshold=False)  # type: ignore[arg-type]
                found = [page_of(h.url) for h in hits]
                rank = next((j for j, p in enumerate(found) if p in pages), None)
                ranks.append(rank)
                if i >= 40:
                    ident_ranks.append(rank)
            if misses and mode == "hybrid" and weight == chosen[1]:
                for (question, pages), rank in zip(QUESTIONS, ranks, strict=True):
                    if rank is None or rank >= 5:
                        hits = await retriever.search(conn, wid, question, 5, threshold=False)
                        print(f"  miss (rank {rank}): {question}  want {pages}")
                        print(f"    got {[page_of(h.url) for h in hits]}")
            out[label] = {
                **metrics(ranks),
                "ident_hit@1": metrics(ident_ranks)["hit@1"],
                "ident_hit@5": metrics(ident_ranks)["hit@5"],
            }
    retriever.keyword_weight, retriever.ident_boost = chosen
    return out


async def threshold(app: Any, widget_id: str) -> list[tuple[float, float, float]]:
    """(threshold, share of on-topic questions still answered, share of off-topic refused)."""
    state = app.state.porch
    retriever: Retriever = state.retriever
    wid = uuid.UUID(widget_id)
    saved = retriever.min_similarity
    rows = []
    async with state.autocommit.connect() as conn:
        for t in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5):
            retriever.min_similarity = t
            kept = [bool(await retriever.search(conn, wid, q, 5)) for q, _ in QUESTIONS]
            refused = [not await retriever.search(conn, wid, q, 5) for q in OFF_TOPIC]
            rows.append((t, sum(kept) / len(kept), sum(refused) / len(refused)))
    retriever.min_similarity = saved
    return rows


async def grow_widget(app: Any, source_widget: str, size: int) -> uuid.UUID:
    """A widget of `size` chunks: the crawled passages copied over and over (a bigger site
    of the same kind), written through the same store functions ingestion uses."""
    state = app.state.porch
    async with state.sessionmaker() as session:
        existing: uuid.UUID | None = await session.scalar(
            select(Widget.id).where(Widget.name == f"grown-{size}")
        )
        if existing is not None:
            return existing  # kept from an earlier run with the same --data-dir
        rows = (
            (
                await session.execute(
                    select(Chunk).where(Chunk.widget_id == uuid.UUID(source_widget), ~Chunk.staged)
                )
            )
            .scalars()
            .all()
        )
        template = await session.get(Widget, uuid.UUID(source_widget))
        assert template is not None
        source_id = rows[0].source_id
        workspace_id = template.workspace_id
    async with state.sessionmaker() as session, session.begin():
        widget = Widget(workspace_id=workspace_id, name=f"grown-{size}", title="x")
        session.add(widget)
        await session.flush()
        wid = widget.id
        from porch.models import Source

        src = Source(
            workspace_id=workspace_id, widget_id=wid, type="text", title="copy", status="ready"
        )
        session.add(src)
        await session.flush()
        source_id = src.id
    written = 0
    while written < size:
        batch: list[NewChunk] = []
        for c in rows:
            if written + len(batch) >= size:
                break
            batch.append(NewChunk(c.title, c.heading, c.url, c.text, None, c.embedding))
        async with state.sessionmaker() as session, session.begin():
            for start in range(0, len(batch), 2000):
                ids = await insert_chunks(
                    session,
                    workspace_id=workspace_id,
                    widget_id=wid,
                    source_id=source_id,
                    rows=batch[start : start + 2000],
                    model=state.retriever.embedder.name,
                    staged=False,
                )
                await state.retriever.keywords.add(session, ids)
            await bump_version(session, wid)
        written += len(batch)
    return wid


async def latency(app: Any, widget_id: uuid.UUID, repeats: int) -> dict[str, float]:
    state = app.state.porch
    retriever: Retriever = state.retriever
    questions = [q for q, _ in QUESTIONS]
    async with state.autocommit.connect() as conn:
        began = time.perf_counter()
        await retriever.search(conn, widget_id, "warm up: load the matrix", 5)
        load = time.perf_counter() - began
        cold: list[float] = []
        warm: list[float] = []
        for _ in range(repeats):
            for q in questions:
                retriever.embedder._cache._items.clear()  # type: ignore[attr-defined]
                t = time.perf_counter()
                await retriever.search(conn, widget_id, q, 5)
                cold.append(time.perf_counter() - t)
                t = time.perf_counter()
                await retriever.search(conn, widget_id, q, 5)
                warm.append(time.perf_counter() - t)
        dense: list[float] = []
        matrix = retriever.dense.index.peek(widget_id)  # type: ignore[attr-defined]
        assert matrix is not None
        vector = await retriever.embedder.embed_query(questions[0])
        assert vector is not None
        from porch.knowledge.search.keyword import NO_FILTERS

        for _ in range(200):
            t = time.perf_counter()
            matrix.top(vector, 40, NO_FILTERS)
            dense.append(time.perf_counter() - t)
        keyword: list[float] = []
        for q in questions * 2:
            t = time.perf_counter()
            await retriever.keywords.search(conn, widget_id, q, 40)
            keyword.append(time.perf_counter() - t)

    def pct(values: list[float], p: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return {
        "load_s": load,
        "p50_ms": pct(cold, 0.5),
        "p99_ms": pct(cold, 0.99),
        "cached_q_p50_ms": pct(warm, 0.5),
        "cached_q_p99_ms": pct(warm, 0.99),
        "dense_p50_ms": pct(dense, 0.5),
        "keyword_p50_ms": pct(keyword, 0.5),
        "keyword_p99_ms": pct(keyword, 0.99),
    }


def report_quality(results: dict[str, dict[str, float]]) -> None:
    print(
        f"\nquality on {len(QUESTIONS)} questions (page level; last "
        f"{len(QUESTIONS) - 40} are identifiers)"
    )
    print(
        f"  {'mode':16s} {'hit@1':>6s} {'hit@5':>6s} {'mrr@10':>7s} "
        f"{'id hit@1':>9s} {'id hit@5':>9s}"
    )
    for label, m in results.items():
        print(
            f"  {label:16s} {m['hit@1']:6.2f} {m['hit@5']:6.2f} {m['mrr@10']:7.3f} "
            f"{m['ident_hit@1']:9.2f} {m['ident_hit@5']:9.2f}"
        )
    dense, chosen = results["dense"], results[f"dense+ident*{IDENT_BOOST:g}"]
    print(
        f"  chosen (hybrid, dense+ident*{IDENT_BOOST:g}) / dense: hit@1 "
        f"{chosen['hit@1'] / dense['hit@1']:.2f}x, "
        f"MRR {chosen['mrr@10'] / dense['mrr@10']:.2f}x; "
        f"identifier hit@1 {chosen['ident_hit@1']:.2f} vs {dense['ident_hit@1']:.2f}"
    )


def report_ingest(ingested: dict[str, float]) -> None:
    print(
        f"\ningest  {ingested['pages']} pages, {ingested['chunks']} chunks in "
        f"{ingested['seconds']:.1f} s ({ingested['skipped']} skipped, "
        f"{ingested['failed']} failed)"
    )
    print(
        f"  {ingested['pages_per_s']:.2f} pages/s, {ingested['chunks_per_s']:.1f} chunks/s, "
        f"embedding {ingested['embedding_share']:.0%} of the time"
    )
    print(f"  a 500-page site at this rate: {500 / ingested['pages_per_s']:.0f} s (target < 180 s)")


async def run(args: argparse.Namespace) -> None:
    if not DOCS.is_dir():
        raise SystemExit(f"{DOCS} is missing: apt-get install -y postgresql-doc-15")
    with tempfile.TemporaryDirectory() as tmp, serve(DOCS) as base:
        data = Path(args.data_dir or tmp)
        data.mkdir(parents=True, exist_ok=True)
        reuse = (data / "bench-widget").exists()
        settings = Settings(
            data_dir=data,
            database_url=args.database_url,
            crawl_allow_private_networks=True,
            crawl_max_pages=5000,
            jobs_queue="memory",
            log_level="warning",
            log_json=False,
            search_cache_mb=4096,
        )
        engine = create_engine(settings)
        await upgrade(engine)
        await engine.dispose()
        app = create_app(settings)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
            if reuse:
                widget_id = (data / "bench-widget").read_text()
                print(f"\nreusing the crawl in {data}")
            else:
                widget_id, ingested = await ingest(app, base, args.max_pages)
                if args.data_dir:
                    (data / "bench-widget").write_text(widget_id)
                report_ingest(ingested)

            if not args.skip_quality:
                kbs = await refusal.build_kbs(app)
                for half in ("tuning", "reporting"):
                    refusal.report(await refusal.small(app, kbs, half), half)
                    unanswerable = [*NEAR_MISSES, *OFF_TOPIC]
                    found = await refusal.large(app, widget_id, QUESTIONS, unanswerable, half)
                    refusal.report_large(found, half)
                report_quality(await quality(app, widget_id, args.misses))
                print("\nrelevance threshold (hybrid, cosine of the best passage)")
                for t, kept, refused in await threshold(app, widget_id):
                    print(
                        f"  {t:.2f}: on-topic answered {kept:.0%}, off-topic refused {refused:.0%}"
                    )

            for size in args.sizes:
                wid = await grow_widget(app, widget_id, size)
                lat = await latency(app, wid, args.repeats)
                print(f"\nsearch, widget of {size} chunks (matrix load {lat['load_s']:.2f} s)")
                print(
                    f"  end to end p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms "
                    "(question embedded each time; target p99 < 20 ms)"
                )
                print(
                    f"  question vector cached: p50 {lat['cached_q_p50_ms']:.1f} ms, "
                    f"p99 {lat['cached_q_p99_ms']:.1f} ms"
                )
                print(
                    f"  dense top-40 p50 {lat['dense_p50_ms']:.2f} ms; keyword p50 "
                    f"{lat['keyword_p50_ms']:.1f} ms, p99 {lat['keyword_p99_ms']:.1f} ms"
                )
    _ = statistics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-pages", type=int, default=2000)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument("--data-dir", default=None, help="keep (and reuse) the crawl here")
    parser.add_argument("--misses", action="store_true", help="print the chosen mode's misses")
    parser.add_argument("--skip-quality", action="store_true", help="latency only")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
