"""Eval tests: jobs in-process, loopback allowed (the fake site, the webhook receiver), the
watch fast so a change re-runs the cases within the test."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI

from porch.settings import Settings
from tests.conftest import OwnerClient


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "jobs_queue": "memory",
            "allow_signup": True,
            "crawl_allow_private_networks": True,
            "webhook_retry_seconds": 0.05,
            "eval_watch_seconds": 0.1,
            "eval_debounce_seconds": 0.2,
        }
    )


async def run_and_wait(
    app: FastAPI, owner: OwnerClient, widget_id: str, **body: Any
) -> dict[str, Any]:
    resp = await owner.post(f"/api/v1/widgets/{widget_id}/eval-runs", json=body)
    assert resp.status_code == 202, resp.text
    assert resp.json()["status"] == "running"
    return await finished(app, owner, resp.json()["id"])


async def finished(app: FastAPI, owner: OwnerClient, run_id: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            await app.state.porch.evals.idle()
            run = (await owner.get(f"/api/v1/eval-runs/{run_id}")).json()
            if run["status"] != "running":
                return dict(run)
            await asyncio.sleep(0.05)


def case(name: str, question: str, *assertions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "turns": [{"content": question}], "assertions": list(assertions), **extra}
