"""The AI Widget Server's API (seed 000): widget config, styling, environment and health.

`agentId` is a porch widget id; without one the default widget (the oldest) answers. Each
reply carries every field the seed documents, with its type; porch's extras are marked as
such in docs/compatibility.md. Nothing here is secret: no keys, no model, no database.
"""

from __future__ import annotations

import resource
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.requests import HTTPConnection

from porch import __version__
from porch.chat.answer.context import State
from porch.chat.answer.dependencies import ChatDep
from porch.chat.visitor import service
from porch.chat.visitor.compat_shapes import iso
from porch.chat.visitor.dependencies import widget_for_visitor
from porch.deps import SettingsDep
from porch.errors import BadRequest
from porch.providers.base import BreakerSnapshot
from porch.widgets.cache import WidgetConfig
from porch.widgets.schemas import Theme

router = APIRouter(include_in_schema=False)
AgentId = Annotated[str | None, Query(alias="agentId", max_length=100)]
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# Worst first: the seed reports one breaker, porch has one per provider and model.
_BREAKER_ORDER = {"open": 0, "half_open": 1, "closed": 2}


async def _widget(
    state: State, request: Request, agent_id: str | None
) -> tuple[WidgetConfig, bool]:
    """The widget `agentId` names (or the default one), and whether it was already cached."""
    named = None
    if agent_id:
        try:
            named = uuid.UUID(agent_id)
        except ValueError:
            raise BadRequest(
                "Invalid agent ID format: agentId is a porch widget id (a UUID).",
                code="validation_error",
            ) from None
    wid = await service.widget_or_default(state, named)
    cached = state.widgets.cached(wid)
    return await widget_for_visitor(state, request, wid), cached


@router.get("/api/config")
async def config(state: ChatDep, request: Request, agent_id: AgentId = None) -> dict[str, Any]:
    widget, cached = await _widget(state, request, agent_id)
    # porch's public config (what this route served before: widget_id, greeting, theme, …)
    # with the seed's fields; `title` and `subtitle` are in both.
    public: dict[str, Any] = orjson.loads(widget.public_json)
    return {
        **public,
        "agentId": str(widget.id),
        "cached": cached,
        "timestamp": iso(datetime.now(UTC)),
    }


@router.get("/api/widget-config")
async def widget_config(
    state: ChatDep, request: Request, agent_id: AgentId = None
) -> dict[str, Any]:
    widget, cached = await _widget(state, request, agent_id)
    theme = Theme.model_validate(orjson.loads(widget.public_json)["theme"])
    # porch has one accent colour: it is the seed's primary, secondary and button colour.
    return {
        "primaryColor": theme.primary_color,
        "secondaryColor": theme.primary_color,
        "buttonColor": theme.primary_color,
        "textColor": theme.text_color,
        "backgroundColor": theme.background_color,
        "borderRadius": f"{theme.border_radius}px",
        "cached": cached,
        "fontFamily": theme.font_family,
        "colorScheme": theme.color_scheme,
    }


@router.get("/api/environment")
async def environment(s: SettingsDep) -> dict[str, Any]:
    host = urlsplit(s.public_url).hostname or ""
    debug = s.log_level == "debug"
    return {
        "environment": "development" if host in _LOOPBACK else "production",
        "debugMode": debug,
        "serverUrl": s.public_url,
        "version": __version__,
        "features": {"connectionStatus": debug, "debugging": debug, "detailedLogging": debug},
    }


class _Process(State, Protocol):
    """What the health report reads beyond the pipeline's view (the lifespan's state is one)."""

    started_at: float


async def _process(conn: HTTPConnection) -> _Process:
    state: _Process = conn.app.state.porch
    return state


@router.get("/api/health")
async def health(state: Annotated[_Process, Depends(_process)]) -> dict[str, Any]:
    used, peak = _memory_bytes()
    return {
        "status": "healthy",
        "timestamp": iso(datetime.now(UTC)),
        "uptime": round(time.time() - state.started_at),
        "memory": {"used": _mb(used), "total": _mb(peak)},
        "cache": {
            "keys": len(state.widgets),
            "hits": state.widgets.hits,
            "misses": state.widgets.misses,
        },
        "circuitBreaker": _breaker(state.providers.breakers()),
    }


def _breaker(snapshots: list[BreakerSnapshot]) -> dict[str, Any]:
    """The worst of porch's breakers, in the seed's words ("half-open"), failures summed."""
    worst = min(snapshots, key=lambda b: _BREAKER_ORDER[b.state], default=None)
    opened = [b.opened_at for b in snapshots if b.opened_at is not None]
    return {
        "state": worst.state.replace("_", "-") if worst is not None else "closed",
        "failures": sum(b.failures for b in snapshots),
        "lastFailure": iso(datetime.fromtimestamp(max(opened), UTC)) if opened else None,
    }


def _memory_bytes() -> tuple[int, int]:
    """Resident memory now and at most (the seed's heap used and total), in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak *= 1 if sys.platform == "darwin" else 1024  # Linux reports KiB, macOS bytes
    try:
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[1]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        used = peak
    return used, max(used, peak)


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"
