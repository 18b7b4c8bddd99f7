"""Answer or refuse: a one-passage knowledge base answers its paraphrases, refuses near misses,
and the owner's search says why."""

from __future__ import annotations

import pytest

from porch.knowledge.search import decision
from tests.conftest import BOTH, OwnerClient, make_widget
from tests.knowledge.conftest import add_source

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)

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
