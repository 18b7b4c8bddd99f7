"""Helpers the HTTP adapters share: Retry-After, error mapping, the transport choice."""

from __future__ import annotations

import email.utils
import time

import httpx2
import pytest

from porch.providers.wire import fast_http_client, retry_after, status_error, transport_error


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({}, None),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "-4"}, 0.0),
    ],
)
def test_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after(headers) == seconds


def test_retry_after_as_an_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)

    assert 28 <= (retry_after({"retry-after": when}) or 0) <= 31


def test_exhausted_quota_is_not_worth_retrying() -> None:
    error = status_error(429, "You exceeded your current quota", {}, "insufficient_quota")

    assert (error.code, error.retryable) == ("provider_quota_exceeded", False)


def test_transport_errors() -> None:
    timeout = transport_error(httpx2.ReadTimeout("slow"), "openai")
    lost = transport_error(httpx2.RemoteProtocolError("peer closed"), "openai")

    assert (timeout.code, timeout.retryable) == ("provider_timeout", True)
    assert (lost.code, lost.retryable) == ("provider_error", True)
    assert "peer closed" in lost.message


async def test_a_proxy_keeps_the_sdk_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")

    assert fast_http_client(httpx2.AsyncClient) is None


async def test_without_aiohttp_the_sdk_transport_stays() -> None:
    def missing() -> httpx2.AsyncClient:
        raise RuntimeError("To use the aiohttp client you must install the aiohttp extra")

    assert fast_http_client(missing) is None
