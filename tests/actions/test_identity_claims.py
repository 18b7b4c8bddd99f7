"""Signed attributes in conversations without a model: an `identity.email` source takes the
identity token's email, never the visitor's; a required claim the site did not sign is a
"sign in first" answer and no request; a confirmation runs with the claim too."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from porch.actions.runner import SIGN_IN_TEXT
from tests.actions.helpers import cancel_order, create, order_status
from tests.actions.target import Target
from tests.actions.test_conversation import actions, reply, say
from tests.conftest import BOTH, OwnerClient, VisitorSession, make_widget, start_conversation
from tests.security.identity_tokens import identity_secret, mint

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)
BY_EMAIL = {"email": "identity.email"}


async def signed_visitor(
    owner: OwnerClient, client: httpx.AsyncClient, widget_id: str, **claims: Any
) -> VisitorSession:
    secret = await identity_secret(owner, widget_id)
    token = mint(secret, "cust-42", **claims)
    return await start_conversation(client, widget_id, identity_token=token)


async def test_the_signed_email_reaches_the_api_not_the_one_the_visitor_types(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    with Target() as target:
        await create(owner, widget["id"], order_status(target.base, sources=BY_EMAIL))
        v = await signed_visitor(owner, client, widget["id"], email="alice@example.com")
        events = await say(client, v, "Where is my order A123? I'm bob@example.com")
    assert reply(events) == "Order A123 is shipped, arriving Monday."
    (seen,) = target.requests
    assert seen.path == "/orders/A123" and seen.query["email"] == ["alice@example.com"]
    calls = (await owner.get(f"/api/v1/widgets/{widget['id']}/action-calls")).json()["calls"]
    (call,) = calls
    assert call["sent_arguments"]["email"] == "alice@example.com"
    assert call["argument_sources"]["email"] == "identity.email"


async def test_unsigned_email_does_not_count_and_nothing_is_sent(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    with Target() as target:
        await create(owner, widget["id"], order_status(target.base, sources=BY_EMAIL))
        # Verified (a token), but without an email claim; the page's user.email is unsigned.
        secret = await identity_secret(owner, widget["id"])
        v = await start_conversation(
            client,
            widget["id"],
            identity_token=mint(secret, "cust-42", plan="pro"),
            user={"id": "cust-42", "email": "alice@example.com"},
        )
        events = await say(client, v, "Where is my order A123?")
        anonymous = await start_conversation(client, widget["id"])
        refused = await say(client, anonymous, "Where is my order A123?")
    assert reply(events) == SIGN_IN_TEXT and reply(refused) == SIGN_IN_TEXT
    assert [a["state"] for a in actions(events)] == ["failed"]
    assert target.requests == []


async def test_a_confirmed_write_is_sent_with_the_signed_claim(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    with Target() as target:
        definition = cancel_order(
            target.base,
            body={"order": "{{order_id}}", "account": "{{account}}"},
            parameters={
                "type": "object",
                "properties": {
                    "order_id": {"type": "string", "pattern": "^[A-Z][0-9]{3}$"},
                    "account": {"type": "string"},
                },
                "required": ["order_id", "account"],
            },
            sources={"account": "identity.account_id"},
        )
        await create(owner, widget["id"], definition)
        v = await signed_visitor(owner, client, widget["id"], account_id="acct-991")
        first = await say(client, v, "Please cancel my order C789 for account acct-000")
        (card,) = actions(first)
        assert card["state"] == "confirm" and card["arguments"] == {"order_id": "C789"}
        assert target.requests == []
        done = await say(client, v, "yes")
    assert reply(done) == "Order C789 is cancelled."
    (seen,) = target.requests
    assert seen.json() == {"order": "C789", "account": "acct-991"}
