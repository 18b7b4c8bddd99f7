"""Visible fixes in the widget: contrast on any brand colour, a 16 px message box, markers
that match the listed sources, and what the visitor is told once a person joins or closes.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.web.browser import HostPage, Owner
from tests.web.ui import ask, last_answer, open_widget

pytestmark = pytest.mark.slow

# WCAG contrast of an element's text over its nearest opaque background, in the page.
CONTRAST = """(sel) => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).slice(0, 4).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
    .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
  return [...document.querySelectorAll(sel)].map(n => {
    let bg = n, c;
    while (bg) { c = rgb(getComputedStyle(bg).backgroundColor);
      if (c.length === 3 || c[3] > 0) break; bg = bg.parentElement; }
    // Faded text (opacity) is the colour mixed into its background.
    const op = parseFloat(getComputedStyle(n).opacity);
    const fg = rgb(getComputedStyle(n).color).slice(0, 3).map((v, i) => v * op + c[i] * (1 - op));
    const a = lum(fg) + 0.05, b = lum(c) + 0.05;
    return Math.max(a, b) / Math.min(a, b);
  });
}"""


@pytest.mark.parametrize("color", ["#2563eb", "#16a34a", "#facc15", "#ec4899"])
def test_text_on_the_brand_colour_reads_at_aa(
    page: Page, site_owner: Owner, host: HostPage, color: str
) -> None:
    wid = site_owner.widget(theme={"primary_color": color})
    chat = open_widget(page, host.url(wid))
    ask(chat, "How do I reset my password?")
    expect(last_answer(chat)).to_contain_text("Forgot password")
    frame = next(f for f in page.frames if "/w/" in f.url)
    for sel in (".head h1", ".head p", ".msg-user .bubble"):
        ratios = frame.evaluate(CONTRAST, sel)
        assert ratios and min(ratios) >= 4.5, (color, sel, ratios)
    size = frame.evaluate("getComputedStyle(document.querySelector('#porch-input')).fontSize")
    assert size == "16px"


@pytest.mark.parametrize("width", [1280, 390])
def test_markers_always_point_at_a_listed_source(
    page: Page, site_owner: Owner, host: HostPage, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    wid = site_owner.widget(limits={"visitor_messages_per_minute": 1000})
    site_owner.add_text(
        wid,
        "Pricing",
        "\n\n".join(
            f"# Plan {n}\nThe {n} plan costs ${p} per month. "
            + " ".join(f"Detail {i} of the {n} plan." for i in range(15))
            for n, p in (("Pro", 12), ("Team", 30), ("Business", 90))
        ),
    )
    chat = open_widget(page, host.url(wid))
    questions = [f"How much is the {n} plan?" for n in ("Pro", "Team", "Business")] * 4
    questions += ["How do I reset my password?", "Are annual plans refunded?"]
    for i, q in enumerate(questions):
        ask(chat, q)
        expect(chat.locator("[data-role=assistant][data-id] .feedback")).to_have_count(i + 1)
    answers = chat.locator("[data-role=assistant][data-id]")
    for i in range(answers.count()):
        a = answers.nth(i)
        listed = a.locator("[data-porch-sources] li").count()
        labels = [int(x.strip("[]")) for x in a.locator("sup.cite").all_inner_texts()]
        assert all(1 <= n <= listed for n in labels), (i, labels, listed)


def test_closed_conversation_tells_the_visitor(
    page: Page, site_owner: Owner, host: HostPage
) -> None:
    wid = site_owner.widget(features={"handoff": True})
    chat = open_widget(page, host.url(wid))
    ask(chat, "How do I reset my password?")
    expect(last_answer(chat)).to_contain_text("Forgot password")
    button = chat.locator("#porch-handoff")
    button.click()
    expect(chat.locator("[data-role=system]").last).to_contain_text("team member")
    expect(button).to_be_hidden()
    convs = site_owner.http.get(f"/api/v1/widgets/{wid}/conversations").json()
    cid = (convs.get("conversations") or convs.get("items"))[0]["id"]
    r = site_owner.http.post(
        f"/api/v1/conversations/{cid}/reply", json={"content": "Hi, Dana here"}
    )
    assert r.status_code == 201, r.text
    expect(chat.locator("[data-role=agent]")).to_contain_text("Hi, Dana here")
    # The person has it: no second "a team member will reply", no offer of one.
    ask(chat, "Thanks Dana")
    expect(chat.locator("[data-role=user]")).to_have_count(2)
    page.wait_for_timeout(800)
    expect(chat.locator("[data-role=system]", has_text="reply here soon")).to_have_count(0)
    expect(button).to_be_hidden()
    r = site_owner.http.post(f"/api/v1/conversations/{cid}/close")
    assert r.status_code in (200, 204), r.text
    expect(chat.locator("[data-role=system]").last).to_contain_text(re.compile("was closed"))
    expect(button).to_be_visible()
