"""Answer or refuse, measured as a pair: answerable recall and unanswerable refusal.

    .venv/bin/python -m bench.refusal            # the small knowledge bases (a minute)
    .venv/bin/python -m bench.retrieval          # adds the large set (the PostgreSQL docs)

Small knowledge bases are the FAQ of bench/retrieval_faq.py, pasted as text sources:
  * size 1: twenty widgets of one passage each;
  * size 5: four widgets of five passages;
  * size 20: one widget of all twenty.
A question counts as answered when the retriever (threshold included, exactly as the
assistant sees it) returns its passage among the top 5; refused when it returns nothing.
Unanswerable questions are the FAQ's near misses and, for sizes 1 and 5, the other entries'
questions (the same shop, an answer that is not in this widget). Each list is split: the
tuning half was used to choose the decision's constants, the reporting half was not.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from bench.retrieval_faq import FAQ, NEAR_MISSES, Entry, reporting, tuning
from porch.app import create_app
from porch.db import create_engine
from porch.knowledge.search.retriever import Retriever
from porch.migrate import upgrade
from porch.settings import Settings

K = 5


@dataclass
class Tally:
    answerable: int = 0
    recalled: int = 0
    first: int = 0
    unanswerable: int = 0
    refused: int = 0
    near: int = 0
    near_refused: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("answerable", "recalled", "first", "unanswerable", "refused"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.near += other.near
        self.near_refused += other.near_refused
        self.failures += other.failures

    @property
    def recall(self) -> float:
        return self.recalled / max(1, self.answerable)

    @property
    def refusal(self) -> float:
        return self.refused / max(1, self.unanswerable)

    @property
    def near_refusal(self) -> float:
        return self.near_refused / max(1, self.near)


@dataclass
class KnowledgeBase:
    widget_id: uuid.UUID
    entries: list[Entry]
    source_of: dict[str, str]  # entry title -> source id


async def build_kbs(app: Any) -> dict[int, list[KnowledgeBase]]:
    transport = httpx.ASGITransport(app=app)
    layout = {
        1: [[e] for e in FAQ],
        5: [FAQ[i : i + 5] for i in range(0, len(FAQ), 5)],
        20: [FAQ],
    }
    out: dict[int, list[KnowledgeBase]] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://porch.bench") as http:
        signup = await http.post(
            "/api/v1/auth/signup", json={"email": "faq@example.com", "password": "bench-pass-1"}
        )
        csrf = {"X-CSRF-Token": signup.json()["csrf_token"]}
        for size, groups in layout.items():
            for n, group in enumerate(groups):
                widget = await http.post(
                    "/api/v1/widgets", json={"name": f"faq-{size}-{n}"}, headers=csrf
                )
                wid = widget.json()["id"]
                sources: dict[str, str] = {}
                for entry in group:
                    resp = await http.post(
                        f"/api/v1/widgets/{wid}/sources",
                        json={"type": "text", "title": entry.title, "text": entry.text},
                        headers=csrf,
                    )
                    sources[entry.title] = resp.json()["source_id"]
                out.setdefault(size, []).append(KnowledgeBase(uuid.UUID(wid), group, sources))
    await app.state.porch.jobs.drain()
    return out


async def judge(
    retriever: Retriever,
    conn: Any,
    kb: KnowledgeBase,
    half: str,
) -> Tally:
    pick = tuning if half == "tuning" else reporting
    tally = Tally()
    mine = {e.title for e in kb.entries}
    for entry in kb.entries:
        want = kb.source_of[entry.title]
        for q in pick(entry.questions):
            hits = await retriever.search(conn, kb.widget_id, q, K)
            found = [str(h.source_id) for h in hits]
            tally.answerable += 1
            if want in found:
                tally.recalled += 1
                tally.first += found[0] == want
            else:
                tally.failures.append(f"  not answered: {q!r} ({entry.title}); got {len(hits)}")
    others = [q for e in FAQ if e.title not in mine for q in pick(e.questions)]
    for q, near in [(q, True) for q in pick(NEAR_MISSES)] + [(q, False) for q in others]:
        hits = await retriever.search(conn, kb.widget_id, q, K)
        tally.unanswerable += 1
        tally.near += near
        if not hits:
            tally.refused += 1
            tally.near_refused += near
        elif near:
            tally.failures.append(f"  answered near miss: {q!r} with {hits[0].title!r}")
    return tally


async def small(app: Any, kbs: dict[int, list[KnowledgeBase]], half: str) -> dict[int, Tally]:
    retriever: Retriever = app.state.porch.retriever
    out: dict[int, Tally] = {}
    async with app.state.porch.autocommit.connect() as conn:
        for size, group in kbs.items():
            total = Tally()
            for kb in group:
                total.add(await judge(retriever, conn, kb, half))
            out[size] = total
    return out


def report(results: dict[int, Tally], half: str, verbose: bool = False) -> None:
    print(f"\nsmall knowledge bases, {half} half (targets: recall >= 0.95, refusal >= 0.90)")
    print(
        f"  {'size':>4s} {'answerable':>10s} {'recall':>7s} {'top-1':>6s} "
        f"{'unanswerable':>12s} {'refusal':>8s} {'near-miss refusal':>18s}"
    )
    for size, t in results.items():
        print(
            f"  {size:4d} {t.answerable:10d} {t.recall:7.2f} {t.first / max(1, t.answerable):6.2f} "
            f"{t.unanswerable:12d} {t.refusal:8.2f} {t.near_refusal:18.2f}"
        )
        if verbose:
            for line in t.failures[:40]:
                print(line)


async def large(
    app: Any,
    widget_id: str,
    questions: Sequence[tuple[str, list[str]]],
    unanswerable: Sequence[str],
    half: str,
) -> dict[str, float]:
    """The documentation set: ranking without the threshold (hit@1, hit@5, MRR@10) and the
    decision with it (answered with a right page in the top 5; refused)."""
    from bench.retrieval import metrics, page_of

    retriever: Retriever = app.state.porch.retriever
    wid = uuid.UUID(widget_id)
    cut = slice(0, None, 2) if half == "tuning" else slice(1, None, 2)
    asked, missing = list(questions)[cut], list(unanswerable)[cut]
    ranks: list[int | None] = []
    recalled = refused = 0
    async with app.state.porch.autocommit.connect() as conn:
        for q, pages in asked:
            ranked = await retriever.search(conn, wid, q, 10, threshold=False)
            found = [page_of(h.url) for h in ranked]
            ranks.append(next((j for j, p in enumerate(found) if p in pages), None))
            kept = await retriever.search(conn, wid, q, K)
            recalled += any(page_of(h.url) in pages for h in kept)
        for q in missing:
            refused += not await retriever.search(conn, wid, q, K)
    return {
        **metrics(ranks),
        "answerable": len(asked),
        "recall": recalled / len(asked),
        "unanswerable": len(missing),
        "refusal": refused / max(1, len(missing)),
    }


def report_large(m: dict[str, float], half: str) -> None:
    print(
        f"\nlarge set, {half} half (targets: hit@5 >= 0.95, hit@1 >= 0.80, refusal >= 0.85)\n"
        f"  hit@1 {m['hit@1']:.2f}  hit@5 {m['hit@5']:.2f}  MRR@10 {m['mrr@10']:.3f}  "
        f"answerable recall {m['recall']:.2f} of {m['answerable']:.0f}  "
        f"refusal {m['refusal']:.2f} of {m['unanswerable']:.0f}"
    )


def bench_settings(data: Path, database_url: str | None = None) -> Settings:
    return Settings(
        data_dir=data,
        database_url=database_url,
        jobs_queue="memory",
        log_level="warning",
        log_json=False,
    )


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(Path(tmp), args.database_url)
        engine = create_engine(settings)
        await upgrade(engine)
        await engine.dispose()
        app = create_app(settings)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
            kbs = await build_kbs(app)
            for half in args.halves:
                report(await small(app, kbs, half), half, args.verbose)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--halves", nargs="*", default=["tuning", "reporting"])
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument("--verbose", action="store_true", help="print the misses")
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
