"""Answer or refuse: a one-passage knowledge base answers its paraphrases, refuses near misses,
and the owner's search says why."""

from __future__ import annotations

import uuid

import httpx
import pytest

from porch.knowledge.search import decision
from tests.conftest import VECTORS, OwnerClient, make_widget, start_conversation
from tests.knowledge.conftest import add_source

pytestmark = pytest.mark.parametrize("backend", VECTORS, indirect=True)

POLICY = (
    "Orders ship from our Rotterdam warehouse within 2 business days. "
    "Returns are accepted for 30 days."
)


async def one_passage(owner: OwnerClient) -> str:
    widget = await make_widget(owner)
    await add_source(owner, widget["id"], type="text", title="Store info", text=POLICY)
    return str(widget["id"])


async def explain(owner: OwnerClient, widget_id: str, q: str) -> dict[str, object]:
    resp = await owner.get(f"/api/v1/widgets/{widget_id}/search", params={"q": q})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_paraphrases_of_a_one_passage_base_are_answered(owner: OwnerClient) -> None:
    widget_id = await one_passage(owner)
    for question in ("What is your return policy?", "Can I send it back?", "returns?"):
        found = await explain(owner, widget_id, question)
        results = found["results"]
        assert isinstance(results, list) and len(results) == 1, (question, found)
        assert "Returns are accepted" in results[0]["text"]
        assert found["refused"] is None


async def test_a_near_miss_is_refused_with_the_reason(owner: OwnerClient) -> None:
    widget_id = await one_passage(owner)
    found = await explain(owner, widget_id, "Do you offer gift wrapping?")
    assert found["results"] == []
    # The threshold of a one-passage base, and the candidate that fell under it.
    assert found["threshold"] == decision.automatic_threshold(1)
    assert found["threshold_source"] == "automatic"
    assert isinstance(found["refused"], str) and "under the threshold" in found["refused"]
    candidates = found["candidates"]
    assert isinstance(candidates, list) and len(candidates) == 1
    assert candidates[0]["kept"] is False
    assert candidates[0]["cosine"] < found["threshold"]


async def test_a_widget_threshold_applies_and_returns_to_automatic(owner: OwnerClient) -> None:
    widget_id = await one_passage(owner)
    base = f"/api/v1/widgets/{widget_id}/search/threshold"
    got = (await owner.get(base)).json()
    assert got == {
        "threshold": None,
        "effective": decision.automatic_threshold(1),
        "source": "automatic",
        "passages": 1,
    }
    # Strict enough that even the return-policy question is refused, keywords aside.
    resp = await owner.patch(base, json={"threshold": 0.95})
    assert resp.status_code == 200, resp.text
    assert resp.json()["effective"] == 0.95 and resp.json()["source"] == "widget"
    found = await explain(owner, widget_id, "When does my parcel leave the warehouse?")
    assert found["threshold"] == 0.95 and found["threshold_source"] == "widget"
    assert found["results"] == [] and found["refused"]
    resp = await owner.patch(base, json={"threshold": None})
    assert resp.json()["source"] == "automatic"
    found = await explain(owner, widget_id, "When does my parcel leave the warehouse?")
    assert len(found["results"]) == 1


async def test_bad_threshold_values_are_refused(owner: OwnerClient) -> None:
    widget_id = await one_passage(owner)
    base = f"/api/v1/widgets/{widget_id}/search/threshold"
    for body in ({"threshold": 1.5}, {"threshold": "high"}, {}, {"threshold": 0.3, "x": 1}):
        resp = await owner.patch(base, json=body)
        assert resp.status_code == 400, (body, resp.text)
        assert resp.json()["error"]["code"] == "validation_error"
    resp = await owner.get(f"{base}/preview", params={"value": ["2"]})
    assert resp.status_code == 400
    resp = await owner.get(f"/api/v1/widgets/{uuid.uuid4()}/search/threshold")
    assert resp.status_code == 404


async def test_preview_counts_recent_questions_answered_at_each_value(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    widget_id = await one_passage(owner)
    visitor = await start_conversation(client, widget_id)
    asked = [
        "Can I send it back?",
        "When does my parcel leave the warehouse?",
        "Do you sell bicycles?",
    ]
    for q in asked:
        resp = await client.post(
            f"/api/v1/conversations/{visitor.conversation_id}/messages",
            json={"content": q},
            headers=visitor.auth,
        )
        assert resp.status_code == 200, resp.text
    resp = await owner.get(
        f"/api/v1/widgets/{widget_id}/search/threshold/preview",
        params={"value": ["-1", "0.99"]},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["questions"] == 3 and body["source"] == "automatic"
    loose, strict = body["points"]
    assert loose == {"threshold": -1.0, "answered": 3}  # every question finds its passage
    # At 0.99 only keyword evidence answers: the paraphrase of "returns", not the others.
    assert strict["threshold"] == 0.99 and strict["answered"] == 1


async def test_a_widget_that_never_had_knowledge_says_so(owner: OwnerClient) -> None:
    """No passage was ever stored: the search stops at the version and says why."""
    w = await make_widget(owner)
    found = await explain(owner, w["id"], "What is your return policy?")
    assert found["results"] == [] and found["candidates"] == []
    assert found["refused"] == "this widget has no knowledge yet"
