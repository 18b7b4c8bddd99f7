"""The Answers and tests page in a real browser (chromium via Playwright, against `porch
serve`), wide and phone-sized: add a curated answer through the form, see the playground
answer with it and show why, run the tests and read the failure.

Screenshots land in /tmp/porch-shots/answers-*.png (PORCH_SHOTS_DIR), never in the repo.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.web.browser import Owner, PorchServer
from tests.web.dashboard_kit import page_problems, shot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def answers_server() -> Iterator[PorchServer]:
    srv = PorchServer(PORCH_JOBS_QUEUE="memory", PORCH_EVAL_WATCH_SECONDS="0")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def widget_with_a_test(answers_server: PorchServer) -> str:
    """One owner's widget with one test that the demo's answer fails: each width uses it,
    so either can run alone."""
    owner = Owner(answers_server.url)
    wid = owner.widget()
    resp = owner.http.post(
        f"/api/v1/widgets/{wid}/eval-cases",
        json={
            "name": "price is free",
            "turns": [{"content": "How much is Pro?"}],
            "assertions": [{"type": "contains", "value": "free forever"}],
        },
    )
    assert resp.status_code == 201, resp.text
    return wid


@pytest.mark.parametrize("width", [1280, 390])
def test_curate_an_answer_try_it_and_run_the_tests(
    page: Page, answers_server: PorchServer, widget_with_a_test: str, width: int
) -> None:
    problems = page_problems(page)
    base, wid = answers_server.url, widget_with_a_test
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{base}/app/widgets/{wid}/answers")
    if "/login" in page.url:
        page.get_by_label("Email").fill("owner@example.com")
        page.get_by_label("Password").fill("correct horse")
        page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(rf"/app/widgets/{wid}/answers$"))
    expect(page.get_by_role("link", name="Answers and tests")).to_have_attribute(
        "aria-current", "page"
    )

    question = f"Do you ship to Canada ({width})?"
    form = page.get_by_test_id("add-curated")
    form.get_by_label("Question").fill(question)
    form.get_by_label("Answer", exact=True).fill(f"Yes, in five days ({width}).")
    form.get_by_role("button", name="Save answer").click()
    expect(page.get_by_test_id("curated-list")).to_contain_text(question)

    play = page.get_by_test_id("playground")
    play.get_by_label("Ask as a visitor would").fill(question)
    play.get_by_role("button", name="Ask").click()
    result = page.get_by_test_id("play-result")
    expect(result).to_be_visible()
    expect(result).to_contain_text(f"Yes, in five days ({width}).")
    expect(result).to_contain_text("Curated answer (verbatim")

    play.get_by_label("Ask as a visitor would").fill("How much is the Pro plan?")
    play.get_by_role("button", name="Ask").click()
    expect(result).to_contain_text("$12")
    expect(result).to_contain_text("Answered from the knowledge base")
    expect(page.locator("#play-candidates tr").first).to_be_visible()

    # The form reloads the page once the run is queued: wait for that before reading it.
    with page.expect_navigation():
        page.get_by_test_id("run-tests").get_by_role("button", name="Run tests now").click()
    deadline = time.monotonic() + 30
    while (
        "running" in page.get_by_test_id("runs").inner_text()
        or not page.get_by_test_id("runs").count()
    ):
        assert time.monotonic() < deadline, page.content()[-2000:]
        time.sleep(0.3)
        page.reload()
    expect(page.get_by_test_id("runs")).to_contain_text("1 failed")
    expect(page.get_by_test_id("runs")).to_contain_text("'free forever' missing")
    # Nothing spills out sideways on a phone.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow}px wider than the {width}px viewport"
    shot(page, f"answers-{width}")
    assert problems == [], problems
