"""The playground shows why; the judge grades with its own model; the CLI for CI."""

from __future__ import annotations

import asyncio
import os
import sys

import orjson
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import text

from porch.settings import Settings
from tests.conftest import BOTH, OwnerClient
from tests.curation.conftest import faq_widget
from tests.curation.kit import curated
from tests.evals.conftest import case, run_and_wait
from tests.fakes import OpenAIFake

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


@pytest.fixture
def settings(settings: Settings, openai_fake: OpenAIFake) -> Settings:
    """The offline answerer answers; the fake OpenAI is only the judge."""
    return settings.model_copy(
        update={
            "llm_base_url": openai_fake.base_url,
            "llm_api_key": SecretStr("sk-test"),
            "eval_judge_provider": "openai",
            "eval_judge_model": "gpt-4o-mini",
        }
    )


async def counts(app: FastAPI) -> tuple[int, int]:
    async with app.state.porch.engine.connect() as conn:
        conversations = await conn.scalar(text("SELECT count(*) FROM conversations"))
        usage = await conn.scalar(text("SELECT count(*) FROM usage_counters"))
    return int(conversations or 0), int(usage or 0)


async def test_playground_shows_passages_scores_threshold_and_the_curated_answer(
    app: FastAPI, owner: OwnerClient, openai_fake: OpenAIFake
) -> None:
    w = await faq_widget(app, owner)
    before = await counts(app)
    url = f"/api/v1/widgets/{w['id']}/playground"
    resp = await owner.post(url, json={"content": "How much is the Pro plan?"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert "$12" in body["message"]["content"]
    assert body["message"]["provider"] == "extractive"
    retrieval = body["retrieval"]
    assert retrieval["refused"] is False
    # No threshold set anywhere: the automatic one, which follows the corpus's size.
    assert 0.25 <= retrieval["threshold"] <= 0.40
    used = [c for c in retrieval["candidates"] if c["used"]]
    assert used and all(isinstance(c["score"], float) for c in retrieval["candidates"])
    assert body["curated"] is None and body["actions"] == []
    qa = await curated(owner, w["id"], question="How much is the Pro plan?", answer="$10.")
    again = (await owner.post(url, json={"content": "How much is the Pro plan?"})).json()
    assert again["message"]["content"] == "$10."
    assert again["curated"]["applied"] == [qa["id"]] and again["curated"]["mode"] == "verbatim"
    assert again["curated"]["matches"][0]["components"]["exact"] == 1.0
    unknown = (await owner.post(url, json={"content": "Capital of France?"})).json()
    assert unknown["retrieval"]["refused"] is True
    with_history = await owner.post(
        url,
        json={
            "content": "And the price?",
            "history": [
                {"role": "user", "content": "Tell me about Pro"},
                {"role": "assistant", "content": "Pro is our paid plan."},
            ],
        },
    )
    assert with_history.status_code == 200
    # Nothing stored, nothing counted; no model was called for the offline answers.
    assert await counts(app) == before
    assert openai_fake.control.request_count == 0
    assert (await owner.post(url, json={"content": ""})).status_code == 400
    assert (
        await owner.post(url, json={"content": "x", "history": [{"role": "bot", "content": "y"}]})
    ).status_code == 400


async def test_judge_uses_its_own_model_and_its_verdict(
    app: FastAPI, owner: OwnerClient, openai_fake: OpenAIFake
) -> None:
    w = await faq_widget(app, owner)
    await owner.post(
        f"/api/v1/widgets/{w['id']}/eval-cases",
        json=case("price", "How much is Pro?", {"type": "judge", "rubric": "States the price."}),
    )
    openai_fake.control.script(text="PASS\nIt gives $12 a month.")
    run = await run_and_wait(app, owner, w["id"])
    assert run["passed"] == 1, run["results"][0]["assertions"]
    graded = openai_fake.control.requests[-1].json
    assert graded["model"] == "gpt-4o-mini"
    assert "States the price." in graded["messages"][-1]["content"]
    openai_fake.control.script(text="FAIL: no price.")
    assert (await run_and_wait(app, owner, w["id"]))["failed"] == 1
    openai_fake.control.script(text="Maybe?")
    assert (await run_and_wait(app, owner, w["id"]))["skipped"] == 1


async def test_cli_prints_json_and_exits_1_on_a_failure(
    app: FastAPI, owner: OwnerClient, settings: Settings
) -> None:
    w = await faq_widget(app, owner)
    for name, value in (("ok", "$12"), ("broken", "free forever")):
        await owner.post(
            f"/api/v1/widgets/{w['id']}/eval-cases",
            json=case(name, "How much is Pro?", {"type": "contains", "value": value}, tags=[name]),
        )
    env = {
        **os.environ,
        "PORCH_DATA_DIR": str(settings.data_dir),
        "PORCH_LOG_LEVEL": "error",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    if not settings.is_sqlite:
        env["PORCH_DATABASE_URL"] = settings.resolved_database_url

    async def cli(*args: str) -> tuple[int, bytes]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "porch",
            "eval",
            "run",
            "--widget",
            w["id"],
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode is not None, err
        return proc.returncode, out

    code, out = await cli("--format", "json")
    assert code == 1, out
    report = orjson.loads(out.strip().splitlines()[-1])
    assert (report["passed"], report["failed"], report["trigger"]) == (1, 1, "cli")
    code, out = await cli("--tags", "ok", "--format", "json")
    assert code == 0 and orjson.loads(out.strip().splitlines()[-1])["passed"] == 1
    code, _ = await cli("--tags", "ok")
    assert code == 0
    listed = (await owner.get(f"/api/v1/widgets/{w['id']}/eval-runs")).json()["eval_runs"]
    assert [r["trigger"] for r in listed] == ["cli", "cli", "cli"]
