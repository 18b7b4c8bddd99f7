"""Actions: the two CPU targets of the tracker's issue 18, each against a baseline of this run.

    python -m bench.actions [--messages 180] [--calls 200] [--actions 5] [--runs 3]

porch runs in process (create_app on SQLite in a temporary folder, the offline answerer,
MiniLM retrieval, as the embedded default), driven through httpx's ASGI transport; CPU is
this process's, from `time.process_time`.

1. CPU per visitor message on a widget with no actions, and on the same widget (same
   source, same questions) with `--actions` enabled actions that the messages do not
   trigger. The questions repeat and are asked once before timing, so the embedder has
   their vectors cached for both widgets. The two widgets alternate within each run
   (six slices, ABBAAB).
   Target: the ratio is 1.0 within the noise (no measurable CPU added).
2. porch's own CPU per action call: `--calls` calls of `POST /api/v1/actions/{id}/test`
   (owner auth, validation, templating, the SSRF check, the request, recording the call),
   and the same calls through `trial.test_action` directly (no route), minus the CPU of as
   many plain requests from this process to the same target (the baseline: what sending
   the request costs anyway), by httpx on a fresh connection each (porch opens one per
   call) and by aiohttp with a fresh session each (porch's own transport, bare). The
   target is a threaded `http.server` answering `{}` instantly on loopback, in a
   subprocess so that its CPU is not this process's. Target: under 2 ms per call.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from asgi_lifespan import LifespanManager

from bench.harness import free_port, median, python, spawn, stop, wait_ready
from porch.actions import trial
from porch.actions.schemas import TestIn
from porch.app import create_app
from porch.db import session_scope
from porch.models import Action
from porch.settings import Settings

FAQ = "# Plans\nThe Pro plan costs $12 per month and includes unlimited sites.\n" * 3
QUESTIONS = [
    "How much is the Pro plan?",
    "What does the Pro plan include?",
    "Is the Pro plan billed per month?",
    "How many sites come with Pro?",
    "What is the price of your plans?",
]
# Owner-defined actions none of the QUESTIONS asks for.
ACTIONS = [
    ("order_status", "Look up an order", ["where is my order", "track my order"]),
    ("cancel_order", "Cancel an order", ["cancel my order", "stop order"]),
    ("start_return", "Start a return", ["return an item", "send it back"]),
    ("update_address", "Change the delivery address", ["change my address", "new address"]),
    ("reset_password", "Reset a password", ["reset my password", "forgot password"]),
    ("book_demo", "Book a demo", ["book a demo", "schedule a call"]),
    ("invoice_copy", "Send an invoice copy", ["send my invoice", "copy of invoice"]),
]
LIMITS = {
    "visitor_messages_per_minute": 10_000,
    "visitor_messages_per_day": 1_000_000,
    "widget_messages_per_day": 100_000_000,
    "conversations_per_ip_per_hour": 100_000,
}


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _reply

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_target(port: int) -> None:
    """The owner's API: `{}` at once, to any path (run in its own process)."""
    ThreadingHTTPServer(("127.0.0.1", port), _Answer).serve_forever()


def action_body(slug: str, title: str, examples: list[str], base: str) -> dict[str, Any]:
    return {
        "slug": slug,
        "title": title,
        "description": f"{title} for the visitor.",
        "examples": examples,
        "method": "GET",
        "url": base + "/orders/{{order_id}}?email={{email}}",
        "parameters": {
            "type": "object",
            "properties": {
                "order_id": {
                    "type": "string",
                    "description": "your order number (like A123)",
                    "pattern": "^[A-Z][0-9]{3}$",
                },
                "email": {"type": "string"},
            },
            "required": ["order_id", "email"],
        },
        "sources": {"email": "identity.user_id"},
        "result_template": "Order {{order_id}} was looked up.",
        "allowed_hosts": ["127.0.0.1"],
    }


