"""Browser-test fixtures: real porch processes, an owner, a host site on another port, chromium.

Named apart from the root conftest's `owner`/`app`/`client`, which the HTTP tests here use.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.web.browser import CHROMIUM_ARGS, HostPage, Owner, PorchServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from tests.fakes.openai_server import OpenAIFake
    from tests.web.ui import Slow


@pytest.fixture(scope="session")
def porch_server() -> Iterator[PorchServer]:
    srv = PorchServer()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def site_owner(porch_server: PorchServer) -> Owner:
    return Owner(porch_server.url)


@pytest.fixture(scope="session")
def host(porch_server: PorchServer) -> Iterator[HostPage]:
    site = HostPage(porch_server.url)
    httpd = site.start()
    yield site
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def llm() -> Iterator[OpenAIFake]:
    from tests.fakes.openai_server import OpenAIFake

    with OpenAIFake() as fake:
        yield fake


@pytest.fixture(scope="session")
def slow(llm: OpenAIFake) -> Iterator[Slow]:
    """A second porch whose default provider is the slow fake OpenAI."""
    from tests.web.ui import Slow

    srv = PorchServer(
        PORCH_LLM_PROVIDER="openai",
        PORCH_LLM_MODEL="gpt-4o-mini",
        PORCH_LLM_BASE_URL=llm.base_url,
        PORCH_LLM_API_KEY="sk-test",
    )
    site = HostPage(srv.url)
    httpd = site.start()
    yield Slow(srv, Owner(srv.url), site, llm)
    httpd.shutdown()
    httpd.server_close()
    srv.stop()


# Module scope, not session: sync Playwright keeps an event loop running in this thread while
# it is open, and the async HTTP tests of this folder cannot start theirs beside it.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.web.ui import CHROMIUM

    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()
