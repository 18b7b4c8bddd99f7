"""Identity tokens: an HS256 JWT signed with the widget's identity secret, `sub` the user id,
its other claims verified attributes. Every bad token is refused with its own code."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from sqlalchemy import select

from porch.models import Conversation, ConversationEvent
from tests.conftest import BOTH, OwnerClient, make_widget
from tests.security.identity_tokens import identity_secret, mint, start
from tests.security.test_identity import sign

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


async def _row(app: FastAPI, conversation_id: str) -> Any:
    async with app.state.porch.engine.connect() as conn:
        return (
            await conn.execute(
                select(
                    Conversation.user_external_id,
                    Conversation.user_verified,
                    Conversation.user_claims,
                    Conversation.user_name,
                    Conversation.user_email,
                ).where(Conversation.id == uuid.UUID(conversation_id))
            )
        ).one()


def _refused(resp: httpx.Response, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["code"] == code and error["message"]
    return str(error["message"])


async def test_a_valid_token_verifies_the_user_and_keeps_its_claims(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await make_widget(owner, require_identity=False)
    secret = await identity_secret(owner, w["id"])
    token = mint(secret, "cust-7", email="ann@example.com", plan="pro", seats=3, beta=True)
    made = await start(client, w["id"], identity_token=token)
    assert made.status_code == 201, made.text
    row = await _row(app, made.json()["conversation_id"])
    assert row.user_external_id == "cust-7" and row.user_verified is True
    assert row.user_claims == {"email": "ann@example.com", "plan": "pro", "seats": 3, "beta": True}
    # The inbox and `conversation.created` name the user; the claims stay with the conversation.
    async with app.state.porch.engine.connect() as conn:
        data = await conn.scalar(
            select(ConversationEvent.data).where(
                ConversationEvent.conversation_id == uuid.UUID(made.json()["conversation_id"]),
                ConversationEvent.type == "conversation.created",
            )
        )
    assert data["conversation"]["user"]["id"] == "cust-7"
    assert "pro" not in str(data) and "ann@example.com" not in str(data)
    # Beside a user of the same id: its name and email are shown, the claims are the token's.
    both = await start(
        client,
        w["id"],
        identity_token=token,
        user={"id": "cust-7", "name": "Ann", "email": "typed@example.com"},
    )
    assert both.status_code == 201, both.text
    row = await _row(app, both.json()["conversation_id"])
    assert (row.user_name, row.user_email) == ("Ann", "typed@example.com")
    assert row.user_claims["email"] == "ann@example.com" and row.user_verified is True
    # A hash alone verifies the id and signs no attributes; unsigned fields stay display-only.
    hashed = await start(
        client, w["id"], user={"id": "cust-7", "hash": sign(secret, "cust-7"), "email": "x@y.z"}
    )
    row = await _row(app, hashed.json()["conversation_id"])
    assert row.user_verified is True and row.user_claims is None


async def test_a_widget_that_requires_identity_takes_a_token(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await make_widget(owner)
    secret = await identity_secret(owner, w["id"])
    assert (
        await owner.patch(f"/api/v1/widgets/{w['id']}", json={"require_identity": True})
    ).status_code == 200
    _refused(await start(client, w["id"]), 401, "identity_required")
    assert (await start(client, w["id"], identity_token=mint(secret, "u1"))).status_code == 201


# The test signs an HS512 token with the widget's 47-byte secret to see it refused.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_every_bad_token_is_refused_with_its_own_code(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await make_widget(owner)
    secret = await identity_secret(owner, w["id"])
    now = int(time.time())
    good = {"sub": "u1", "exp": now + 600}
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    async def refused(token: str, status: int, code: str, **body: Any) -> str:
        return _refused(await start(client, w["id"], identity_token=token, **body), status, code)

    # Only HS256, whatever the header says: unsigned, another HMAC, a public-key algorithm.
    unsigned = jwt.encode(good, None, algorithm="none")
    assert "HS256" in await refused(unsigned, 403, "identity_token_algorithm")
    await refused(jwt.encode(good, secret, algorithm="HS512"), 403, "identity_token_algorithm")
    await refused(jwt.encode(good, rsa_key, algorithm="RS256"), 403, "identity_token_algorithm")
    # The right algorithm with another secret, or a payload changed after signing.
    await refused(jwt.encode(good, "pis_" + "x" * 43, algorithm="HS256"), 403, "identity_invalid")
    head, _, tail = mint(secret, "u1").split(".")
    forged = jwt.encode({**good, "sub": "admin"}, "whatever-" * 4, algorithm="HS256")
    await refused(f"{head}.{forged.split('.')[1]}.{tail}", 403, "identity_invalid")
    # Time: expired (beyond the minute's leeway), not valid yet.
    assert "exp" in await refused(mint(secret, "u1", ttl=-120), 401, "identity_token_expired")
    assert (await start(client, w["id"], identity_token=mint(secret, "u1", ttl=-20))).is_success
    await refused(mint(secret, "u1", nbf=now + 600), 401, "identity_token_not_yet_valid")
    await refused(mint(secret, "u1", iat=now + 600), 401, "identity_token_not_yet_valid")
    # Required claims.
    assert "sub" in await refused(mint(secret, None), 403, "identity_token_incomplete")
    no_exp = jwt.encode({"sub": "u1"}, secret, algorithm="HS256")
    assert "exp" in await refused(no_exp, 403, "identity_token_incomplete")
    # The token's user against the user sent beside it.
    await refused(mint(secret, "u1"), 403, "identity_mismatch", user={"id": "u2"})
    wrong_hash = {"id": "u1", "hash": sign(secret, "u2")}
    await refused(mint(secret, "u1"), 403, "identity_invalid", user=wrong_hash)
    # Attributes: plain values, bounded in number and size.
    await refused(mint(secret, "u1", address={"city": "Oslo"}), 400, "identity_token_claims")
    await refused(mint(secret, "u1", tags=["a"]), 400, "identity_token_claims")
    await refused(mint(secret, "u1", note="x" * 1001), 400, "identity_token_claims")
    await refused(mint(secret, "u1", user_id="u9"), 400, "identity_token_claims")
    many = {f"c{i}": i for i in range(31)}
    await refused(mint(secret, "u1", **many), 400, "identity_token_claims")
    await refused(
        jwt.encode({**good, "sub": 42}, secret, algorithm="HS256"), 400, "identity_token_claims"
    )
    await refused(
        jwt.encode({**good, "sub": "a\nb"}, secret, algorithm="HS256"), 400, "identity_token_claims"
    )
    soon = jwt.encode({"sub": "u1", "exp": "soon"}, secret, algorithm="HS256")
    assert "exp" in await refused(soon, 400, "identity_token_malformed")
    # Not a JWT at all.
    await refused("abc.def.ghi", 400, "identity_token_malformed")
    not_token = await start(client, w["id"], identity_token="not a token")
    assert not_token.status_code == 400 and not_token.json()["error"]["code"]
    # A widget without a secret cannot check a token: said, not read as anonymous.
    bare = await make_widget(owner)
    made = await start(client, bare["id"], identity_token=mint(secret, "u1"))
    _refused(made, 409, "identity_secret_missing")


async def test_the_token_lists_and_resumes_the_users_conversations(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await make_widget(owner)
    secret = await identity_secret(owner, w["id"])
    first = await start(client, w["id"], identity_token=mint(secret, "cust-9", plan="free"))
    cid = first.json()["conversation_id"]
    url = f"/api/v1/widgets/{w['id']}/visitor/conversations"
    listed = await client.get(url, headers={"X-Porch-Identity-Token": mint(secret, "cust-9")})
    assert listed.status_code == 200, listed.text
    assert [c["conversation_id"] for c in listed.json()["conversations"]] == [cid]
    stale = await client.get(
        url, headers={"X-Porch-Identity-Token": mint(secret, "cust-9", ttl=-600)}
    )
    _refused(stale, 401, "identity_token_expired")
    other = await client.get(url, headers={"X-Porch-Identity-Token": mint(secret, "cust-1")})
    assert other.json()["conversations"] == []
    # Resumed with a newer token: the conversation takes the attributes signed now.
    resumed = await client.post(
        f"{url}/{cid}/resume", json={"identity_token": mint(secret, "cust-9", plan="pro")}
    )
    assert resumed.status_code == 201, resumed.text
    assert (await _row(app, cid)).user_claims == {"plan": "pro"}
    theirs = await client.post(f"{url}/{cid}/resume", json={"identity_token": mint(secret, "x")})
    _refused(theirs, 404, "conversation_not_found")
    _refused(await client.post(f"{url}/{cid}/resume", json={}), 401, "identity_required")


async def test_browsers_may_send_the_token_header(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await make_widget(owner, allowed_origins=["https://shop.example"])
    pre = await client.options(
        f"/api/v1/widgets/{w['id']}/visitor/conversations",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-porch-identity-token",
        },
    )
    assert pre.status_code == 204
    assert "X-Porch-Identity-Token" in pre.headers["access-control-allow-headers"]
