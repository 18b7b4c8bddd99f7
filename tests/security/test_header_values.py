"""Values an owner sets that end up in headers and request lines: allowed origins (CORS,
CSP frame-ancestors) take scheme://host[:port] only, and webhook URLs and descriptions
take no line break, each refused with a 400 that names the entry."""

from __future__ import annotations

import pytest

from tests.conftest import BOTH, OwnerClient, make_widget

pytestmark = [
    pytest.mark.parametrize("backend", BOTH, indirect=True),
    pytest.mark.settings(crawl_allow_private_networks=True),
]

BAD_ORIGINS = [
    "https://a.example; script-src *",
    "https://a.example script-src",
    "https://a.example/path",
    "https://a.example?x=1",
    "https://a.example#top",
    "https://user@a.example",
    "https://*.example.com",
    "https://a.example:99999",
    "ftp://a.example",
    "a.example",
    "https://a.example\r\nSet-Cookie: x=1",
    "https://[not-ipv6]",
    "",
]


async def test_each_allowed_origin_is_an_origin(owner: OwnerClient) -> None:
    w = await make_widget(owner)
    for bad in BAD_ORIGINS:
        origins = ["https://good.example", bad]
        for resp in (
            await owner.patch(f"/api/v1/widgets/{w['id']}", json={"allowed_origins": origins}),
            await owner.post("/api/v1/widgets", json={"name": "x", "allowed_origins": origins}),
        ):
            assert resp.status_code == 400, (bad, resp.text)
            error = resp.json()["error"]
            assert error["code"] == "validation_error"
            assert [d["field"] for d in error["details"]] == ["allowed_origins.1"], (bad, error)
    kept = (await owner.get(f"/api/v1/widgets/{w['id']}")).json()["allowed_origins"]
    assert kept == ["*"]
    good = await owner.patch(
        f"/api/v1/widgets/{w['id']}",
        json={
            "allowed_origins": [
                "HTTPS://Shop.Example:443/",
                "http://localhost:3000",
                "http://[::1]:8080",
            ]
        },
    )
    assert good.json()["allowed_origins"] == [
        "https://shop.example",
        "http://localhost:3000",
        "http://[::1]:8080",
    ]


@pytest.mark.parametrize("bad", ["\r\n", "\n", "\r", "\t", "\x00"])
async def test_webhook_urls_and_descriptions_take_no_line_break(
    owner: OwnerClient, bad: str
) -> None:
    url = f"http://127.0.0.1:9/hook{bad}X-Injected: 1"
    created = await owner.post("/api/v1/webhooks", json={"url": url, "events": ["message.created"]})
    assert created.status_code == 400, created.text
    assert created.json()["error"]["details"][0]["field"] == "url"
    described = await owner.post(
        "/api/v1/webhooks",
        json={
            "url": "http://127.0.0.1:9/hook",
            "events": ["message.created"],
            "description": f"a{bad}b",
        },
    )
    assert described.status_code == 400, described.text
    hook = await owner.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["message.created"]}
    )
    assert hook.status_code == 201
    changed = await owner.patch(f"/api/v1/webhooks/{hook.json()['id']}", json={"url": url})
    assert changed.status_code == 400
    assert (await owner.get("/api/v1/webhooks")).json()["webhooks"][0]["url"].endswith("/hook")
    await owner.delete(f"/api/v1/webhooks/{hook.json()['id']}")
