"""`POST /conversations/{id}/messages` takes a visitor or a person: the route's authenticator
decides by the credentials, and a person's message is a reply as from the inbox."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import BOTH, OwnerClient, signup, start_conversation

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


def _url(conversation_id: str) -> str:
    return f"/api/v1/conversations/{conversation_id}/messages"


async def test_a_person_posting_a_message_replies_as_an_agent(
    client: httpx.AsyncClient, owner: OwnerClient, widget: dict[str, Any]
) -> None:
    v = await start_conversation(client, widget["id"])
    by_cookie = await owner.post(_url(v.conversation_id), json={"content": "Hello from Ann"})
    assert by_cookie.status_code == 201, by_cookie.text
    body = by_cookie.json()
    assert body["status"] == "agent" and body["message"]["role"] == "agent"
    assert body["message"]["content"] == "Hello from Ann"
    key = (await owner.post("/api/v1/api-keys", json={"name": "bot"})).json()["key"]
    by_key = await client.post(
        _url(v.conversation_id),
        json={"content": "And from the API"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert by_key.status_code == 201, by_key.text
    history = await client.get(_url(v.conversation_id), headers=v.auth)
    agents = [m["content"] for m in history.json()["messages"] if m["role"] == "agent"]
    assert agents == ["Hello from Ann", "And from the API"]


@pytest.mark.settings(allow_signup=True)
async def test_a_person_needs_csrf_and_the_workspace(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient, widget: dict[str, Any]
) -> None:
    v = await start_conversation(client, widget["id"])
    no_csrf = await owner.http.post(_url(v.conversation_id), json={"content": "hi"})
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "csrf_failed"
    stranger = await signup(app)
    try:
        other = await stranger.post(_url(v.conversation_id), json={"content": "hi"})
        assert other.status_code == 404, other.text
    finally:
        await stranger.http.aclose()
    # A visitor token (or none) stays the visitor's route.
    anonymous = await client.post(_url(v.conversation_id), json={"content": "hi"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "visitor_token_required"
