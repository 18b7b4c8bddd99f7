"""Allowed origins on every visitor route: exact-origin CORS, frame-ancestors, refusals."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import OwnerClient, make_widget, start_conversation

SHOP = "https://shop.example"
EVIL = "https://evil.example"


async def test_preflight_echoes_only_allowed_origins(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await make_widget(owner, allowed_origins=[SHOP])
    url = f"/api/v1/widgets/{w['id']}/conversations"
    ask = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    good = await client.options(url, headers={"Origin": SHOP, **ask})
    assert good.status_code == 204
    assert good.headers["access-control-allow-origin"] == SHOP
    assert "POST" in good.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in good.headers
    assert "Origin" in good.headers["vary"]
    bad = await client.options(url, headers={"Origin": EVIL, **ask})
    assert "access-control-allow-origin" not in bad.headers
    assert "Origin" in bad.headers["vary"]


async def test_responses_carry_the_exact_origin_only_when_allowed(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await make_widget(owner, allowed_origins=[SHOP])
    url = f"/api/v1/widgets/{w['id']}/conversations"
    ok = await client.post(url, json={}, headers={"Origin": SHOP})
    assert ok.status_code == 201
    assert ok.headers["access-control-allow-origin"] == SHOP
    assert ok.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in ok.headers
    token = ok.json()["visitor_token"]
    history = await client.get(
        f"/api/v1/conversations/{ok.json()['conversation_id']}/messages",
        headers={"Origin": SHOP, "Authorization": f"Bearer {token}"},
    )
    assert history.headers["access-control-allow-origin"] == SHOP

    refused = await client.post(url, json={}, headers={"Origin": EVIL})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in refused.headers
    # A widget open to every site still names the one origin, never "*".
    open_widget = await make_widget(owner)
    anyone = await client.post(
        f"/api/v1/widgets/{open_widget['id']}/conversations", json={}, headers={"Origin": EVIL}
    )
    assert anyone.headers["access-control-allow-origin"] == EVIL
    for _ in range(2):  # cold, then from the fast path
        public = await client.get(
            f"/api/v1/widgets/{open_widget['id']}/public", headers={"Origin": EVIL}
        )
        assert public.headers["access-control-allow-origin"] == EVIL
        assert public.headers["vary"] == "Origin"


async def test_an_unknown_widget_stays_readable(client: httpx.AsyncClient) -> None:
    # No widget, no origin list to keep anyone from: the loader may read the 404 and explain.
    missing = await client.get(
        "/api/v1/widgets/00000000-0000-4000-8000-000000000000/public", headers={"Origin": EVIL}
    )
    assert missing.status_code == 404
    assert missing.headers["access-control-allow-origin"] == EVIL


async def test_owner_routes_get_no_cors(owner: OwnerClient) -> None:
    resp = await owner.get("/api/v1/widgets", headers={"Origin": EVIL})
    assert resp.status_code == 200
    assert "access-control-allow-origin" not in resp.headers
    pre = await owner.http.options(
        "/api/v1/widgets",
        headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in pre.headers


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/conversations/{cid}/messages", {"content": "hi"}),
        ("GET", "/api/v1/conversations/{cid}/messages", None),
        ("POST", "/api/v1/conversations/{cid}/handoff", {}),
        ("GET", "/api/v1/widgets/{wid}/public", None),
        ("POST", "/api/v1/widgets/{wid}/conversations", {}),
        ("GET", "/api/v1/widgets/{wid}/visitor/conversations", None),
        ("GET", "/api/config?agentId={wid}", None),
        ("POST", "/chat/message", {"message": "hi", "widgetId": "{wid}"}),
        ("GET", "/chat/history/{token}", None),
    ],
)
async def test_every_visitor_route_refuses_other_sites(
    owner: OwnerClient,
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, str] | None,
) -> None:
    w = await make_widget(owner, allowed_origins=[SHOP], features={"handoff": True})
    v = await start_conversation(client, w["id"])
    fill = {"cid": v.conversation_id, "wid": w["id"], "token": v.token}
    url = path.format(**fill)
    if body is not None:
        body = {k: val.format(**fill) for k, val in body.items()}
    resp = await client.request(method, url, json=body, headers={"Origin": EVIL, **v.auth})
    assert resp.status_code == 403, (url, resp.text)
    error = resp.json()["error"]
    # The compatibility routes give `error` as the message, porch's code beside it.
    code = error["code"] if isinstance(error, dict) else resp.json()["code"]
    assert code == "origin_not_allowed"
    assert "access-control-allow-origin" not in resp.headers


async def test_chat_page_may_be_framed_only_by_allowed_origins(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await make_widget(owner, allowed_origins=[SHOP, "http://localhost:3000"])
    csp = (await client.get(f"/w/{w['id']}")).headers["content-security-policy"]
    ancestors = next(d for d in csp.split("; ") if d.startswith("frame-ancestors"))
    assert ancestors.split()[1:] == ["'self'", SHOP, "http://localhost:3000"]
    assert "'unsafe-inline'" not in csp and "script-src 'self'" in csp
