"""A fake Anthropic Messages API over real HTTP, with the real streaming event sequence."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.fakes.control import FakeControl, Script
from tests.fakes.server import (
    ASGIApp,
    FakeServer,
    Message,
    Receive,
    Send,
    Stream,
    error_headers,
    main,
    prompt_tokens,
    read_request,
    send_json,
    sse,
    stream_pieces,
)

_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _texts(body: dict[str, Any]) -> list[str]:
    texts = [str(body.get("system") or "")]
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        else:
            texts.extend(str(block.get("text", "")) for block in content or [])
    return texts


def _message(
    body: dict[str, Any], content: list[dict[str, Any]], stop: str | None, usage: dict[str, int]
) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage,
    }


def _last_user(body: dict[str, Any]) -> str | None:
    users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
    if not users:
        return None
    content = users[-1].get("content")
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if b.get("type") == "text")
    return str(content or "")


def _last_tool_result(body: dict[str, Any]) -> str | None:
    found: str | None = None
    for message in body.get("messages") or []:
        content = message.get("content")
        for block in content if isinstance(content, list) else []:
            if block.get("type") == "tool_result":
                inner = block.get("content")
                if isinstance(inner, list):
                    inner = "".join(str(b.get("text", "")) for b in inner)
                found = str(inner)
    return found


def _tool_blocks(script: Script) -> list[dict[str, Any]]:
    return [
        {"type": "tool_use", "id": i, "name": n, "input": json.loads(a)}
        for i, n, a in script.tool_arguments()
    ]


def create_app(control: FakeControl) -> ASGIApp:
    """The ASGI app; every behaviour comes from `control`."""

    async def app(scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = await read_request(scope, receive)
        if request.method != "POST" or request.path != "/v1/messages":
            await send_json(
                send,
                404,
                {"type": "error", "error": {"type": "not_found_error", "message": "not found"}},
            )
            return
        script, fail = control.plan(request)
        body: dict[str, Any] = request.json or {}
        script = script.for_request(_last_tool_result(body), _last_user(body))
        if fail:
            assert script.status is not None
            error = {
                "type": _ERRORS.get(script.status, "api_error"),
                "message": f"fake failure {script.status}",
            }
            await send_json(
                send, script.status, {"type": "error", "error": error}, error_headers(script)
            )
        elif body.get("stream") and not script.ignore_stream:
            await _stream(body, script, receive, send, control)
        else:
            await asyncio.sleep(script.first_token_latency)
            pieces = script.pieces()
            usage = {
                "input_tokens": prompt_tokens(script, _texts(body)),
                "output_tokens": len(pieces),
            }
            text = "".join(pieces)
            content = [{"type": "text", "text": text}] if text or not script.tool_calls else []
            content += _tool_blocks(script)
            stop = "tool_use" if script.tool_calls else "end_turn"
            await send_json(send, 200, _message(body, content, stop, usage))

    return app


async def _stream(
    body: dict[str, Any], script: Script, receive: Receive, send: Send, control: FakeControl
) -> None:
    start_usage = {"input_tokens": prompt_tokens(script, _texts(body)), "output_tokens": 1}
    if not script.usage:
        start_usage = {}

    def delta(text: str) -> bytes:
        data = {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": text},
        }
        return sse(data, "content_block_delta")

    malformed = (
        b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "del\n\n'
    )
    error = sse(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "error"
    )
    async with Stream(receive, send, control) as stream:
        await stream.send(
            sse(
                {"type": "message_start", "message": _message(body, [], None, start_usage)},
                "message_start",
            )
        )
        text_block = bool(script.pieces()) or not script.tool_calls
        if text_block:
            await stream.send(
                sse(
                    {
                        "type": "content_block_start",
                        "index": 0,
                        "content_block": {"type": "text", "text": ""},
                    },
                    "content_block_start",
                )
            )
        await stream.send(sse({"type": "ping"}, "ping"))
        if not await stream_pieces(stream, script, delta, malformed, error):
            return
        if text_block:
            await stream.send(sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
        for index, block in enumerate(_tool_blocks(script), start=int(text_block)):
            await _stream_tool_use(stream, index, block, script.tool_pieces)
        usage = {"output_tokens": len(script.pieces())} if script.usage else {}
        await stream.send(
            sse(
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": "tool_use" if script.tool_calls else "end_turn",
                        "stop_sequence": None,
                    },
                    "usage": usage,
                },
                "message_delta",
            )
        )
        await stream.send(sse({"type": "message_stop"}, "message_stop"))


async def _stream_tool_use(stream: Stream, index: int, block: dict[str, Any], pieces: int) -> None:
    """A tool_use block as the API streams it: empty input, then input_json_delta parts."""
    start = {**block, "input": {}}
    await stream.send(
        sse(
            {"type": "content_block_start", "index": index, "content_block": start},
            "content_block_start",
        )
    )
    text = json.dumps(block["input"])
    size = max(1, -(-len(text) // max(1, pieces)))
    for i in range(0, len(text), size):
        part = {"type": "input_json_delta", "partial_json": text[i : i + size]}
        await stream.send(
            sse(
                {"type": "content_block_delta", "index": index, "delta": part},
                "content_block_delta",
            )
        )
    await stream.send(sse({"type": "content_block_stop", "index": index}, "content_block_stop"))


class AnthropicFake(FakeServer):
    """`with AnthropicFake() as fake: AsyncAnthropic(base_url=fake.base_url, api_key="sk-test")`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(create_app, host=host, port=port)


if __name__ == "__main__":
    main(create_app, "fake Anthropic Messages API")
