"""CSRF: a cookie-signed-in write without the session's X-CSRF-Token is refused."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import OwnerClient, make_widget


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/widgets", {"name": "Forged"}),
        ("PATCH", "/api/v1/widgets/{wid}", {"title": "Forged"}),
        ("DELETE", "/api/v1/widgets/{wid}", None),
        ("POST", "/api/v1/widgets/{wid}/identity-secret", None),
        ("PUT", "/api/v1/widgets/{wid}/provider-key", {"api_key": "sk-forged-key-123"}),
        ("POST", "/api/v1/api-keys", {"name": "forged"}),
    ],
)
async def test_cookie_writes_need_the_csrf_token(
    owner: OwnerClient, method: str, path: str, body: dict[str, str] | None
) -> None:
    w = await make_widget(owner)
    url = path.format(wid=w["id"])
    for headers in ({}, {"X-CSRF-Token": "not-the-token"}):
        # A cross-site form or fetch rides on the cookie but cannot read the token.
        resp = await owner.http.request(method, url, json=body, headers=headers)
        assert resp.status_code == 403, (url, resp.text)
        assert resp.json()["error"]["code"] == "csrf_failed"
    after = (await owner.get(f"/api/v1/widgets/{w['id']}")).json()
    assert after["title"] != "Forged" and after["identity_secret_set"] is False
    assert after["provider_api_key_last4"] is None
    ok = await owner.http.request(method, url, json=body, headers={"X-CSRF-Token": owner.csrf})
    assert ok.status_code < 400, ok.text


async def test_api_keys_need_no_csrf_token(owner: OwnerClient, client: httpx.AsyncClient) -> None:
    key = (await owner.post("/api/v1/api-keys", json={"name": "automation"})).json()["key"]
    # A script with the key and no cookie: nothing to forge, so no token to send.
    resp = await client.post(
        "/api/v1/widgets",
        json={"name": "From a script"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert resp.status_code == 201, resp.text
