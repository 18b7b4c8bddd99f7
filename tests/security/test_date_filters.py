"""Date filters at the edge (the inbox, analytics, the CSV export and their dashboard pages):
a day out of range or `from` after `to` is a clear 400, a range at the very edge works, and
nothing is ever a 500 (`?to=9999-12-31` overflowed Python's dates into one)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import BOTH, OwnerClient, make_widget, start_conversation

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)

FILTERS = [
    "/api/v1/widgets/{id}/conversations",
    "/api/v1/widgets/{id}/analytics",
    "/api/v1/widgets/{id}/conversations.csv",
]
PAGES = ["/app/widgets/{id}/conversations", "/app/widgets/{id}/analytics"]
# (query, status, error code)
EDGES = [
    ({"to": "9999-12-31"}, 400, "validation_error"),
    ({"from": "9999-12-31", "to": "9999-12-31"}, 400, "validation_error"),
    ({"from": "0001-01-01"}, 400, "validation_error"),
    ({"to": "0001-01-01"}, 400, "validation_error"),
    ({"from": "1969-12-31", "to": "1970-01-05"}, 400, "validation_error"),
    ({"from": "2024-13-01"}, 400, "validation_error"),
    ({"from": "2024-06-02", "to": "2024-06-01"}, 400, "invalid_range"),
    ({"from": "9999-12-30", "to": "9999-12-30"}, 200, None),
    ({"from": "1970-01-01", "to": "1970-01-01"}, 200, None),
    ({"to": "1970-01-03"}, 200, None),
    ({"from": "2024-06-01", "to": "2024-06-30"}, 200, None),
]


@pytest.mark.parametrize("path", FILTERS)
async def test_edge_dates_are_clear_errors_or_work(
    path: str, owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await make_widget(owner)
    await start_conversation(client, w["id"])
    url = path.format(id=w["id"])
    for query, status, code in EDGES:
        resp = await owner.get(url, params=query)
        assert resp.status_code == status, (url, query, resp.text[:300])
        if code is not None:
            error = resp.json()["error"]
            assert error["code"] == code and error["message"], (url, query, error)


@pytest.mark.parametrize("path", PAGES)
async def test_dashboard_pages_take_any_dates(path: str, owner: OwnerClient) -> None:
    w = await make_widget(owner)
    url = path.format(id=w["id"])
    for query, _, _ in EDGES:
        resp = await owner.get(url, params=query)
        assert resp.status_code == 200, (url, query, resp.text[:300])
    inverted = await owner.get(url, params={"from": "2024-06-02", "to": "2024-06-01"})
    assert "is after" in inverted.text
