"""Curation and eval tests: jobs in-process on both backends, the fake OpenAI on demand."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from porch.settings import Settings
from tests.conftest import FAQ, OwnerClient, make_widget
from tests.fakes import OpenAIFake


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"jobs_queue": "memory", "eval_watch_seconds": 0.0, "allow_signup": True}
    )


def with_openai(settings: Settings, fake: OpenAIFake) -> Settings:
    return settings.model_copy(
        update={
            "llm_provider": "openai",
            "llm_model": "gpt-4o-mini",
            "llm_base_url": fake.base_url,
            "llm_api_key": SecretStr("sk-test"),
            "llm_timeout": 2.0,
            "llm_retries": 0,
        }
    )


async def settle(app: FastAPI) -> None:
    await app.state.porch.jobs.drain()


async def faq_widget(app: FastAPI, owner: OwnerClient, **fields: Any) -> dict[str, Any]:
    w = await make_widget(owner, fallback_message="Email help@example.com.", **fields)
    resp = await owner.post(
        f"/api/v1/widgets/{w['id']}/sources",
        json={"type": "text", "title": "Help center", "text": FAQ},
    )
    assert resp.status_code == 202, resp.text
    await settle(app)
    return w
