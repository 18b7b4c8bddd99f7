"""Widget CRUD, validation, tenancy, public config and the embed snippet."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import BOTH, OwnerClient, make_widget, ops_get, signup

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


async def test_create_read_update_delete(owner: OwnerClient) -> None:
    w = await make_widget(
        owner,
        title="Acme help",
        allowed_origins=["https://shop.example/"],
        limits={"visitor_messages_per_minute": 5},
    )
    assert w["title"] == "Acme help"
    assert w["allowed_origins"] == ["https://shop.example"]
    assert w["limits"]["visitor_messages_per_minute"] == 5
    assert w["theme"]["primary_color"].startswith("#")
    assert w["warnings"] == []

    patched = await owner.patch(
        f"/api/v1/widgets/{w['id']}",
        json={
            "theme": {"primary_color": "#ff0000"},
            "system_prompt": "Be brief.",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "temperature": 0.5,
            "history_limit": 4,
        },
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["theme"]["primary_color"] == "#ff0000"
    assert body["theme"]["border_radius"] == 12  # merged, not replaced
    assert (body["provider"], body["model"], body["history_limit"]) == ("openai", "gpt-4o-mini", 4)

    listed = (await owner.get("/api/v1/widgets")).json()["widgets"]
    assert [x["id"] for x in listed] == [w["id"]]
    assert (await owner.delete(f"/api/v1/widgets/{w['id']}")).status_code == 204
    assert (await owner.get(f"/api/v1/widgets/{w['id']}")).status_code == 404


async def test_wildcard_origin_warns(owner: OwnerClient) -> None:
    w = await make_widget(owner)
    assert w["allowed_origins"] == ["*"]
    assert any("any website" in warning for warning in w["warnings"])


@pytest.mark.parametrize(
    "fields",
    [
        {"allowed_origins": ["shop.example"]},
        {"allowed_origins": ["https://shop.example/path"]},
        {"allowed_origins": ["*", "https://a.example"]},
        {"allowed_origins": []},
        {"theme": {"primary_color": "red"}},
        {"theme": {"font_family": "x; } body { display:none"}},
        {"temperature": 3},
        {"max_tokens": 0},
        {"provider": "skynet"},
        {"limits": {"visitor_messages_per_minute": 0}},
        {"suggested_questions": ["ok"] * 9},
        {"unknown_field": 1},
    ],
)
async def test_invalid_fields_rejected(owner: OwnerClient, fields: dict[str, object]) -> None:
    resp = await owner.post("/api/v1/widgets", json={"name": "x", **fields})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "validation_error"


async def test_other_workspace_sees_404_not_403(owner: OwnerClient, app: FastAPI) -> None:
    w = await make_widget(owner)
    app.state.settings.allow_signup = True
    stranger = await signup(app)
    try:
        for call in (
            stranger.get(f"/api/v1/widgets/{w['id']}"),
            stranger.patch(f"/api/v1/widgets/{w['id']}", json={"title": "pwned"}),
            stranger.delete(f"/api/v1/widgets/{w['id']}"),
            stranger.get(f"/api/v1/widgets/{w['id']}/embed"),
            stranger.get(f"/api/v1/widgets/{w['id']}/sources"),
        ):
            resp = await call
            assert resp.status_code == 404, resp.text
        assert (await stranger.get("/api/v1/widgets")).json()["widgets"] == []
    finally:
        await stranger.http.aclose()
        app.state.settings.allow_signup = False


async def test_public_config_cached_with_etag_and_invalidated(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await make_widget(
        owner, title="First", suggested_questions=["How much?"], system_prompt="SECRET INSTRUCTIONS"
    )
    url = f"/api/v1/widgets/{w['id']}/public"
    first = await client.get(url)
    assert first.status_code == 200
    body = first.json()
    assert body["title"] == "First" and body["suggested_questions"] == ["How much?"]
    assert set(body["features"]) == {"sources", "feedback", "handoff", "voice"}
    assert "SECRET" not in first.text and "system_prompt" not in body
    etag = first.headers["etag"]
    assert (await client.get(url, headers={"If-None-Match": etag})).status_code == 304

    await owner.patch(f"/api/v1/widgets/{w['id']}", json={"title": "Second"})
    second = await client.get(url, headers={"If-None-Match": etag})
    assert second.status_code == 200 and second.json()["title"] == "Second"


async def test_unknown_widget_public_config_is_404(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/v1/widgets/00000000-0000-7000-8000-000000000000/public")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "widget_not_found"
    bad = await client.get("/api/v1/widgets/not-a-uuid/public")
    assert bad.status_code == 400


async def test_embed_snippet(owner: OwnerClient) -> None:
    w = await make_widget(owner)
    snippet = (await owner.get(f"/api/v1/widgets/{w['id']}/embed")).json()["snippet"]
    assert snippet == (
        f'<script src="http://127.0.0.1:8000/widget.js" data-widget-id="{w["id"]}" async></script>'
    )


async def test_cached_public_config_served_alike_by_the_fast_path(
    owner: OwnerClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    w = await make_widget(owner, title="Fast")
    url = f"/api/v1/widgets/{w['id']}/public"
    site = {"Origin": "https://shop.example"}
    cold = await client.get(url, headers={"X-Request-ID": "cold-1", **site})  # loads the cache
    warm = await client.get(url, headers={"X-Request-ID": "warm-1", **site})  # before routing
    assert app.state.porch.widgets.peek(__import__("uuid").UUID(w["id"])) is not None
    assert warm.content == cold.content
    for header in (
        "content-type",
        "etag",
        "cache-control",
        "x-content-type-options",
        "access-control-allow-origin",
        "vary",
    ):
        assert warm.headers[header] == cold.headers[header], header
    assert warm.headers["x-request-id"] == "warm-1"
    # The exact origin, never "*".
    assert warm.headers["access-control-allow-origin"] == "https://shop.example"
    head = await client.head(url)
    assert head.status_code == 200 and head.content == b""
    metrics = (await ops_get(app, "/metrics")).text
    assert 'route="/api/v1/widgets/{widget_id}/public",status="200"} 2.0' in metrics


async def test_deleting_a_widget_leaves_no_search_rows(owner: OwnerClient, app: FastAPI) -> None:
    from sqlalchemy import text

    w = await make_widget(owner)
    await owner.post(
        f"/api/v1/widgets/{w['id']}/sources",
        json={"type": "text", "title": "Plans", "text": "The Pro plan is $12."},
    )
    assert (await owner.delete(f"/api/v1/widgets/{w['id']}")).status_code == 204
    async with app.state.porch.engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM chunks")) == 0
        if conn.dialect.name == "sqlite":
            assert await conn.scalar(text("SELECT count(*) FROM chunk_fts")) == 0
