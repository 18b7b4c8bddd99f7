"""docs/actions.md's worked example, its JSON bodies exactly as written, against a loopback API."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.actions.target import Target
from tests.conftest import BOTH, OwnerClient, make_widget

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)
DOC = Path(__file__).parents[2] / "docs" / "actions.md"
SHOP = "https://shop.example/api"


def _blocks() -> dict[str, Any]:
    found = re.findall(r"<!-- docs-test: (\w+) -->\n```json\n(.*?)\n```", DOC.read_text(), re.S)
    return {name: json.loads(body) for name, body in found}


async def test_the_order_status_example_runs_as_documented(owner: OwnerClient) -> None:
    blocks = _blocks()
    assert set(blocks) == {"secret", "create", "test"}
    widget = await make_widget(owner)
    put = await owner.http.put(
        f"/api/v1/widgets/{widget['id']}/secrets/orders_key",
        json=blocks["secret"],
        headers={"X-CSRF-Token": owner.csrf},
    )
    assert put.status_code == 204, put.text
    with Target() as target:
        # Only the host differs: the loopback API stands in for the shop's, allowed explicitly.
        body = blocks["create"] | {
            "url": blocks["create"]["url"].replace(SHOP, target.base),
            "allowed_hosts": ["127.0.0.1"],
        }
        made = await owner.post(f"/api/v1/widgets/{widget['id']}/actions", json=body)
        assert made.status_code == 201, made.text
        ran = await owner.post(f"/api/v1/actions/{made.json()['id']}/test", json=blocks["test"])
    assert ran.status_code == 200, ran.text
    out = ran.json()
    assert out["visitor_text"] == "Order A123 is shipped, arriving Monday."
    assert out["request"]["headers"]["Authorization"] == "Bearer ••••"
    assert out["projected"] == {"order": {"status": "shipped", "eta": "Monday"}}
    (seen,) = target.seen("/orders/A123")
    assert seen.query["email"] == ["alice@example.com"]
    assert seen.headers["Authorization"] == "Bearer " + blocks["secret"]["value"]
