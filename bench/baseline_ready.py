"""The start-up benchmark's baseline: a bare Starlette app with one `/ready` route.

Run as `uvicorn bench.baseline_ready:app`, with the same loop and HTTP parser as porch.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def ready(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ready"})


app = Starlette(routes=[Route("/ready", ready)])
