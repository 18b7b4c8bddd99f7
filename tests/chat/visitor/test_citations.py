"""What a reply cites and what it lists agree, and a refusal is said once."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import BOTH, OwnerClient, make_widget, parse_sse, start_conversation

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)

# One long page: several of its passages answer one question, so a reply can cite [1] and
# [2] that are both this page.
PLANS = "\n\n".join(
    f"# Plan {name}\nThe {name} plan costs ${price} per month. The {name} plan includes "
    f"{sites} sites and {gb} GB of bandwidth. Upgrading to the {name} plan is instant. "
    + " ".join(f"Detail {i} of the {name} plan is described here." for i in range(12))
    for name, price, sites, gb in [
        ("Pro", 12, "unlimited", 1000),
        ("Team", 30, "50", 2000),
        ("Free", 0, "3", 100),
        ("Business", 90, "500", 5000),
    ]
)
HELP = (
    "# Passwords\nTo reset your password click Forgot password. The reset link is valid "
    "for one hour.\n\n# Refunds\nAnnual plans are refunded within 30 days."
)
QUESTIONS = [
    f"{verb} the {plan} plan?"
    for verb in ("How much is", "What does", "What bandwidth has", "How many sites has", "Upgrade")
    for plan in ("Pro", "Team", "Free", "Business", "cheapest", "best")
] + [
    "How much is the Pro plan and how do I reset my password?",
    "Are annual plans refunded?",
    "How long is the reset link valid?",
    "Pro plan bandwidth and Team plan sites?",
    "Detail 3 of the Business plan?",
    "Which plan costs 30 a month?",
    "Is upgrading instant?",
    "Free plan sites and refunds?",
    "Password reset and bandwidth of Team?",
    "How much is the Pro plan?",
    "Team plan price and Business plan price?",
    "What do I get with the Free plan bandwidth?",
    "Refund of the Pro plan?",
    "Forgot password link?",
    "Detail 7 of the Team plan?",
    "Business plan sites?",
    "How much bandwidth does the Business plan have?",
    "What is the price of Pro?",
    "How do I upgrade to Team?",
    "Cheapest plan with 50 sites?",
]


async def _widget(owner: OwnerClient, **fields: Any) -> dict[str, Any]:
    w = await make_widget(owner, limits={"visitor_messages_per_minute": 1000}, **fields)
    for title, body in (("Pricing", PLANS), ("Help center", HELP)):
        resp = await owner.post(
            f"/api/v1/widgets/{w['id']}/sources",
            json={"type": "text", "title": title, "text": body},
        )
        assert resp.status_code == 202, resp.text
    return w


async def test_every_marker_has_a_listed_source_over_fifty_answers(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await _widget(owner)
    v = await start_conversation(client, w["id"])
    assert len(QUESTIONS) >= 50
    multi = 0
    for question in QUESTIONS:
        resp = await client.post(
            f"/api/v1/conversations/{v.conversation_id}/messages",
            json={"content": question},
            headers={**v.auth, "Accept": "text/event-stream"},
        )
        assert resp.status_code == 200, resp.text
        events = parse_sse(resp.text)
        text = "".join(d["delta"] for e, d in events if e == "token")
        sources = next(d["sources"] for e, d in events if e == "sources")
        markers = {int(n) for n in re.findall(r"\[(\d{1,2})\]", text)}
        refs = [r for s in sources for r in s["refs"]]
        # Every marker is some listed source's; no source claims one the text lacks.
        assert markers <= set(refs), (question, text, sources)
        if markers:
            assert set(refs) <= markers, (question, text, sources)
        assert len(refs) == len(set(refs))  # one marker, one source
        pairs = {(s["title"], s["url"]) for s in sources}
        assert len(pairs) == len(sources)  # one page, one entry
        multi += any(len(s["refs"]) > 1 for s in sources)
    # The case the widget once got wrong (two markers, one page) is among them.
    assert multi > 0
    history = await client.get(
        f"/api/v1/conversations/{v.conversation_id}/messages?limit=5", headers=v.auth
    )
    assert all("refs" in s for m in history.json()["messages"] for s in m["sources"])


async def test_refusal_is_the_owners_words_once(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    owned = await _widget(owner, fallback_message="Sorry, I don't know. Email help@shop.example.")
    v = await start_conversation(client, owned["id"])
    resp = await client.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": "Do you sell refrigerators in Antarctica?"},
        headers={**v.auth, "Accept": "text/event-stream"},
    )
    events = parse_sse(resp.text)
    said = "".join(d["delta"] for e, d in events if e == "token")
    assert said == "Sorry, I don't know. Email help@shop.example."
    # Without the owner's text, the answerer's own refusal stands alone.
    plain = await _widget(owner)
    v2 = await start_conversation(client, plain["id"])
    resp = await client.post(
        f"/api/v1/conversations/{v2.conversation_id}/messages",
        json={"content": "Do you sell refrigerators in Antarctica?"},
        headers=v2.auth,
    )
    assert resp.json()["message"]["content"] == "I don't know that yet."
