"""Eval cases and runs on the offline answerer: assertions, skipped judges, regressions
found by the watch after a source changes, the webhook, isolation."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from tests.conftest import BOTH, OwnerClient, signup, start_conversation
from tests.curation.conftest import faq_widget, settle
from tests.curation.kit import ask, curated
from tests.evals.conftest import case, finished, run_and_wait
from tests.knowledge.site import Site, page, serve
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


async def add_case(owner: OwnerClient, widget_id: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await owner.post(f"/api/v1/widgets/{widget_id}/eval-cases", json=body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def test_a_run_checks_every_assertion_and_skips_the_judge_offline(
    app: FastAPI, owner: OwnerClient
) -> None:
    w = await faq_widget(app, owner)
    qa = await curated(owner, w["id"], question="Do you ship to Canada?", answer="Yes, in 5 days.")
    good = await add_case(
        owner,
        w["id"],
        case(
            "reset",
            "How do I reset my password?",
            {"type": "contains", "value": "forgot password"},
            {"type": "not_contains", "value": "$12"},
            {"type": "regex", "pattern": r"sign-in\s+page"},
            {"type": "cites", "title": "Help center"},
            {"type": "language", "language": "en"},
            {"type": "latency", "max_ms": 60_000},
            {"type": "judge", "rubric": "Explains how to reset the password."},
            tags=["smoke"],
        ),
    )
    await add_case(
        owner,
        w["id"],
        case(
            "canada",
            "Can you ship to Canada?",
            {"type": "curated", "curated_answer_id": qa["id"]},
            tags=["smoke"],
        ),
    )
    await add_case(
        owner,
        w["id"],
        case(
            "unknown",
            "What is the capital of France?",
            {"type": "refuses"},
        ),
    )
    bad = await add_case(
        owner,
        w["id"],
        case(
            "wrong",
            "How much is Pro?",
            {"type": "contains", "value": "free forever"},
        ),
    )
    judged = await add_case(
        owner,
        w["id"],
        case(
            "judge only",
            "How much is Pro?",
            {"type": "judge", "rubric": "Gives the price."},
        ),
    )
    run = await run_and_wait(app, owner, w["id"])
    assert run["status"] == "done" and run["trigger"] == "api"
    assert (run["passed"], run["failed"], run["skipped"]) == (3, 1, 1), orjson.dumps(
        [(r["name"], r["assertions"]) for r in run["results"]]
    ).decode()
    by_case = {r["case_id"]: r for r in run["results"]}
    first = by_case[good["id"]]
    assert first["outcome"] == "passed"
    judge = next(a for a in first["assertions"] if a["type"] == "judge")
    assert judge["skipped"] and not judge["passed"]
    assert all(a["passed"] for a in first["assertions"] if a["type"] != "judge")
    assert first["transcript"][1]["sources"][0]["title"] == "Help center"
    failed = by_case[bad["id"]]
    assert failed["outcome"] == "failed" and "missing" in failed["assertions"][0]["evidence"]
    assert by_case[judged["id"]]["outcome"] == "skipped"
    assert run["against"]["provider"] == "extractive" and run["against"]["knowledge_version"] > 0
    # Only the tagged cases; the list is newest first.
    tagged = await run_and_wait(app, owner, w["id"], tags=["smoke"])
    assert tagged["passed"] == 2 and len(tagged["results"]) == 2
    listed = (await owner.get(f"/api/v1/widgets/{w['id']}/eval-runs")).json()["eval_runs"]
    assert [r["id"] for r in listed] == [tagged["id"], run["id"]]
    # A run records no conversation, and counts nothing against the widget.
    async with app.state.porch.engine.connect() as conn:
        from sqlalchemy import text

        assert (await conn.scalar(text("SELECT count(*) FROM conversations"))) == 0


async def test_an_edited_source_makes_a_passing_case_a_regression(
    app: FastAPI, owner: OwnerClient
) -> None:
    site = Site(
        pages={
            "/": page(
                "Refunds",
                "<p>Refunds are paid back within 14 days of the "
                "return reaching our warehouse, to the original card.</p>",
            )
        }
    )
    with serve(site) as s, Receiver() as receiver:
        hook = await owner.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": ["eval.regressed"]}
        )
        assert hook.status_code == 201, hook.text
        w = await faq_widget(app, owner)
        added = await owner.post(
            f"/api/v1/widgets/{w['id']}/sources",
            json={"type": "url", "url": s.url("/"), "crawl": {"max_pages": 1, "max_depth": 0}},
        )
        assert added.status_code == 202, added.text
        source_id = added.json()["source_id"]
        await settle(app)
        refund = await add_case(
            owner,
            w["id"],
            case(
                "refund time",
                "How long do refunds take?",
                {"type": "contains", "value": "14 days"},
                {"type": "cites", "source_id": source_id},
            ),
        )
        first = await run_and_wait(app, owner, w["id"])
        assert first["passed"] == 1, orjson.dumps(first["results"]).decode()
        site.pages["/"] = page(
            "Refunds",
            "<p>Refunds are paid back within 30 days, as store "
            "credit only, once the return reaches our warehouse.</p>",
        )
        resync = await owner.post(f"/api/v1/sources/{source_id}/resync")
        assert resync.status_code in (200, 202), resync.text
        await settle(app)
        # The watch sees the knowledge change, waits for it to settle, and runs the cases.
        async with asyncio.timeout(30):
            while True:
                runs = (await owner.get(f"/api/v1/widgets/{w['id']}/eval-runs")).json()
                auto = [r for r in runs["eval_runs"] if r["trigger"] == "change"]
                if auto:
                    break
                await asyncio.sleep(0.05)
        run = await finished(app, owner, auto[0]["id"])
        assert run["failed"] == 1 and run["regressions"][0]["case_id"] == refund["id"]
        result = run["results"][0]
        assert result["regressed"] and result["previous"] == "passed"
        assert run["against"]["knowledge_version"] > first["against"]["knowledge_version"]
        async with asyncio.timeout(20):
            while not receiver.requests:
                await asyncio.sleep(0.05)
        body = orjson.loads(receiver.requests[0].body)
        assert body["type"] == "eval.regressed"
        assert body["data"]["run_id"] == run["id"]
        assert body["data"]["regressions"][0]["name"] == "refund time"


async def test_cases_from_a_conversation_curated_answers_and_jsonl(
    app: FastAPI, owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await faq_widget(app, owner)
    v = await start_conversation(client, w["id"])
    await ask(client, v, "How do I reset my password?")
    made = await owner.post(f"/api/v1/conversations/{v.conversation_id}/eval-case", json={})
    assert made.status_code == 201, made.text
    assert made.json()["turns"] == [{"content": "How do I reset my password?"}]
    assert made.json()["assertions"][0]["type"] == "cites"
    await curated(owner, w["id"], question="Do you ship to Canada?", answer="Yes.")
    from_qa = await owner.post(f"/api/v1/widgets/{w['id']}/eval-cases/from-curated")
    assert len(from_qa.json()["eval_cases"]) == 1
    again = await owner.post(f"/api/v1/widgets/{w['id']}/eval-cases/from-curated")
    assert again.json()["eval_cases"] == []
    lines = b"\n".join(
        orjson.dumps(case(f"n{i}", "How much is Pro?", {"type": "contains", "value": "$12"}))
        for i in range(3)
    )
    imported = await owner.post(f"/api/v1/widgets/{w['id']}/eval-cases/import", content=lines)
    assert imported.status_code == 201 and len(imported.json()["eval_cases"]) == 3
    run = await run_and_wait(app, owner, w["id"])
    assert (run["passed"], run["failed"]) == (5, 0), orjson.dumps(run["results"]).decode()
    bad = await owner.post(f"/api/v1/widgets/{w['id']}/eval-cases/import", content=b'{"x": 1}')
    assert bad.status_code == 400 and "Line 1" in bad.json()["error"]["message"]


async def test_bad_cases_are_refused_clearly(app: FastAPI, owner: OwnerClient) -> None:
    w = await faq_widget(app, owner)
    url = f"/api/v1/widgets/{w['id']}/eval-cases"
    for body in (
        case("x", "q", {"type": "regex", "pattern": "("}),
        case("x", "q", {"type": "nonsense"}),
        case("x", "q", {"type": "cites"}),
        case("x", "q"),
        {"name": "x", "turns": [], "assertions": [{"type": "refuses"}]},
        case("x", "q", {"type": "latency", "max_ms": 0}),
        case("x", "q", {"type": "language", "language": "English"}),
    ):
        resp = await owner.post(url, json=body)
        assert resp.status_code == 400, (body, resp.text)
    ok = await add_case(owner, w["id"], case("x", "q", {"type": "refuses"}))
    patched = await owner.patch(f"/api/v1/eval-cases/{ok['id']}", json={"tags": ["a"]})
    assert patched.json()["tags"] == ["a"]
    assert (await owner.delete(f"/api/v1/eval-cases/{ok['id']}")).status_code == 204
    assert (await owner.get(f"/api/v1/eval-cases/{ok['id']}")).status_code == 404


async def test_cases_and_runs_never_cross_workspaces(app: FastAPI, owner: OwnerClient) -> None:
    w = await faq_widget(app, owner)
    mine = await add_case(owner, w["id"], case("x", "How much is Pro?", {"type": "refuses"}))
    run = await run_and_wait(app, owner, w["id"])
    stranger = await signup(app)
    try:
        for path in (
            f"/api/v1/eval-cases/{mine['id']}",
            f"/api/v1/eval-runs/{run['id']}",
            f"/api/v1/widgets/{w['id']}/eval-runs",
            f"/api/v1/widgets/{w['id']}/eval-cases",
        ):
            assert (await stranger.get(path)).status_code == 404, path
        assert (
            await stranger.post(f"/api/v1/widgets/{w['id']}/eval-runs", json={})
        ).status_code == 404
        play = await stranger.post(f"/api/v1/widgets/{w['id']}/playground", json={"content": "hi"})
        assert play.status_code == 404
        theirs = await faq_widget(app, stranger)
        other = await run_and_wait(app, stranger, theirs["id"])
        assert other["results"] == []
    finally:
        await stranger.http.aclose()
