"""Health, readiness, status, metrics, request ids and the error shape everywhere."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import BOTH, VisitorSession, ops_get

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


async def test_liveness_and_readiness(client: httpx.AsyncClient) -> None:
    for path in ("/health", "/live", "/healthz"):
        resp = await client.get(path)
        assert resp.status_code == 200 and resp.json() == {"status": "ok"}
    for path in ("/ready", "/readyz"):
        resp = await client.get(path)
        assert resp.status_code == 200, resp.text
        assert resp.json()["checks"]["database"] == "ok"


async def test_status_shows_versions_and_breakers(app: FastAPI) -> None:
    body = (await ops_get(app, "/status")).json()
    assert body["status"] == "ready" and body["version"]
    assert body["uptime_seconds"] >= 0 and isinstance(body["breakers"], list)


async def test_request_id_echoed_or_made(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    made = await client.get("/health", headers={"X-Request-ID": "bad id\twith junk"})
    assert made.headers["x-request-id"] != "bad id\twith junk"
    assert len(made.headers["x-request-id"]) == 32


async def test_unknown_route_and_method_in_error_shape(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nowhere", headers={"X-Request-ID": "r1"})
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"code": "not_found", "message": "No such route.", "request_id": "r1"}
    }
    wrong = await client.put("/health")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


async def test_metrics_count_requests_and_replies(
    client: httpx.AsyncClient, visitor: VisitorSession, app: FastAPI
) -> None:
    await client.post(
        f"/api/v1/conversations/{visitor.conversation_id}/messages",
        json={"content": "Pro plan price?"},
        headers=visitor.auth,
    )
    text = (await ops_get(app, "/metrics")).text
    assert (
        'porch_http_requests_total{method="POST",route="/api/v1/conversations/'
        '{conversation_id}/messages",status="200"} 1.0' in text
    )
    assert 'porch_chat_messages_total{status="complete"} 1.0' in text
    assert "porch_http_request_duration_seconds_bucket" in text


async def test_security_headers(client: httpx.AsyncClient) -> None:
    resp = await client.get("/health")
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["referrer-policy"] == "strict-origin-when-cross-origin"


async def test_openapi_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/conversations/{conversation_id}/messages" in spec["paths"]
    assert "/api/v1/widgets/{widget_id}/public" in spec["paths"]
    assert (await client.get("/docs")).status_code == 200
