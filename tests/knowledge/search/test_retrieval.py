"""One retrieval function: hybrid search, the relevance threshold, filters and context rules."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI

from tests.conftest import VECTORS, OwnerClient, make_widget, start_conversation
from tests.knowledge.conftest import add_source, search

pytestmark = pytest.mark.parametrize("backend", VECTORS, indirect=True)

SHIPPING = """# Shipping
## Delivery times
Parcels inside the EU arrive within three to five working days. Express delivery arrives
the next working day if you order before noon.

## Customs
Orders to Switzerland and Norway may be charged import duties on arrival.
"""
ACCOUNT = """# Your account
## Two-factor authentication
Turn on two-factor authentication under Settings > Security. If you lose your phone, use
one of the ten backup codes; error code AUTH-7731 means the backup code was already used.
"""


async def setup(owner: OwnerClient) -> tuple[str, str, str]:
    widget = await make_widget(owner)
    shipping = await add_source(
        owner,
        widget["id"],
        type="text",
        title="Shipping",
        text=SHIPPING,
        url="https://shop.example/help/shipping",
    )
    account = await add_source(
        owner,
        widget["id"],
        type="text",
        title="Account",
        text=ACCOUNT,
        url="https://shop.example/account/help",
    )
    return widget["id"], shipping, account


async def test_text_is_searchable_on_return_by_meaning_and_by_code(owner: OwnerClient) -> None:
    widget_id, shipping, account = await setup(owner)
    # No word in common with the passage: only the embeddings can find it.
    hits = await search(owner, widget_id, "how long until my package gets here?")
    assert hits[0]["source_id"] == shipping and "three to five" in hits[0]["text"]
    assert hits[0]["heading"] == "Shipping > Delivery times"
    # An exact error code: the keyword side finds it even though it means nothing to a model.
    hits = await search(owner, widget_id, "AUTH-7731")
    assert hits[0]["source_id"] == account
    # Nothing relevant: the assistant gets nothing and can say it does not know.
    assert await search(owner, widget_id, "what is the capital of Mongolia") == []


async def test_filters(owner: OwnerClient) -> None:
    widget_id, shipping, account = await setup(owner)
    hits = await search(owner, widget_id, "delivery", source_id=account)
    assert all(h["source_id"] == account for h in hits)
    hits = await search(
        owner, widget_id, "lost phone backup codes", url_prefix="https://shop.example/help/"
    )
    assert all(h["url"].startswith("https://shop.example/help/") for h in hits)
    hits = await search(owner, widget_id, "lost phone backup codes", source_id=[shipping, account])
    assert hits[0]["source_id"] == account


async def test_context_rules_crud_and_effect(
    app: FastAPI, owner: OwnerClient, client: object
) -> None:
    widget_id, shipping, account = await setup(owner)
    base = f"/api/v1/widgets/{widget_id}/context-rules"
    resp = await owner.post(
        base,
        json={
            "match": "/checkout*",
            "instructions": "Mention free shipping over 50 euros.",
            "source_ids": [shipping],
            "mode": "only",
        },
    )
    assert resp.status_code == 201, resp.text
    rule = resp.json()
    resp = await owner.post(base, json={"match": "/x", "source_ids": [str(uuid.uuid4())]})
    assert resp.status_code == 404
    resp = await owner.post(base, json={"match": ""})
    assert resp.status_code == 400
    rules = (await owner.get(base)).json()["rules"]
    assert [r["id"] for r in rules] == [rule["id"]]

    # On /checkout only the shipping source is searched, and the instructions come along.
    resp = await owner.get(
        f"/api/v1/widgets/{widget_id}/search",
        params={"q": "two-factor backup codes", "page_url": "https://shop.example/checkout/pay"},
    )
    body = resp.json()
    assert body["instructions"] == ["Mention free shipping over 50 euros."]
    assert all(h["source_id"] == shipping for h in body["results"])
    # Elsewhere, no rule applies.
    hits = await search(
        owner, widget_id, "two-factor backup codes", page_url="https://shop.example/"
    )
    assert hits[0]["source_id"] == account

    # The chat path reads the conversation's page URL.
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    visitor = await start_conversation(client, widget_id, page_url="https://shop.example/checkout")
    state = app.state.porch
    async with state.autocommit.connect() as conn:
        hits2 = await state.retriever.search(
            conn,
            uuid.UUID(widget_id),
            "backup codes",
            5,
            conversation_id=uuid.UUID(visitor.conversation_id),
        )
    assert hits2.instructions == ("Mention free shipping over 50 euros.",)
    assert all(str(h.source_id) == shipping for h in hits2)

    assert (await owner.delete(f"{base}/{rule['id']}")).status_code == 204
    assert (await owner.delete(f"{base}/{rule['id']}")).status_code == 404
    hits = await search(owner, widget_id, "backup codes", page_url="https://shop.example/checkout")
    assert hits[0]["source_id"] == account


async def test_prefer_rule_boosts(owner: OwnerClient) -> None:
    widget_id, shipping, account = await setup(owner)
    await owner.post(
        f"/api/v1/widgets/{widget_id}/context-rules",
        json={"match": "https://shop.example/account/*", "source_ids": [account]},
    )
    question = "what happens when I order before noon"
    plain = await search(owner, widget_id, question, page_url="https://shop.example/")
    boosted = await search(owner, widget_id, question, page_url="https://shop.example/account/me")
    assert plain[0]["source_id"] == shipping
    score = {h["chunk_id"]: h["score"] for h in plain}
    assert all(
        h["score"] > score.get(h["chunk_id"], 0) for h in boosted if h["source_id"] == account
    )


@pytest.mark.settings(allow_signup=True)
async def test_other_workspaces_see_nothing(app: FastAPI, owner: OwnerClient) -> None:
    from tests.conftest import signup

    widget_id, shipping, _ = await setup(owner)
    other = await signup(app)
    try:
        assert (
            await other.get(f"/api/v1/widgets/{widget_id}/search", params={"q": "x"})
        ).status_code == 404
        assert (await other.get(f"/api/v1/sources/{shipping}")).status_code == 404
        assert (await other.post(f"/api/v1/sources/{shipping}/resync")).status_code == 404
        assert (await other.get(f"/api/v1/widgets/{widget_id}/context-rules")).status_code == 404
    finally:
        await other.http.aclose()


async def test_bad_source_requests(owner: OwnerClient) -> None:
    widget = await make_widget(owner)
    url = f"/api/v1/widgets/{widget['id']}/sources"
    for body in (
        {"type": "url"},
        {"type": "url", "url": "https://x.example", "crawl": {"max_pages": 0}},
        {"type": "carrier-pigeon", "url": "https://x.example"},
        {"type": "sitemap", "url": "https://x.example/s.xml", "schedule": "hourly"},
    ):
        resp = await owner.post(url, json=body)
        assert resp.status_code == 400, (body, resp.text)
    resp = await owner.post(url, content=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "malformed_json"
