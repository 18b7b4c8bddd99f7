"""The chat in a real browser (chromium via Playwright, against `porch serve`): asking,
streaming, sources, feedback, history, errors and retries, safe markdown.

Screenshots land in /tmp/porch-shots (PORCH_SHOTS_DIR), never in the repository.
"""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.web.browser import HostPage, Owner, PorchServer
from tests.web.ui import FRAME, LAUNCHER, SLOW_REPLY, Slow, ask, last_answer, open_widget, shot

pytestmark = pytest.mark.slow


def test_open_ask_stream_sources_feedback_reload(
    page: Page, site_owner: Owner, host: HostPage
) -> None:
    wid = site_owner.widget()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    chat = open_widget(page, host.url(wid))
    frame = page.locator(FRAME)
    expect(frame).to_have_attribute("title", "Chat")
    expect(page.locator(LAUNCHER)).to_have_attribute("aria-label", "Close chat")
    expect(page.locator(LAUNCHER)).to_have_attribute("aria-expanded", "true")
    expect(chat.locator("[data-role=assistant]").first).to_contain_text("passwords")
    expect(chat.locator(".chip")).to_have_count(2)
    expect(chat.locator("#porch-voice")).to_be_hidden()
    expect(chat.locator("#porch-handoff")).to_be_hidden()
    box = frame.bounding_box()
    assert box and 300 <= box["width"] <= 400 and box["height"] > 400
    shot(page, "01-open")

    with page.expect_response(re.compile(r"/conversations/[^/]+/messages$")) as sent:
        ask(chat, "How do I reset my password?")
        # The visitor's message shows at once.
        expect(chat.locator("[data-role=user]")).to_have_text(
            re.compile("How do I reset my password")
        )
    answer = last_answer(chat)
    expect(answer).to_contain_text("Forgot password")
    sources = answer.locator("[data-porch-sources] a")
    expect(sources.first).to_contain_text("Help center")
    assert sent.value.status == 200
    assert sent.value.headers["content-type"].startswith("text/event-stream")
    assert sent.value.text().count("event: token") >= 2
    # Markdown from the knowledge base is rendered, not shown as asterisks.
    expect(answer.locator(".bubble strong").first).to_be_visible()
    shot(page, "03-answered")

    # Feedback is stored: the POST answers 204 and the button shows its state.
    with page.expect_response(re.compile(r"/messages/[^/]+/feedback$")) as fb:
        answer.locator("button[data-rating=up]").click()
    assert fb.value.status == 204
    expect(answer.locator("button[data-rating=up]")).to_have_attribute("aria-pressed", "true")
    expect(answer.locator(".thanks")).to_have_text("Thanks for your feedback!")

    # A reload continues the same conversation from the iframe's storage.
    page.reload()
    page.locator(LAUNCHER).click()
    chat = page.frame_locator(FRAME)
    expect(chat.locator("[data-role=user]")).to_have_text(re.compile("reset my password"))
    expect(last_answer(chat)).to_contain_text("Forgot password")
    expect(last_answer(chat).locator("[data-porch-sources] a").first).to_be_visible()
    expect(chat.locator(".chip")).to_have_count(0)
    assert errors == []


def test_reply_streams_token_by_token(page: Page, slow: Slow) -> None:
    slow.llm.control.script(text=SLOW_REPLY, token_latency=0.12, first_token_latency=0.8)
    wid = slow.owner.widget()
    chat = open_widget(page, slow.host.url(wid))
    frame = page.frame(url=re.compile(r"/w/"))
    assert frame is not None
    # Record the reply's length at every change of the conversation.
    frame.evaluate("""() => {
        window.__lengths = [];
        new MutationObserver(() => {
            const b = document.querySelectorAll('[data-role=assistant] .bubble');
            window.__lengths.push(b.length > 1 ? b[b.length - 1].textContent.length : 0);
        }).observe(document.getElementById('porch-log'),
                   {subtree: true, childList: true, characterData: true});
    }""")
    ask(chat, "How do I reset my password?")
    expect(chat.locator("[data-role=user]")).to_have_count(1)
    # Until the first token: the typing indicator.
    expect(chat.locator("#porch-typing")).to_be_visible()
    shot(page, "02a-typing")
    answer = chat.locator("[data-role=assistant]").nth(1)
    expect(answer).to_contain_text("To reset")
    expect(chat.locator("#porch-typing")).to_have_count(0)
    assert "never arrives" not in answer.inner_text()
    shot(page, "02b-streaming")
    expect(answer).to_contain_text("never arrives", timeout=20_000)
    expect(answer.locator(".bubble li")).to_have_count(2)
    expect(answer.locator("[data-porch-sources] a").first).to_contain_text("Help center")
    expect(answer.locator("sup.cite")).to_have_text("[1]")
    lengths = [n for n in frame.evaluate("window.__lengths") if n]
    grew = sorted(set(lengths))
    assert len(grew) >= 5, f"the reply did not arrive token by token: {lengths}"
    assert lengths == sorted(lengths)
    shot(page, "02c-streamed")


