"""Redaction rules over HTTP, and what the chat path stores and sends to the model."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from porch.settings import Settings
from tests.conftest import BOTH, OwnerClient, make_widget, signup, start_conversation
from tests.fakes import OpenAIFake
from tests.privacy.helpers import ask, stored

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)
CARD = "4242 4242 4242 4242"
NOT_LUHN = "4242424242424241"
PHONE = "+44 20 7946 0958"


@pytest.fixture
def settings(settings: Settings, openai_fake: OpenAIFake) -> Settings:
    return settings.model_copy(
        update={
            "llm_provider": "openai",
            "llm_model": "gpt-4o-mini",
            "llm_base_url": openai_fake.base_url,
            "llm_api_key": SecretStr("sk-test"),
            "llm_timeout": 2.0,
            "llm_retries": 0,
        }
    )


async def test_cards_are_masked_before_storing_by_default(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient, openai_fake: OpenAIFake
) -> None:
    openai_fake.control.script(text="Thanks.")
    widget = await make_widget(owner)
    v = await start_conversation(client, widget["id"])
    reply = await ask(client, v, f"my card {CARD}, not {NOT_LUHN}, phone {PHONE}")
    assert reply["user_message_id"]
    rows = await stored(app, "SELECT content, redactions FROM messages WHERE role = 'user'")
    [(content, redactions)] = rows
    # The valid card keeps its last four; the 16 digits failing Luhn and the phone number
    # (no phone rule) stay as typed.
    assert content == f"my card [card ****4242], not {NOT_LUHN}, phone {PHONE}"
    assert "card" in str(redactions)
    sent = openai_fake.control.requests[-1].json["messages"][-1]["content"]
    assert "4242 4242 4242 4242" not in sent and "[card ****4242]" in sent
    # The visitor's history shows the masked text too, and the agents see it was redacted.
    history = await client.get(
        f"/api/v1/conversations/{v.conversation_id}/messages", headers=v.auth
    )
    assert CARD not in history.text
    inbox = (await owner.get(f"/api/v1/conversations/{v.conversation_id}")).json()
    assert [m["redactions"] for m in inbox["messages"] if m["role"] == "user"] == [{"card": 1}]


async def test_model_stage_rule_redacts_what_the_model_gets_not_what_is_stored(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient, openai_fake: OpenAIFake
) -> None:
    openai_fake.control.script(text="Noted.")
    created = await owner.post(
        "/api/v1/privacy/redaction-rules", json={"kind": "email", "stages": ["model"]}
    )
    assert created.status_code == 201, created.text
    widget = await make_widget(owner)
    v = await start_conversation(client, widget["id"])
    await ask(client, v, "write to jane.roe@example.net please")
    await ask(client, v, "and again")
    messages = openai_fake.control.requests[-1].json["messages"]
    assert all("jane.roe@example.net" not in m["content"] for m in messages)
    assert any("[email]" in m["content"] for m in messages)
    rows = await stored(app, "SELECT content FROM messages WHERE role = 'user'")
    assert any("jane.roe@example.net" in r[0] for r in rows)


@pytest.mark.settings(allow_signup=True)
async def test_rules_crud_test_endpoint_and_tenancy(app: FastAPI, owner: OwnerClient) -> None:
    bad = await owner.post(
        "/api/v1/privacy/redaction-rules",
        json={"kind": "regex", "pattern": "(unclosed", "stages": ["store"]},
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_pattern"
    missing = await owner.post(
        "/api/v1/privacy/redaction-rules", json={"kind": "regex", "stages": ["store"]}
    )
    assert missing.status_code == 400
    no_stage = await owner.post(
        "/api/v1/privacy/redaction-rules", json={"kind": "email", "stages": []}
    )
    assert no_stage.status_code == 400
    rule = await owner.post(
        "/api/v1/privacy/redaction-rules",
        json={"kind": "regex", "pattern": r"ORD-\d{6}", "stages": ["store", "export"]},
    )
    assert rule.status_code == 201, rule.text
    listed = (await owner.get("/api/v1/privacy/redaction-rules")).json()["rules"]
    assert [r["id"] for r in listed] == [rule.json()["id"]]

    tried = await owner.post(
        "/api/v1/privacy/redaction-rules/test",
        json={"text": f"ORD-123456 paid by {CARD}", "stage": "store"},
    )
    assert tried.status_code == 200
    assert tried.json() == {
        "text": "[redacted] paid by [card ****4242]",
        "counts": {"card": 1, "regex": 1},
    }
    one = await owner.post(
        "/api/v1/privacy/redaction-rules/test",
        json={"text": "call +44 20 7946 0958", "rule": {"kind": "phone", "stages": ["model"]}},
    )
    assert one.json() == {"text": "call [phone]", "counts": {"phone": 1}}

    other = await signup(app)
    try:
        gone = await other.delete(f"/api/v1/privacy/redaction-rules/{rule.json()['id']}")
        assert gone.status_code == 404
        assert (await other.get("/api/v1/privacy/redaction-rules")).json()["rules"] == []
    finally:
        await other.http.aclose()
    deleted = await owner.delete(f"/api/v1/privacy/redaction-rules/{rule.json()['id']}")
    assert deleted.status_code == 204
    audit = (await owner.get("/api/v1/audit-log")).json()
    actions = [e["action"] for e in audit["events"]]
    assert "redaction_rule.created" in actions and "redaction_rule.deleted" in actions


@pytest.mark.settings(crawl_allow_private_networks=True, jobs_queue="memory")
async def test_webhook_stage_redacts_the_payload_not_the_message(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient, openai_fake: OpenAIFake
) -> None:
    openai_fake.control.script(text="Sure.")
    rule = await owner.post(
        "/api/v1/privacy/redaction-rules", json={"kind": "email", "stages": ["webhook"]}
    )
    assert rule.status_code == 201
    hook = await owner.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["message.created"]}
    )
    assert hook.status_code == 201, hook.text
    widget = await make_widget(owner)
    v = await start_conversation(client, widget["id"])
    await ask(client, v, "reach me at max.hook@example.com")
    payloads: list[str] = []
    for _ in range(100):
        payloads = [str(r[0]) for r in await stored(app, "SELECT payload FROM webhook_deliveries")]
        if any("[email]" in p for p in payloads):
            break
        await asyncio.sleep(0.05)
    assert any("[email]" in p for p in payloads)
    assert not any("max.hook@example.com" in p for p in payloads)
    rows = await stored(app, "SELECT content FROM messages WHERE role = 'user'")
    assert rows[0][0] == "reach me at max.hook@example.com"