class Porch:
    """An owner signed in to an in-process app."""

    def __init__(self, c: httpx.AsyncClient, csrf: str) -> None:
        self.c, self.h = c, {"X-CSRF-Token": csrf}

    async def post(self, url: str, body: Any, want: int = 200) -> Any:
        r = await self.c.post(url, json=body, headers=self.h)
        assert r.status_code == want, r.text
        return r.json()

    async def widget(self, name: str) -> str:
        w = await self.post("/api/v1/widgets", {"name": name, "limits": LIMITS}, 201)
        await self.post(
            f"/api/v1/widgets/{w['id']}/sources",
            {"type": "text", "title": "Plans", "text": FAQ},
            202,
        )
        return str(w["id"])

    async def conversation(self, widget_id: str) -> tuple[str, dict[str, str]]:
        r = await self.c.post(f"/api/v1/widgets/{widget_id}/conversations", json={})
        body = r.json()
        return body["conversation_id"], {"Authorization": f"Bearer {body['visitor_token']}"}


async def message_cpu(p: Porch, widget_id: str, n: int) -> float:
    """CPU ms per visitor message: n messages, five to a conversation (as a visitor asks)."""
    cpu = time.process_time()
    for i in range(0, n, len(QUESTIONS)):
        conv, auth = await p.conversation(widget_id)
        for q in QUESTIONS[: n - i]:
            r = await p.c.post(
                f"/api/v1/conversations/{conv}/messages", json={"content": q}, headers=auth
            )
            assert r.status_code == 200, r.text
    return (time.process_time() - cpu) / n * 1000


async def loop_cpu(n: int, one: Callable[[], Awaitable[None]]) -> float:
    """CPU ms per call of `one`, n calls one after another."""
    cpu = time.process_time()
    for _ in range(n):
        await one()
    return (time.process_time() - cpu) / n * 1000


