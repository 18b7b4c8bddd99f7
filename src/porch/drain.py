"""Graceful shutdown: on SIGTERM, refuse new work with 503, let replies in flight finish, then
let the server stop.

uvicorn alone stops listening at once, so a request arriving during the grace period meets a
refused connection. Here the process keeps accepting while it drains: new requests get a 503
with Retry-After (a load balancer retries them elsewhere), `/ready` says `draining`, and the
streams already open run to their end (up to PORCH_SHUTDOWN_GRACE_SECONDS) before uvicorn is
told to exit. A second SIGTERM stops at once.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Collection
from types import FrameType
from typing import Any, Protocol

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from porch.errors import error_body, is_compat_path
from porch.settings import Settings

log = structlog.get_logger("porch.drain")
# Paths that still answer while draining: probes and metrics tell the truth about it.
_OPEN_PATHS = frozenset(
    {"/health", "/live", "/healthz", "/ready", "/readyz", "/status", "/metrics"}
)
RETRY_AFTER = b"2"


class State(Protocol):
    """What draining reads and sets (the lifespan's state is one)."""

    draining: bool

    @property
    def settings(self) -> Settings: ...
    @property
    def answers(self) -> Collection[asyncio.Task[None]]: ...


def install(state: State) -> Callable[[], None]:
    """Take over SIGTERM when a server (uvicorn) handles it; returns the undo. In tests and
    other embeddings, where no handler is installed, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return lambda: None
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if state.draining:
            previous(signum, frame)  # a second SIGTERM: stop now
            return
        state.draining = True
        log.info("draining", answers=len(state.answers))
        task = loop.create_task(_finish_then_exit(state, lambda: previous(signum, frame)))
        tasks.add(task)

    signal.signal(signal.SIGTERM, on_sigterm)

    def undo() -> None:
        if signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, previous)

    return undo


async def _finish_then_exit(state: State, exit_now: Callable[[], Any]) -> None:
    if state.answers:
        await asyncio.wait(set(state.answers), timeout=state.settings.shutdown_grace_seconds)
    # The last events of each reply are written after its task ends; give them a moment.
    await asyncio.sleep(0.2)
    exit_now()


class DrainGate:
    """Answers 503 (with Retry-After and Connection: close) to new requests while draining."""

    def __init__(self, app: ASGIApp, *, state: Callable[[], State | None]) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state() if scope["type"] == "http" else None
        if state is None or not state.draining or scope["path"] in _OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        body = error_body(
            "shutting_down",
            "This server is restarting; please retry in a moment.",
            str(scope.get("state", {}).get("request_id", "")),
            compat=is_compat_path(scope["path"]),
        )
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", RETRY_AFTER),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
