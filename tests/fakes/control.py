"""What a fake vendor server should do next, set from tests while it runs in another thread."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Script:
    """One behaviour for every following request, until the next `FakeControl.script()`.

    Latencies are seconds. `status` fails requests with that HTTP status (`fail_times`
    of them, then succeeds; all of them when `fail_times` is None). The `*_after` counts
    are tokens sent before the stream hangs (stays open, silent), turns malformed, or
    reports an in-stream error event.
    """

    text: str | None = None
    tokens: int = 8
    token_latency: float = 0.0
    first_token_latency: float = 0.0
    status: int | None = None
    fail_times: int | None = None
    retry_after: float | None = None
    hang_after: int | None = None
    malformed_after: int | None = None
    error_after: int | None = None
    usage: bool = True
    prompt_tokens: int | None = None
    # Tool use: the reply asks for these calls, each {"name", "arguments" (object or JSON
    # text), optional "id"} and ends with the vendor's tool stop reason. `tool_pieces`
    # streams each call's arguments in that many parts (1: whole, as Ollama sends them).
    tool_calls: tuple[dict[str, Any], ...] = ()
    tool_pieces: int = 3
    # Answer in one JSON body even when a stream is asked for, as some compatible servers do.
    ignore_stream: bool = False
    # Stream the text in pieces of this many characters rather than a word at a time, the
    # way a model's JSON answer arrives cut anywhere (inside a key, an escape, a quote).
    text_pieces: int | None = None
    # Benchmarks: prefix the first token with "T<monotonic ns>|" so a client on this machine
    # can measure the delay porch adds between the vendor's first token and the visitor's.
    stamp: bool = False

    def reply_text(self, tool_result: str | None, last_user: str | None = None) -> str | None:
        """The scripted text, with `{tool_result}` replaced by the last tool result sent and
        `{last_user_json}` by the last user message, escaped to sit inside a JSON string
        (a model without tools reads results in user messages and answers in JSON)."""
        if self.text is None:
            return None
        text = self.text
        if "{tool_result}" in text:
            text = text.replace("{tool_result}", tool_result or "")
        if "{last_user_json}" in text:
            text = text.replace("{last_user_json}", json.dumps(last_user or "")[1:-1])
        return text

    def for_request(self, tool_result: str | None, last_user: str | None = None) -> Script:
        """This script as one request sees it: placeholders filled, and no filler tokens
        beside tool calls unless a text was scripted."""
        if self.tool_calls and self.text is None:
            return replace(self, text="")
        return replace(self, text=self.reply_text(tool_result, last_user))

    def tool_arguments(self) -> list[tuple[str, str, str]]:
        """(id, name, arguments as JSON text) of each scripted call."""
        out = []
        for i, call in enumerate(self.tool_calls):
            args = call.get("arguments", {})
            text = args if isinstance(args, str) else json.dumps(args)
            out.append((str(call.get("id") or f"call_{i}"), str(call["name"]), text))
        return out

    def pieces(self) -> list[str]:
        """The reply cut into tokens the way vendors stream them: a word with its leading space."""
        text = (
            self.text if self.text is not None else " ".join(f"tok{i}" for i in range(self.tokens))
        )
        if self.text_pieces:
            size = self.text_pieces
            return [text[i : i + size] for i in range(0, len(text), size)]
        return re.findall(r"\s*\S+", text) or ([text] if text else [])


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    client_port: int | None = None
    at: float = field(default_factory=time.monotonic)


class FakeControl:
    """Thread-safe script and request log shared by a test and its fake server."""

    def __init__(self, max_requests: int | None = None) -> None:
        self._lock = threading.Lock()
        self._script = Script()
        self._failed = 0
        # Bounded when a fake serves a long benchmark.
        self._requests: deque[RecordedRequest] = deque(maxlen=max_requests)
        # Scripts for the next requests, one each, before the standing one applies again.
        self._queued: deque[Script] = deque()
        self._disconnects = 0
        # Set when the server stops, so that hanging streams let go.
        self.stopping = threading.Event()

    def script(self, **behaviour: Any) -> Script:
        """Replace the behaviour (see `Script`) and restart the `fail_times` count."""
        new = Script(**behaviour)
        with self._lock:
            self._script = new
            self._failed = 0
        return new

    def then(self, *scripts: dict[str, Any]) -> None:
        """Answer the next requests with these scripts, one each (a tool round, then its reply)."""
        with self._lock:
            self._queued.extend(Script(**behaviour) for behaviour in scripts)

    def update(self, **behaviour: Any) -> Script:
        """Change some fields of the current behaviour, keeping the rest."""
        with self._lock:
            self._script = replace(self._script, **behaviour)
            return self._script

    def reset(self) -> None:
        """Back to the default reply, with an empty request log."""
        with self._lock:
            self._script = Script()
            self._failed = 0
            self._requests.clear()
            self._queued.clear()
            self._disconnects = 0

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def connections(self) -> int:
        """Distinct client connections the logged requests came on (1 when pooling works)."""
        with self._lock:
            return len({r.client_port for r in self._requests})

    @property
    def disconnects(self) -> int:
        """Streams the client closed before the fake finished them."""
        with self._lock:
            return self._disconnects

    def wait_for(self, predicate: Callable[[FakeControl], bool], timeout: float = 2.0) -> bool:
        """Poll `predicate(control)` until it holds, blocking: for code outside an event loop."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.005)
        return predicate(self)

    async def until(self, predicate: Callable[[FakeControl], bool], timeout: float = 2.0) -> bool:
        """Poll `predicate(control)` until it holds, letting the test's event loop run meanwhile
        (closing a socket takes a loop turn, so a blocking wait would never see it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            await asyncio.sleep(0.005)
        return predicate(self)

    def plan(self, request: RecordedRequest) -> tuple[Script, bool]:
        """Record a request and decide, atomically, its script and whether it fails."""
        with self._lock:
            self._requests.append(request)
            script = self._queued.popleft() if self._queued else self._script
            fail = script.status is not None and (
                script.fail_times is None or self._failed < script.fail_times
            )
            if fail:
                self._failed += 1
            return script, fail

    def record_disconnect(self) -> None:
        with self._lock:
            self._disconnects += 1
