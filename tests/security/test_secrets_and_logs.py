"""Secrets at rest are encrypted and never returned; logs redact tokens, keys and cookies."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy import text

from porch.crypto import SecretBox, SecretUnreadable, box, identity_hash
from porch.observability import logging as porch_logging
from tests.conftest import OwnerClient, make_widget, start_conversation
from tests.fakes import OpenAIFake

KEY = "sk-widget-own-key-0123456789abcd"


def test_secret_box_round_trips_and_binds_to_the_key() -> None:
    one, other = SecretBox(b"first secret key"), SecretBox(b"second secret key")
    sealed = one.encrypt("hello")
    assert "hello" not in sealed and one.decrypt(sealed) == "hello"
    with pytest.raises(SecretUnreadable):
        other.decrypt(sealed)
    assert other.decrypt_or_none(sealed) is None
    assert box(b"k") is box(b"k")  # derived once per key
    assert identity_hash("s", "42") == hmac.new(b"s", b"42", hashlib.sha256).hexdigest()


@pytest.mark.settings(llm_provider="openai", llm_model="gpt-4o-mini", llm_retries=0)
async def test_widget_provider_key_is_encrypted_used_and_never_returned(
    owner: OwnerClient,
    client: httpx.AsyncClient,
    app: FastAPI,
    openai_fake: OpenAIFake,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The server's default provider points at the fake with the server's own key.
    settings = app.state.porch.settings
    monkeypatch.setattr(settings, "llm_base_url", openai_fake.base_url)
    w = await make_widget(owner)
    put = await owner.http.put(
        f"/api/v1/widgets/{w['id']}/provider-key",
        json={"api_key": KEY},
        headers={"X-CSRF-Token": owner.csrf},
    )
    assert put.status_code == 200, put.text
    assert put.json() == {"provider_api_key_last4": KEY[-4:]}
    for resp in (
        await owner.get(f"/api/v1/widgets/{w['id']}"),
        await owner.get("/api/v1/widgets"),
    ):
        assert KEY not in resp.text
    assert (await owner.get(f"/api/v1/widgets/{w['id']}")).json()["provider_api_key_last4"] == (
        KEY[-4:]
    )
    async with app.state.porch.engine.connect() as conn:
        stored = await conn.scalar(text("SELECT provider_api_key_encrypted FROM widgets"))
    assert stored and KEY not in stored

    openai_fake.control.script(text="Hello there.")
    v = await start_conversation(client, w["id"])
    resp = await client.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": "hi"},
        headers=v.auth,
    )
    assert resp.status_code == 200, resp.text
    sent = openai_fake.control.requests[-1].headers
    assert sent["authorization"] == f"Bearer {KEY}"

    removed = await owner.delete(f"/api/v1/widgets/{w['id']}/provider-key")
    assert removed.status_code == 204
    assert (await owner.get(f"/api/v1/widgets/{w['id']}")).json()["provider_api_key_last4"] is None


@pytest.fixture
def captured() -> io.StringIO:
    return io.StringIO()


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]


def test_log_lines_redact_secrets_wherever_they_are(captured: io.StringIO) -> None:
    # porch's own processor chain, writing JSON lines into the buffer.
    log = structlog.wrap_logger(
        structlog.PrintLogger(captured),
        processors=porch_logging.processors(json=True),
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    )
    log.info(
        "calling vendor Authorization: Bearer abcdef123456 with sk-live0123456789",
        password="hunter2",
        api_key="sk-abcdef0123",
        visitor_token="pv_abcdefghijk",
        csrf_token="zzz",
        prompt_tokens=812,
        headers={"Authorization": "Bearer x1y2z3w4v5", "Cookie": "porch_session=s3cr3t"},
        header_list=[("authorization", "Bearer qwertyuiop"), ("accept", "text/html")],
        note="cookie porch_session=abcdefgh; theme=dark",
        cipher="gAAAAABmZ0123456789abcdefghijklmnopqrstuvwxyz",
    )
    try:
        raise ValueError("bad key porch_sk_0123456789abcdef")
    except ValueError:
        log.exception("failed")
    out = captured.getvalue()
    for secret in (
        "abcdef123456",
        "sk-live0123456789",
        "hunter2",
        "sk-abcdef0123",
        "pv_abcdefghijk",
        "x1y2z3w4v5",
        "s3cr3t",
        "qwertyuiop",
        "abcdefgh;",
        "0123456789abcdef",
        "gAAAAABmZ0123",
    ):
        assert secret not in out, secret
    first = _lines(captured)[0]
    assert first["prompt_tokens"] == 812  # counts named like secrets are not secrets
    assert first["header_list"][1] == ["accept", "text/html"]
    assert "theme=dark" in first["note"]
