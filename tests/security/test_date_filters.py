"""Date filters at the edge (the inbox, analytics, the CSV export and their dashboard pages):
a day out of range or `from` after `to` is a clear 400, a range at the very edge works, and
nothing is ever a 500 (`?to=9999-12-31` overflowed Python's dates into one). The inbox's
paging cursor, which carries a timestamp, is held to the same days."""

from __future__ import annotations

import base64
import uuid

import httpx
import orjson
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


def _cursor(stamp: object) -> str:
    raw = orjson.dumps([stamp, uuid.uuid4().hex])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "stamp",
    [
        "9999-12-31T23:59:59-14:00",  # in UTC, year 10000
        "0001-01-01T00:00:00+14:00",  # in UTC, year 0
        "0001-01-01T00:00:00",
        "1969-12-31T23:59:59+00:00",
        "not a time",
        12,
    ],
)
async def test_a_crafted_cursor_is_a_clear_400(stamp: object, owner: OwnerClient) -> None:
    w = await make_widget(owner)
    url = f"/api/v1/widgets/{w['id']}/conversations"
    resp = await owner.get(url, params={"cursor": _cursor(stamp)})
    assert resp.status_code == 400, resp.text[:300]
    assert resp.json()["error"]["code"] == "invalid_cursor"
    page = await owner.get(
        f"/app/widgets/{w['id']}/conversations", params={"cursor": _cursor(stamp)}
    )
    assert page.status_code < 500
