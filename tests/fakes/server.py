"""Plumbing shared by the fake vendors: raw ASGI helpers and a uvicorn thread on a free port."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from types import TracebackType
from typing import Any, Self

import orjson
import uvicorn

from tests.fakes.control import FakeControl, RecordedRequest, Script

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
]


async def read_request(scope: Message, receive: Receive) -> RecordedRequest:
    """Read the whole body and parse it as JSON when it is JSON."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        data = None
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    client = scope.get("client")
    return RecordedRequest(
        method=scope["method"],
        path=scope["path"],
        headers=headers,
        json=data,
        client_port=client[1] if client else None,
    )


async def send_json(
    send: Send, status: int, data: Any, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = orjson.dumps(data)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def error_headers(script: Script) -> list[tuple[bytes, bytes]]:
    if script.retry_after is None:
        return []
    return [(b"retry-after", f"{script.retry_after:g}".encode())]


class Stream:
    """One SSE response; notices the client going away so the fake can count disconnects."""

    def __init__(self, receive: Receive, send: Send, control: FakeControl) -> None:
        self._receive, self._send, self._control = receive, send, control
        self.gone = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self._send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        self._watch = asyncio.create_task(self._watch_disconnect())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._watch is not None
        self._watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._watch
        if not self.gone.is_set():
            await self._send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _watch_disconnect(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        self._control.record_disconnect()
        self.gone.set()

    async def send(self, data: bytes) -> None:
        await self._send({"type": "http.response.body", "body": data, "more_body": True})

    async def sleep(self, seconds: float) -> None:
        """Wait, but stop early when the client leaves."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.gone.wait(), seconds)

    async def hang(self) -> None:
        """Send nothing more and keep the connection open until the client or the server quits."""
        while not self.gone.is_set() and not self._control.stopping.is_set():
            await self.sleep(0.05)


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + orjson.dumps(data) + b"\n\n"


class FakeServer:
    """A fake vendor on a real socket: uvicorn in a daemon thread, bound to a free port."""

    api_prefix = ""

    def __init__(
        self, app: Callable[[FakeControl], ASGIApp], host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.control = FakeControl()
        self.host = host
        self._config = uvicorn.Config(
            app(self.control),
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None
        self.port = port

    @property
    def base_url(self) -> str:
        """What to give the vendor's SDK as `base_url`."""
        return f"http://{self.host}:{self.port}{self.api_prefix}"

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.run, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{type(self).__name__} did not start")
            time.sleep(0.002)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self.control.stopping.set()
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(app: Callable[[FakeControl], ASGIApp], description: str) -> None:
    """Serve a fake in the foreground: `python -m tests.fakes.openai_server --port 8001`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay between tokens")
    parser.add_argument(
        "--first-token-ms", type=float, default=0.0, help="delay before the first token"
    )
    parser.add_argument("--tokens", type=int, default=50, help="tokens per reply")
    parser.add_argument("--text", default=None, help="reply text instead of generated tokens")
    parser.add_argument(
        "--stamp",
        action="store_true",
        help="prefix the first token with the fake's monotonic clock",
    )
    args = parser.parse_args()
    control = FakeControl(max_requests=100)
    control.script(
        tokens=args.tokens,
        text=args.text,
        token_latency=args.latency_ms / 1000,
        first_token_latency=args.first_token_ms / 1000,
        stamp=args.stamp,
    )
    uvicorn.run(
        app(control),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


async def stream_pieces(
    stream: Stream, script: Script, frame: Callable[[str], bytes], malformed: bytes, error: bytes
) -> bool:
    """Send the scripted tokens with their latencies; False when the script cut the stream short."""
    pieces = script.pieces()
    await stream.sleep(script.first_token_latency)
    for i in range(len(pieces) + 1):
        if stream.gone.is_set():
            return False
        if i == script.hang_after:
            await stream.hang()
            return False
        if i == script.malformed_after:
            await stream.send(malformed)
            return False
        if i == script.error_after:
            await stream.send(error)
            return False
        if i == len(pieces):
            return True
        if i and script.token_latency:
            await stream.sleep(script.token_latency)
        piece = f"T{time.monotonic_ns()}|{pieces[i]}" if i == 0 and script.stamp else pieces[i]
        await stream.send(frame(piece))
    return True


def prompt_tokens(script: Script, texts: list[str]) -> int:
    """The scripted prompt size, or about four characters a token."""
    if script.prompt_tokens is not None:
        return script.prompt_tokens
    return max(1, sum(len(t) for t in texts) // 4)
