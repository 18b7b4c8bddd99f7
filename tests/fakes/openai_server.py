"""A fake OpenAI-compatible API (chat completions, models) over real HTTP, scripted from tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

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
    stream_pieces,
)

_ERRORS = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "permission_denied"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def _texts(body: dict[str, Any]) -> list[str]:
    return [str(m.get("content") or "") for m in body.get("messages") or []]


def _last_tool_result(body: dict[str, Any]) -> str | None:
    results = [m for m in body.get("messages") or [] if m.get("role") == "tool"]
    return str(results[-1].get("content")) if results else None


def _last_user(body: dict[str, Any]) -> str | None:
    users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
    return str(users[-1].get("content") or "") if users else None


def _split(text: str, parts: int) -> list[str]:
    """JSON text cut into about `parts` pieces, as vendors stream a call's arguments."""
    size = max(1, -(-len(text) // max(1, parts)))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def create_app(control: FakeControl) -> ASGIApp:
    """The ASGI app; every behaviour comes from `control`."""

    async def app(scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = await read_request(scope, receive)
        if request.method == "GET" and request.path == "/v1/models":
            model = {"id": "fake-model", "object": "model", "created": 0, "owned_by": "porch"}
            await send_json(send, 200, {"object": "list", "data": [model]})
            return
        if request.method != "POST" or request.path != "/v1/chat/completions":
            await send_json(
                send, 404, {"error": {"message": "not found", "type": "invalid_request_error"}}
            )
            return
        script, fail = control.plan(request)
        body: dict[str, Any] = request.json or {}
        script = script.for_request(_last_tool_result(body), _last_user(body))
        if fail:
            assert script.status is not None
            kind, code = _ERRORS.get(script.status, ("server_error", "server_error"))
            error = {
                "message": f"fake failure {script.status}",
                "type": kind,
                "param": None,
                "code": code,
            }
            await send_json(send, script.status, {"error": error}, error_headers(script))
        elif body.get("stream") and not script.ignore_stream:
            await _stream(body, script, receive, send, control)
        else:
            await _complete(body, script, send)

    return app


async def _complete(body: dict[str, Any], script: Script, send: Send) -> None:
    pieces = script.pieces()
    await asyncio.sleep(script.first_token_latency)
    message: dict[str, Any] = {"role": "assistant", "content": "".join(pieces), "refusal": None}
    calls = script.tool_arguments()
    if calls:
        message["content"] = message["content"] or None
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
            for i, n, a in calls
        ]
    reply = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls" if calls else "stop",
                "logprobs": None,
                "message": message,
            }
        ],
        "usage": _usage(body, script, len(pieces)),
    }
    await send_json(send, 200, reply)


def _usage(body: dict[str, Any], script: Script, completion: int) -> dict[str, int]:
    prompt = prompt_tokens(script, _texts(body))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


async def _stream(
    body: dict[str, Any], script: Script, receive: Receive, send: Send, control: FakeControl
) -> None:
    include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and script.usage
    base: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model"),
        "system_fingerprint": "fp_fake",
    }
    if include_usage:
        base["usage"] = None  # as OpenAI does on every chunk but the last

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return b"data: " + orjson.dumps({**base, "choices": [choice]}) + b"\n\n"

    malformed = b'data: {"id": "chatcmpl-fake", "choices": [{"delta": {"content": "tru\n\n'
    error = b'data: {"error": {"message": "fake stream failure", "type": "server_error"}}\n\n'
    async with Stream(receive, send, control) as stream:
        await stream.send(chunk({"role": "assistant", "content": "", "refusal": None}))
        if not await stream_pieces(
            stream, script, lambda p: chunk({"content": p}), malformed, error
        ):
            return
        for index, (call_id, name, args) in enumerate(script.tool_arguments()):
            head = {"index": index, "id": call_id, "type": "function"}
            if script.tool_pieces <= 1:
                function = {"name": name, "arguments": args}
                await stream.send(chunk({"tool_calls": [{**head, "function": function}]}))
                continue
            function = {"name": name, "arguments": ""}
            await stream.send(chunk({"tool_calls": [{**head, "function": function}]}))
            for part in _split(args, script.tool_pieces):
                piece = {"index": index, "function": {"arguments": part}}
                await stream.send(chunk({"tool_calls": [piece]}))
        await stream.send(chunk({}, "tool_calls" if script.tool_calls else "stop"))
        if include_usage:
            usage = _usage(body, script, len(script.pieces()))
            await stream.send(
                b"data: " + orjson.dumps({**base, "choices": [], "usage": usage}) + b"\n\n"
            )
        await stream.send(b"data: [DONE]\n\n")


class OpenAIFake(FakeServer):
    """`with OpenAIFake() as fake: AsyncOpenAI(base_url=fake.base_url, api_key="sk-test")`."""

    api_prefix = "/v1"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(create_app, host=host, port=port)


if __name__ == "__main__":
    main(create_app, "fake OpenAI-compatible server")
