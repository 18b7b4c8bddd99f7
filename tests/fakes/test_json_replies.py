"""The fakes' plain-text replies holding JSON (what a model without function calling sends),
as the official SDKs read them: cut anywhere, with the last user message filled in."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai

from tests.fakes import AnthropicFake, OpenAIFake

QUESTION = 'Result of order_status: {"status": "succeeded"}\nAnswer again.'
SCRIPT = '```json\n{"reply": "You said: {last_user_json}"}\n```'
EXPECTED = "```json\n" + json.dumps({"reply": "You said: " + QUESTION}) + "\n```"


async def test_openai_sdk_reads_a_json_reply_cut_into_pieces(openai_fake: OpenAIFake) -> None:
    openai_fake.control.script(text=SCRIPT, text_pieces=3)
    messages: Any = [{"role": "user", "content": QUESTION}]
    async with openai.AsyncOpenAI(
        base_url=openai_fake.base_url, api_key="sk-test", max_retries=0
    ) as client:
        whole = await client.chat.completions.create(model="small", messages=messages)
        assert whole.choices[0].message.content == EXPECTED
        assert whole.choices[0].finish_reason == "stop"
        parts: list[str] = []
        stream = await client.chat.completions.create(model="small", messages=messages, stream=True)
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
    assert "".join(parts) == EXPECTED
    assert all(len(p) <= 3 for p in parts) and len(parts) > 10
    assert json.loads(EXPECTED.split("\n")[1])["reply"] == "You said: " + QUESTION


async def test_anthropic_sdk_reads_a_json_reply_cut_into_pieces(
    anthropic_fake: AnthropicFake,
) -> None:
    anthropic_fake.control.script(text=SCRIPT, text_pieces=4)
    messages: Any = [{"role": "user", "content": QUESTION}]
    async with anthropic.AsyncAnthropic(
        base_url=anthropic_fake.base_url, api_key="sk-ant-test", max_retries=0
    ) as client:
        whole = await client.messages.create(
            model="claude-3-5-haiku-latest", max_tokens=200, messages=messages
        )
        assert [b.text for b in whole.content if b.type == "text"] == [EXPECTED]
        async with client.messages.stream(
            model="claude-3-5-haiku-latest", max_tokens=200, messages=messages
        ) as stream:
            parts = [text async for text in stream.text_stream]
    assert "".join(parts) == EXPECTED and len(parts) > 10