async def run_once(args: argparse.Namespace, target: str) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="porch-bench-actions-"))
    settings = Settings(data_dir=folder, log_level="error", allow_signup=True)
    app = create_app(settings)
    from porch.cli import _migrate

    await _migrate(Settings(data_dir=folder))
    out: dict[str, float] = {}
    try:
        async with LifespanManager(app, startup_timeout=60):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://porch.bench", timeout=60
            ) as c:
                body = (
                    await c.post(
                        "/api/v1/auth/signup",
                        json={"email": "bench@example.com", "password": "bench password"},
                    )
                ).json()
                p = Porch(c, body["csrf_token"])
                plain, acting = await p.widget("no actions"), await p.widget("with actions")
                for slug, title, examples in ACTIONS[: args.actions]:
                    await p.post(
                        f"/api/v1/widgets/{acting}/actions",
                        action_body(slug, title, examples, target),
                        201,
                    )
                # The calls of figure 2 go to an action of a widget of their own.
                slug, title, examples = ACTIONS[0]
                caller = await p.widget("caller")
                made = await p.post(
                    f"/api/v1/widgets/{caller}/actions",
                    action_body(slug, title, examples, target),
                    201,
                )
                await app.state.porch.jobs.drain()

                # 1. Messages that use no action, with and without actions defined.
                for w in (plain, acting):  # warm-up: routes, caches, the questions' vectors
                    await message_cpu(p, w, 2 * len(QUESTIONS))
                # Six slices in the order ABBAAB, so that neither widget always goes first.
                none: list[float] = []
                some: list[float] = []
                for first in (True, False, True):
                    for with_actions in (not first, first):
                        cpu = await message_cpu(
                            p, acting if with_actions else plain, args.messages // 3
                        )
                        (some if with_actions else none).append(cpu)
                out["msg_no_actions_ms"] = median(none)
                out["msg_with_actions_ms"] = median(some)
                r = await c.get(f"/api/v1/widgets/{acting}/action-calls")
                assert r.status_code == 200, r.text
                out["actions_triggered"] = float(len(r.json()["calls"]))

                # 2. One action call, and what sending its request costs anyway.
                action = made["id"]
                test_in = {
                    "arguments": {"order_id": "A123"},
                    "visitor": {"user_id": "alice@example.com"},
                }

                async def route() -> None:
                    got = await p.post(f"/api/v1/actions/{action}/test", test_in)
                    assert got["error_class"] is None and got["status"] == 200, got

                state = app.state.porch
                async for session in session_scope(state.sessionmaker):
                    row = await session.get(Action, uuid.UUID(action))
                    assert row is not None
                    workspace = row.workspace_id
                parsed = TestIn.model_validate(test_in)

                async def direct() -> None:
                    async for session in session_scope(state.sessionmaker):
                        got = await trial.test_action(
                            session,
                            state.settings,
                            state.metrics,
                            workspace,
                            uuid.UUID(action),
                            parsed,
                        )
                    assert got.error_class is None and got.status == 200, got

                url = f"{target}/orders/A123?email=alice%40example.com"
                fresh = httpx.Limits(max_keepalive_connections=0)
                async with httpx.AsyncClient(limits=fresh, trust_env=False) as bare:

                    async def plain_httpx() -> None:
                        assert (await bare.get(url)).status_code == 200

                    async def plain_aiohttp() -> None:
                        async with (
                            aiohttp.ClientSession(trust_env=False) as s,
                            s.get(url, allow_redirects=False) as resp,
                        ):
                            await resp.read()
                            assert resp.status == 200

                    steps = {
                        "call_route_ms": route,
                        "call_direct_ms": direct,
                        "httpx_ms": plain_httpx,
                        "aiohttp_ms": plain_aiohttp,
                    }
                    for one in steps.values():  # warm-up
                        await loop_cpu(10, one)
                    # Interleaved in slices, so that the machine's noise falls on all four.
                    slices: dict[str, list[float]] = {k: [] for k in steps}
                    for _ in range(4):
                        for name, one in steps.items():
                            slices[name].append(await loop_cpu(args.calls // 4, one))
                    out.update({k: median(v) for k, v in slices.items()})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=180, help="per widget, per run")
    parser.add_argument("--calls", type=int, default=200, help="action calls per run")
    parser.add_argument(
        "--actions",
        type=int,
        default=5,
        choices=range(len(ACTIONS) + 1),
        help="enabled actions on the second widget (0: an A/A check of the method)",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serve-target", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_target:
        serve_target(args.serve_target)
        return

    port = free_port()
    proc = spawn([python(), "-m", "bench.actions", "--serve-target", str(port)])
    target = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{target}/ready", proc)
        runs = [asyncio.run(run_once(args, target)) for _ in range(args.runs)]
    finally:
        stop(proc)

    def fig(key: str) -> float:
        return median([r[key] for r in runs])

    none, some = fig("msg_no_actions_ms"), fig("msg_with_actions_ms")
    ratios = [r["msg_with_actions_ms"] / r["msg_no_actions_ms"] for r in runs]
    print(
        f"\nactions benchmark: porch in process on SQLite, offline answerer; "
        f"median of {args.runs} runs"
    )
    for n, r in enumerate(runs, 1):
        print(f"  run {n}: " + ", ".join(f"{k}={v:.3f}" for k, v in r.items()))
    print(
        f"  CPU per message that uses no action ({args.messages} a widget a run): "
        f"{none:.2f} ms with no actions, {some:.2f} ms with {args.actions} enabled actions; "
        f"adds {some - none:.2f} ms; "
        f"ratio {median(ratios):.2f}x (per run: {', '.join(f'{x:.2f}' for x in ratios)}); "
        f"actions triggered: {int(max(r['actions_triggered'] for r in runs))}"
    )
    httpx_ms, aio_ms = fig("httpx_ms"), fig("aiohttp_ms")
    print(
        f"  baseline, one plain request to the loopback target: httpx {httpx_ms:.2f} ms CPU "
        f"(fresh connection), aiohttp {aio_ms:.2f} ms (fresh session, porch's transport)"
    )
    for key, how in (("call_route_ms", "POST /actions/{id}/test"), ("call_direct_ms", "direct")):
        total = fig(key)
        over = median([r[key] - r["httpx_ms"] for r in runs])
        over_aio = median([r[key] - r["aiohttp_ms"] for r in runs])
        print(
            f"  action call, {how}: {total:.2f} ms CPU; porch's own overhead "
            f"{over:.2f} ms over httpx ({'under' if over < 2 else 'OVER'} the 2 ms target), "
            f"{over_aio:.2f} ms over aiohttp; ratio {total / httpx_ms:.2f}x httpx"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