def test_rate_limit_shows_wait_and_retry(page: Page, site_owner: Owner, host: HostPage) -> None:
    wid = site_owner.widget(limits={"visitor_messages_per_minute": 1})
    chat = open_widget(page, host.url(wid))
    ask(chat, "What does Pro cost?")
    expect(last_answer(chat)).to_contain_text("$12")
    with page.expect_response(re.compile(r"/conversations/[^/]+/messages$")) as refused:
        ask(chat, "And the Free plan?")
    assert refused.value.status == 429
    status = chat.locator("#porch-status")
    expect(status).to_contain_text(re.compile(r"Please wait \d+ seconds?"))
    expect(status.locator("button.retry")).to_be_disabled()
    expect(chat.locator("[data-role=user].failed")).to_have_count(1)
    shot(page, "04-rate-limited")


def test_offline_then_retry(page: Page, site_owner: Owner, host: HostPage) -> None:
    wid = site_owner.widget()
    chat = open_widget(page, host.url(wid))
    page.context.set_offline(True)
    ask(chat, "How do I reset my password?")
    status = chat.locator("#porch-status")
    expect(status).to_contain_text("offline")
    expect(chat.locator("[data-role=user]")).to_have_count(1)
    page.context.set_offline(False)
    status.locator("button.retry").click()
    expect(last_answer(chat)).to_contain_text("Forgot password")
    expect(status).to_be_hidden()
    expect(chat.locator("[data-role=user]")).to_have_count(1)


def test_handoff(page: Page, site_owner: Owner, host: HostPage) -> None:
    wid = site_owner.widget(features={"handoff": True, "voice": True})
    chat = open_widget(page, host.url(wid))
    # Chromium has webkitSpeechRecognition: with the voice feature on, the mic shows.
    expect(chat.locator("#porch-voice")).to_be_visible()
    expect(page.locator(FRAME)).to_have_attribute("allow", "microphone")
    button = chat.locator("#porch-handoff")
    expect(button).to_have_text("Talk to a human")
    with page.expect_response(re.compile(r"/handoff$")) as resp:
        button.click()
    assert resp.value.status == 202
    expect(chat.locator("[data-role=system]").last).to_contain_text("team member")


def test_error_states_and_retry(page: Page, site_owner: Owner, host: HostPage) -> None:
    wid = site_owner.widget()
    chat = open_widget(page, host.url(wid))
    replies = [
        {
            "status": 503,
            "headers": {"Retry-After": "3"},
            "json": {"error": {"code": "unavailable", "message": "Busy.", "request_id": "x"}},
        },
        {
            "status": 200,
            "headers": {"Content-Type": "text/event-stream"},
            "body": 'event: start\ndata: {"user_message_id": "u1", "message_id": "m1"}\n\n'
            'event: token\ndata: {"delta": "A partial"}\n\n'
            'event: token\ndata: {"delta": " answer"}\n\n'
            'event: error\ndata: {"code": "provider_error", '
            '"message": "The assistant stopped halfway."}\n\n',
        },
    ]

    def fake(route: Route) -> None:
        if route.request.method == "POST" and replies:
            route.fulfill(**replies.pop(0))
        else:
            route.continue_()

    page.context.route(re.compile(r"/conversations/[^/]+/messages$"), fake)
    ask(chat, "How do I reset my password?")
    status = chat.locator("#porch-status")
    expect(status).to_contain_text("temporarily unavailable")
    expect(chat.locator("[data-role=user] .note")).to_have_text("Not sent")
    status.locator("button.retry").click()
    expect(status).to_contain_text("The assistant stopped halfway.")
    partial = chat.locator("[data-role=assistant]").last
    expect(partial).to_contain_text("A partial answer")
    expect(partial).to_contain_text("This answer was cut off.")
    status.locator("button.retry").click()
    expect(last_answer(chat)).to_contain_text("Forgot password")
    expect(status).to_be_hidden()
    expect(chat.locator("[data-role=user]")).to_have_count(1)
    expect(chat.locator("[data-role=user] .note")).to_have_count(0)

    # The 4000-character limit is enforced and shown.
    box = chat.locator("textarea[name=message]")
    box.fill("x" * 4100)
    expect(box).to_have_value("x" * 4000)
    expect(chat.locator("#porch-counter")).to_have_text("4000 / 4000")


