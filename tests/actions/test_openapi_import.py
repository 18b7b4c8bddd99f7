"""Draft actions imported from a small OpenAPI document the test writes, then one run for real."""

from __future__ import annotations

import json
from typing import Any

import pytest

from porch.actions.openapi import MAX_BYTES, MAX_OPERATIONS, slug_for
from tests.actions.target import Target
from tests.conftest import BOTH, OwnerClient, make_widget

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)

YAML = """
openapi: 3.0.3
info: {title: Orders, version: "1"}
servers:
  - url: "{base}"
paths:
  /orders/{orderId}:
    parameters:
      - name: orderId
        in: path
        required: true
        description: the order number, like A123
        schema: {type: string, pattern: "^[A-Z][0-9]{3}$"}
    get:
      operationId: getOrderStatus
      summary: Look up an order
      parameters:
        - name: email
          in: query
          required: true
          schema: {type: string, maxLength: 200}
        - name: expand
          in: query
          schema: {type: boolean}
    delete:
      operationId: deleteOrder
      summary: Delete an order
  /orders/{orderId}/cancel:
    post:
      operationId: cancelOrder
      summary: Cancel an order
      parameters:
        - {name: orderId, in: path, required: true, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Cancel"}
components:
  schemas:
    Cancel:
      type: object
      required: [reason, quantity]
      properties:
        reason: {type: string, enum: [late, wrong_item]}
        quantity: {type: integer, minimum: 1}
        note: {type: string}
"""


async def _import(owner: OwnerClient, widget_id: str, body: Any, **kw: Any) -> Any:
    return await owner.http.post(
        f"/api/v1/widgets/{widget_id}/actions/import",
        headers={"X-CSRF-Token": owner.csrf, **kw.pop("headers", {})},
        **({"content": body} if isinstance(body, str | bytes) else {"json": body}),
    )


async def test_yaml_import_makes_disabled_drafts_and_one_runs_after_enabling(
    owner: OwnerClient,
) -> None:
    widget = await make_widget(owner)
    with Target() as target:
        resp = await _import(
            owner,
            widget["id"],
            YAML.replace("{base}", target.base),
            headers={"Content-Type": "application/yaml"},
        )
        assert resp.status_code == 201, resp.text
        drafts = {d["action"]["slug"]: d for d in resp.json()["actions"]}
        assert list(drafts) == ["get_order_status", "delete_order", "cancel_order"]
        got = drafts["get_order_status"]["action"]
        assert {a["action"]["enabled"] for a in drafts.values()} == {False}
        assert [drafts[s]["action"]["method"] for s in drafts] == ["GET", "DELETE", "POST"]
        assert [drafts[s]["action"]["risk"] for s in drafts] == ["read", "destructive", "write"]
        assert got["url"] == target.base + "/orders/{{orderId}}?email={{email}}"
        assert got["parameters"]["required"] == ["orderId", "email"]
        assert got["parameters"]["properties"]["orderId"]["pattern"] == "^[A-Z][0-9]{3}$"
        assert got["parameters"]["properties"]["email"]["maxLength"] == 200
        assert any("expand" in n for n in drafts["get_order_status"]["notes"])
        cancel = drafts["cancel_order"]["action"]
        assert cancel["body"] == {"reason": "{{reason}}", "quantity": "{{quantity}}"}
        assert cancel["parameters"]["properties"]["reason"]["enum"] == ["late", "wrong_item"]
        quantity = cancel["parameters"]["properties"]["quantity"]
        assert quantity["type"] == "integer" and quantity["minimum"] == 1
        assert any("note" in n for n in drafts["cancel_order"]["notes"])

        # A draft is not offered to visitors; enabled (with its host allowed) it runs.
        changed = await owner.patch(
            f"/api/v1/actions/{got['id']}",
            json={"enabled": True, "allowed_hosts": ["127.0.0.1"]},
        )
        assert changed.status_code == 200, changed.text
        ran = await owner.post(
            f"/api/v1/actions/{got['id']}/test",
            json={"arguments": {"orderId": "A123", "email": "al@example.com"}},
        )
    assert ran.status_code == 200, ran.text
    assert ran.json()["error_class"] is None and ran.json()["status"] == 200
    (seen,) = target.seen("/orders/A123")
    assert seen.method == "GET" and seen.query == {"email": ["al@example.com"]}


