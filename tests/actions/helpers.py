"""Action definitions the tests share: an order-status lookup and an order cancellation."""

from __future__ import annotations

from typing import Any

from tests.conftest import OwnerClient


def order_status(base: str, **over: Any) -> dict[str, Any]:
    return {
        "slug": "order_status",
        "title": "Look up an order",
        "description": "Where an order is and when it arrives.",
        "examples": ["where is my order", "track my order", "order status"],
        "method": "GET",
        "url": base + "/orders/{{order_id}}?email={{email}}",
        "parameters": {
            "type": "object",
            "properties": {
                "order_id": {
                    "type": "string",
                    "description": "your order number (like A123)",
                    "pattern": "^[A-Z][0-9]{3}$",
                },
                "email": {"type": "string"},
            },
            "required": ["order_id", "email"],
        },
        "sources": {"email": "identity.user_id"},
        "response_fields": ["order.status", "order.eta"],
        "result_template": "Order {{order_id}} is {{response.order.status}}, "
        "arriving {{response.order.eta}}.",
        "allowed_hosts": ["127.0.0.1"],
        **over,
    }


def cancel_order(base: str, **over: Any) -> dict[str, Any]:
    return {
        "slug": "cancel_order",
        "title": "Cancel an order",
        "description": "Cancels an order that has not shipped.",
        "examples": ["cancel my order", "I want to cancel order"],
        "method": "POST",
        "url": base + "/orders/{{order_id}}/cancel",
        "body": {"order": "{{order_id}}", "reason": "{{reason}}"},
        "parameters": {
            "type": "object",
            "properties": {
                "order_id": {"type": "string", "pattern": "^[A-Z][0-9]{3}$"},
                "reason": {"type": "string"},
            },
            "required": ["order_id"],
        },
        "sources": {"reason": "const:visitor asked in chat"},
        "risk": "write",
        "result_template": "Order {{order_id}} is {{response.status}}.",
        "allowed_hosts": ["127.0.0.1"],
        **over,
    }


async def create(owner: OwnerClient, widget_id: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await owner.post(f"/api/v1/widgets/{widget_id}/actions", json=body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())
