"""Eval cases that call actions: the offline answerer runs them as in a conversation, against
the action's recorded response unless the case says live, and nothing reaches the owner's
API that the case did not ask for."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI

from tests.actions.helpers import cancel_order, create, order_status
from tests.actions.target import Target
from tests.conftest import BOTH, OwnerClient, make_widget
from tests.evals.conftest import finished, run_and_wait

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)
VERIFIED = {"user_id": "ann@example.com", "verified": True}


async def _cases(owner: OwnerClient, widget_id: str, *cases: dict[str, Any]) -> None:
    for c in cases:
        resp = await owner.post(f"/api/v1/widgets/{widget_id}/eval-cases", json=c)
        assert resp.status_code == 201, resp.text


def _by_name(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in run["results"]}


async def test_mocked_calls_are_checked_and_nothing_is_sent(
    app: FastAPI, owner: OwnerClient
) -> None:
    with Target() as target:
        w = await make_widget(owner)
        lookup = await create(owner, w["id"], order_status(target.base))
        await create(owner, w["id"], cancel_order(target.base))
        # A test run records the response the mocked calls answer with.
        tried = await owner.post(
            f"/api/v1/actions/{lookup['id']}/test",
            json={"arguments": {"order_id": "A123"}, "visitor": {"user_id": "ann@example.com"}},
        )
        assert tried.status_code == 200 and tried.json()["status"] == 200, tried.text
        before = len(target.requests)
        await _cases(
            owner,
            w["id"],
            {
                "name": "lookup asks for the number",
                "turns": [
                    {"content": "where is my order?", "visitor": VERIFIED},
                    {"content": "B456", "visitor": VERIFIED},
                ],
                "assertions": [
                    {
                        "type": "action_called",
                        "slug": "order_status",
                        "arguments": {"order_id": "B456", "email": "ann@example.com"},
                    },
                    {"type": "contains", "value": "shipped, arriving Monday"},
                    {"type": "contains", "turn": 0, "value": "order number"},
                    {"type": "action_not_called", "slug": "cancel_order"},
                ],
            },
            {
                "name": "cancel declined",
                "turns": [{"content": "cancel my order C789"}, {"content": "no"}],
                "assertions": [{"type": "action_not_called", "slug": "cancel_order"}],
            },
            {
                "name": "cancel confirmed",
                "turns": [{"content": "cancel my order C789"}, {"content": "yes"}],
                "assertions": [
                    {"type": "contains", "turn": 0, "value": "yes"},
                    {
                        "type": "action_called",
                        "slug": "cancel_order",
                        "arguments": {"order_id": "C789"},
                    },
                ],
            },
            {
                "name": "wrong arguments fail",
                "turns": [{"content": "where is my order A123?", "visitor": VERIFIED}],
                "assertions": [
                    {
                        "type": "action_called",
                        "slug": "order_status",
                        "arguments": {"order_id": "Z999"},
                    },
                ],
            },
            {
                "name": "anonymous must sign in",
                "turns": [{"content": "where is my order A123?"}],
                "assertions": [{"type": "action_not_called", "slug": "order_status"}],
            },
        )
        run = await run_and_wait(app, owner, w["id"])
        results = _by_name(run)
        for name in (
            "lookup asks for the number",
            "cancel declined",
            "cancel confirmed",
            "anonymous must sign in",
        ):
            assert results[name]["outcome"] == "passed", results[name]
        wrong = results["wrong arguments fail"]
        assert wrong["outcome"] == "failed"
        assert "A123" in wrong["assertions"][0]["evidence"]
        # Mocked: the owner's API saw nothing after the recorded test call.
        assert len(target.requests) == before
        chips = results["lookup asks for the number"]["transcript"][3]["actions"]
        assert chips[0]["slug"] == "order_status" and chips[0]["mocked"] is True


async def test_a_live_case_calls_the_api_and_is_recorded_as_a_test(
    app: FastAPI, owner: OwnerClient
) -> None:
    with Target() as target:
        w = await make_widget(owner)
        await create(owner, w["id"], order_status(target.base))
        await _cases(
            owner,
            w["id"],
            {
                "name": "live lookup",
                "turns": [{"content": "track my order A123", "visitor": VERIFIED}],
                "assertions": [
                    {
                        "type": "action_called",
                        "slug": "order_status",
                        "live": True,
                        "arguments": {"order_id": "A123"},
                    },
                    {"type": "contains", "value": "Order A123 is shipped"},
                ],
            },
        )
        run = await run_and_wait(app, owner, w["id"])
        assert run["results"][0]["outcome"] == "passed", run["results"]
        sent = target.seen("/orders/A123")
        assert len(sent) == 1 and sent[0].query["email"] == ["ann@example.com"]
        logged = (await owner.get(f"/api/v1/widgets/{w['id']}/action-calls")).json()["calls"]
        assert [(c["trigger"], c["status"], c["error_class"]) for c in logged] == [
            ("test", 200, None)
        ]


async def test_with_a_vendor_model_action_assertions_are_skipped(
    app: FastAPI, owner: OwnerClient
) -> None:
    """A vendor's model would choose by tool calls, which runs do not simulate: never passed."""
    with Target() as target:
        w = await make_widget(owner, provider="openai", model="gpt-4o-mini")
        await create(owner, w["id"], order_status(target.base))
        await _cases(
            owner,
            w["id"],
            {
                "name": "by the model",
                "turns": [{"content": "track my order A123", "visitor": VERIFIED}],
                "assertions": [{"type": "action_called", "slug": "order_status"}],
            },
        )
        run = await run_and_wait(app, owner, w["id"])
        (result,) = run["results"]
        assert result["outcome"] == "skipped"
        assert result["assertions"][0]["skipped"] is True
        assert "tool calls" in result["assertions"][0]["evidence"]
        assert target.requests == []


async def test_changing_an_action_runs_the_cases_again(app: FastAPI, owner: OwnerClient) -> None:
    with Target() as target:
        w = await make_widget(owner)
        lookup = await create(owner, w["id"], order_status(target.base))
        await _cases(
            owner,
            w["id"],
            {
                "name": "lookup",
                "turns": [{"content": "track my order A123", "visitor": VERIFIED}],
                "assertions": [{"type": "action_called", "slug": "order_status"}],
            },
        )
        first = await run_and_wait(app, owner, w["id"])
        assert first["passed"] == 1, first["results"]
        changed = await owner.patch(
            f"/api/v1/actions/{lookup['id']}", json={"examples": ["parcel whereabouts"]}
        )
        assert changed.status_code == 200, changed.text
        # The watch sees the change and runs the cases; the old phrasing no longer matches.
        async with asyncio.timeout(30):
            while True:
                runs = (await owner.get(f"/api/v1/widgets/{w['id']}/eval-runs")).json()
                auto = [r for r in runs["eval_runs"] if r["trigger"] == "change"]
                if auto:
                    break
                await asyncio.sleep(0.05)
        run = await finished(app, owner, auto[0]["id"])
        assert (
            run["failed"] == 1
            and run["regressions"][0]["case_id"] == first["results"][0]["case_id"]
        )
        assert run["against"]["actions_hash"] != first["against"]["actions_hash"]