async def test_json_wrapper_chooses_operations_and_a_base_url(owner: OwnerClient) -> None:
    widget = await make_widget(owner)
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "servers": [{"url": "/relative"}],
        "paths": {
            "/a/{id}": {"put": {"operationId": "Update-Thing.v2", "parameters": []}},
            "/b": {"get": {"operationId": "listB"}},
        },
    }
    # A path parameter the operation does not define: a clear 422.
    bad = await _import(owner, widget["id"], {"document": doc, "base_url": "https://api.example"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "openapi_invalid"
    assert "Update-Thing.v2" in bad.json()["error"]["message"]
    picked = await _import(
        owner,
        widget["id"],
        {"document": json.dumps(doc), "operation_ids": ["listB"], "base_url": "https://api.ex"},
    )
    assert picked.status_code == 201, picked.text
    (only,) = picked.json()["actions"]
    assert only["action"]["url"] == "https://api.ex/b" and only["action"]["slug"] == "list_b"
    again = await _import(
        owner,
        widget["id"],
        {"document": doc, "operation_ids": ["listB"], "base_url": "https://x.y"},
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "action_slug_taken"
    listed = (await owner.get(f"/api/v1/widgets/{widget['id']}/actions")).json()["actions"]
    assert [a["slug"] for a in listed] == ["list_b"]


def _doc(**over: Any) -> dict[str, Any]:
    return {
        "openapi": "3.0.0",
        "servers": [{"url": "https://api.example"}],
        "paths": {"/x": {"get": {"operationId": "x"}}},
        **over,
    }


BAD: list[tuple[Any, str]] = [
    ("{not json: [", "openapi_invalid"),
    ("- just\n- a list\n", "openapi_invalid"),
    ({"swagger": "2.0", "paths": {}}, "openapi_invalid"),
    (_doc(openapi="2.0"), "openapi_invalid"),
    (_doc(paths={}), "openapi_invalid"),
    (_doc(servers=[]), "openapi_no_server"),
    ({"document": _doc(), "operation_ids": ["nope"]}, "openapi_operation_unknown"),
    ({"document": _doc(), "operation_ids": "x"}, "openapi_invalid"),
    (
        _doc(paths={"/x": {"get": {"parameters": [{"$ref": "https://evil.example/p.json"}]}}}),
        "openapi_invalid",
    ),
    (
        _doc(paths={"/x": {"get": {"parameters": [{"$ref": "#/a"}]}}}, a={"$ref": "#/a"}),
        "openapi_invalid",
    ),
    (
        _doc(paths={f"/p{i}": {"get": {}} for i in range(MAX_OPERATIONS + 1)}),
        "openapi_too_many",
    ),
    ("openapi: 3.0.0\na: &x [1]\nb: *x\n", "openapi_invalid"),
    ("[" * 5000 + "]" * 5000, "openapi_invalid"),
    ("a: " + "x" * (MAX_BYTES + 10), "openapi_invalid"),
]


@pytest.mark.parametrize(("body", "code"), BAD)
async def test_bad_documents_are_a_clear_422(owner: OwnerClient, body: Any, code: str) -> None:
    widget = await make_widget(owner)
    resp = await _import(owner, widget["id"], body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == code
    assert resp.json()["error"]["message"]
    listed = (await owner.get(f"/api/v1/widgets/{widget['id']}/actions")).json()["actions"]
    assert listed == []


def test_slugs_fit_the_pattern(backend: str) -> None:
    assert slug_for("getOrderStatus") == "get_order_status"
    assert slug_for("Update-Thing.v2") == "update_thing_v2"
    assert slug_for("2fa/reset") == "op_2fa_reset"
    assert slug_for("GET_/orders/{id}") == "get_orders_id"
    assert len(slug_for("a" * 200)) == 64


ODD: list[Any] = [
    _doc(paths={"/x": {"get": {"operationId": "x", "parameters": 5}}}),
    _doc(paths={"/x": {"get": {"parameters": [5, {"name": 3}, {"in": "query"}]}}}),
    _doc(
        paths={
            "/x": {
                "post": {
                    "summary": "two\nlines",
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"properties": {"a": 1}, "required": [{"a": 1}, 7]}
                            }
                        }
                    },
                }
            }
        }
    ),
    _doc(
        paths={
            "/x": {
                "get": {
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "required": True,
                            "schema": {"type": ["null", "integer"], "enum": [True, None, 1]},
                        }
                    ]
                }
            }
        }
    ),
    "openapi: 3.1\nservers: [{url: 'https://a.example'}]\npaths: {/x: {delete: {}}}\n",
]


@pytest.mark.parametrize("body", ODD)
async def test_odd_shapes_import_or_refuse_but_never_fail(owner: OwnerClient, body: Any) -> None:
    widget = await make_widget(owner)
    resp = await _import(owner, widget["id"], body)
    assert resp.status_code in (201, 422), resp.text
