"""The web suite's browser fixtures (Debian's chromium, headless), for the XSS tests here."""

from tests.web.conftest import browser, page  # noqa: F401 - fixtures, found by name
