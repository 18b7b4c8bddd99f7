"""Fake LLM vendors over real HTTP for tests and benchmarks, scripted through `FakeControl`.

    with OpenAIFake() as fake:                      # uvicorn thread on 127.0.0.1, free port
        fake.control.script(tokens=5, hang_after=3)
        client = AsyncOpenAI(base_url=fake.base_url, api_key="sk-test")
        ...
        assert fake.control.request_count == 1

Standalone, for benchmarks: `python -m tests.fakes.openai_server --port 8001 --tokens 50`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.anthropic_server import AnthropicFake
    from tests.fakes.control import FakeControl, RecordedRequest, Script
    from tests.fakes.openai_server import OpenAIFake
    from tests.fakes.server import FakeServer

__all__ = ["AnthropicFake", "FakeControl", "FakeServer", "OpenAIFake", "RecordedRequest", "Script"]

_HOMES = {
    "AnthropicFake": "anthropic_server",
    "FakeControl": "control",
    "FakeServer": "server",
    "OpenAIFake": "openai_server",
    "RecordedRequest": "control",
    "Script": "control",
}


def __getattr__(name: str) -> Any:
    # Lazy, so `python -m tests.fakes.openai_server` does not import itself twice.
    if name in _HOMES:
        return getattr(importlib.import_module(f"tests.fakes.{_HOMES[name]}"), name)
    raise AttributeError(name)
