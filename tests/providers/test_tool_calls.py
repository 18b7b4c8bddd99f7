"""Tool calls on the wire: the fakes' tool responses as the official SDKs parse them, and
porch's adapters reading them (streamed in parts or whole) and replaying the results."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import openai
import pytest

from porch.providers.anthropic import AnthropicChatModel
from porch.providers.anthropic import make_client as anthropic_client
from porch.providers.base import (
    ChatModel,
    CompletionRequest,
    StreamEvent,
    TextDelta,
    Tool,
    ToolCall,
    ToolCalls,
    ToolResult,
    ToolRound,
    Turn,
    Usage,
)
from porch.providers.openai import OpenAIChatModel
from porch.providers.openai import make_client as openai_client
from tests.fakes import AnthropicFake, OpenAIFake

CALLS = (
    {"id": "call_a", "name": "order_status", "arguments": {"order_id": "A123"}},
    {"id": "call_b", "name": "order_status", "arguments": {"order_id": "B456"}},
)
TOOL = Tool(
    "order_status",
    "Where an order is.",
    {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
)


async def test_openai_sdk_parses_the_fakes_tool_calls(openai_fake: OpenAIFake) -> None:
    openai_fake.control.script(tool_calls=CALLS)
    async with openai.AsyncOpenAI(
        base_url=openai_fake.base_url, api_key="sk-test", max_retries=0
    ) as client:
        whole = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        choice = whole.choices[0]
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        got = [
            (c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls or []
        ]
        assert got == [(c["id"], c["name"], json.dumps(c["arguments"])) for c in CALLS]

        # The SDK's own stream helper assembles the fragments into the same calls.
        async with client.chat.completions.stream(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            final = await stream.get_final_completion()
        streamed = final.choices[0].message.tool_calls or []
        assert [(c.id, c.function.name, c.function.arguments) for c in streamed] == got
        assert final.choices[0].finish_reason == "tool_calls"


async def test_anthropic_sdk_parses_the_fakes_tool_use(anthropic_fake: AnthropicFake) -> None:
    anthropic_fake.control.script(tool_calls=CALLS, text="Let me look.")
    async with anthropic.AsyncAnthropic(
        base_url=anthropic_fake.base_url, api_key="sk-ant-test", max_retries=0
    ) as client:
        messages: Any = [{"role": "user", "content": "hi"}]
        whole = await client.messages.create(
            model="claude-3-5-haiku-latest", max_tokens=100, messages=messages
        )
        assert whole.stop_reason == "tool_use"
        kinds = [b.type for b in whole.content]
        assert kinds == ["text", "tool_use", "tool_use"]
        uses = [(b.id, b.name, b.input) for b in whole.content if b.type == "tool_use"]
        assert uses == [(c["id"], c["name"], c["arguments"]) for c in CALLS]

        async with client.messages.stream(
            model="claude-3-5-haiku-latest", max_tokens=100, messages=messages
        ) as stream:
            final = await stream.get_final_message()
        assert final.stop_reason == "tool_use"
        assert [(b.id, b.name, b.input) for b in final.content if b.type == "tool_use"] == uses


@pytest.fixture
async def openai_model(openai_fake: OpenAIFake) -> AsyncIterator[OpenAIChatModel]:
    client = openai_client(openai_fake.base_url, "sk-test", timeout=5)
    yield OpenAIChatModel(client, "gpt-4o-mini")
    await client.close()


@pytest.fixture
async def anthropic_model(anthropic_fake: AnthropicFake) -> AsyncIterator[AnthropicChatModel]:
    client = anthropic_client(anthropic_fake.base_url, "sk-ant-test", timeout=5)
    yield AnthropicChatModel(client, "claude-3-5-haiku-latest")
    await client.close()


async def collect(model: ChatModel, request: CompletionRequest) -> list[StreamEvent]:
    return [event async for event in model.stream(request)]


def ask(**over: Any) -> CompletionRequest:
    return CompletionRequest(
        model="m",
        system="Be brief.",
        turns=(Turn("user", "where are my orders?"),),
        question="where are my orders?",
        **over,
    )


@pytest.mark.parametrize(("pieces", "whole"), [(1, False), (4, False), (1, True)])
async def test_openai_adapter_reads_calls_and_replays_results(
    openai_fake: OpenAIFake, openai_model: OpenAIChatModel, pieces: int, whole: bool
) -> None:
    # whole: the server answers one JSON body although porch asked for a stream.
    openai_fake.control.script(tool_calls=CALLS, tool_pieces=pieces, ignore_stream=whole)
    events = await collect(openai_model, ask(tools=(TOOL,)))
    (calls,) = [e for e in events if isinstance(e, ToolCalls)]
    assert calls.calls == (
        ToolCall("call_a", "order_status", '{"order_id": "A123"}'),
        ToolCall("call_b", "order_status", '{"order_id": "B456"}'),
    )
    assert isinstance(events[-1], Usage)
    sent = openai_fake.control.requests[-1].json
    assert sent["tools"][0]["function"]["name"] == "order_status"

    openai_fake.control.script(text="A123: {tool_result}")
    results = (ToolResult("call_a", '{"status": "shipped"}'), ToolResult("call_b", "{}"))
    rounds = (ToolRound("", calls.calls, results),)
    events = await collect(openai_model, ask(tools=(TOOL,), rounds=rounds, may_call_tools=False))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "A123: {}"  # the fake echoes the last tool message
    sent = openai_fake.control.requests[-1].json
    assert sent["tool_choice"] == "none"
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "tool", "tool"]
    assert sent["messages"][2]["tool_calls"][0]["function"]["arguments"] == '{"order_id": "A123"}'
    assert sent["messages"][3] == {
        "role": "tool",
        "tool_call_id": "call_a",
        "content": '{"status": "shipped"}',
    }


@pytest.mark.parametrize("whole", [False, True])
async def test_anthropic_adapter_reads_tool_use_and_replays_results(
    anthropic_fake: AnthropicFake, anthropic_model: AnthropicChatModel, whole: bool
) -> None:
    anthropic_fake.control.script(tool_calls=CALLS[:1], text="Checking.", ignore_stream=whole)
    events = await collect(anthropic_model, ask(tools=(TOOL,)))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Checking."
    (calls,) = [e for e in events if isinstance(e, ToolCalls)]
    # Streamed, the input's JSON text is passed on as sent; whole, it is re-encoded.
    ((call_id, name, args),) = [(c.id, c.name, c.arguments) for c in calls.calls]
    assert (call_id, name, json.loads(args)) == ("call_a", "order_status", {"order_id": "A123"})
    assert isinstance(events[-1], Usage)
    assert anthropic_fake.control.requests[-1].json["tools"][0]["input_schema"] == TOOL.parameters

    anthropic_fake.control.script(text="It is {tool_result}")
    rounds = (ToolRound("Checking.", calls.calls, (ToolResult("call_a", "shipped", False),)),)
    events = await collect(anthropic_model, ask(tools=(TOOL,), rounds=rounds))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "It is shipped"
    messages = anthropic_fake.control.requests[-1].json["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Checking."},
            {
                "type": "tool_use",
                "id": "call_a",
                "name": "order_status",
                "input": {"order_id": "A123"},
            },
        ],
    }
    assert messages[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_a", "content": "shipped", "is_error": False}
    ]