def test_markdown_renderer_is_safe(
    page: Page, site_owner: Owner, porch_server: PorchServer
) -> None:
    wid = site_owner.widget(with_faq=False)
    page.goto(f"{porch_server.url}/w/{wid}")
    result = page.evaluate("""() => {
        const evil = [
          '<script>window.pwned = 1</script>', '<img src=x onerror="window.pwned=1">',
          '[click](javascript:window.pwned=1)', '[x](data:text/html,<b>1</b>)',
          '**<svg onload=window.pwned=1>**', '`<iframe src=x>`', '```\\n<script>1</script>\\n```',
          '<a href="javascript:1">a</a>', '[ok](https://example.com/a?b=1&c=<2>)',
        ].join('\\n\\n');
        const box = document.createElement('div');
        box.appendChild(PorchMarkdown.render(evil, {sources: [{title: 'S', url: 'javascript:1'}]}));
        document.body.appendChild(box);
        const good = document.createElement('div');
        good.appendChild(PorchMarkdown.render(
          'Hello **bold** and *it* and `code` [1]\\n\\n- one\\n- two\\n\\n' +
          '1. first\\n2. second\\n\\nSee https://example.com/docs.',
          {sources: [{title: 'Docs', url: 'https://example.com/d'}]}));
        return {
          dangerous: box.querySelectorAll('script, img, svg, iframe, [onerror], [onload]').length,
          hrefs: [...box.querySelectorAll('a')].map(a => a.getAttribute('href')),
          text: box.textContent,
          pwned: window.pwned || 0,
          strong: good.querySelectorAll('strong').length,
          em: good.querySelectorAll('em').length,
          code: good.querySelectorAll('code').length,
          ul: good.querySelectorAll('ul > li').length,
          ol: good.querySelectorAll('ol > li').length,
          cite: [...good.querySelectorAll('sup.cite a')].map(a => a.href),
          links: [...good.querySelectorAll('a')].map(a => [a.href, a.target, a.rel]),
        };
    }""")
    assert result["dangerous"] == 0 and result["pwned"] == 0
    assert result["hrefs"] == ["https://example.com/a?b=1&c=%3C2%3E"]
    assert "<script>" in result["text"] and "<img" in result["text"]
    assert (result["strong"], result["em"], result["code"], result["ul"], result["ol"]) == (
        1,
        1,
        1,
        2,
        2,
    )
    assert result["cite"] == ["https://example.com/d"]
    for href, target, rel in result["links"]:
        assert href.startswith("https://") and target == "_blank" and "noopener" in rel


def test_older_messages_load_on_scroll(
    page: Page, site_owner: Owner, porch_server: PorchServer
) -> None:
    wid = site_owner.widget(limits={"visitor_messages_per_minute": 1000})

    with httpx.Client(base_url=porch_server.url, timeout=30) as visitor:
        conv = visitor.post(f"/api/v1/widgets/{wid}/conversations", json={}).json()
        auth = {"Authorization": f"Bearer {conv['visitor_token']}"}
        for i in range(24):
            resp = visitor.post(
                f"/api/v1/conversations/{conv['conversation_id']}/messages",
                json={"content": f"Question number {i}: plans?"},
                headers=auth,
            )
            assert resp.status_code == 200, resp.text
    page.goto(f"{porch_server.url}/w/{wid}")
    stored = {"conversation_id": conv["conversation_id"], "visitor_token": conv["visitor_token"]}
    page.evaluate(
        "([k, v]) => localStorage.setItem(k, JSON.stringify(v))",
        [f"porch:conversation:{wid}", stored],
    )
    page.reload()
    users = page.locator("[data-role=user]")
    expect(users.last).to_contain_text("Question number 23")
    before = users.count()
    assert before < 24
    page.locator("#porch-log").evaluate("log => { log.scrollTop = 0; }")
    expect(page.locator("[data-role=user]").first).to_contain_text(
        "Question number 0", timeout=15_000
    )
    assert page.locator("[data-role=user]").count() == 24


def test_restricted_widget_works_on_allowed_origin(
    page: Page, site_owner: Owner, host: HostPage
) -> None:
    wid = site_owner.widget(allowed_origins=[host.origin])
    chat = open_widget(page, host.url(wid))
    ask(chat, "How do I reset my password?")
    expect(last_answer(chat)).to_contain_text("Forgot password", timeout=5_000)
