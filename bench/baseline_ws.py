"""The WebSocket baseline: a bare Starlette endpoint holding sockets, one POST to broadcast.

Run as `uvicorn bench.baseline_ws:app`; the same uvicorn and ws backend as porch, nothing else.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

SOCKETS: set[WebSocket] = set()


async def socket(ws: WebSocket) -> None:
    await ws.accept()
    SOCKETS.add(ws)
    try:
        while True:
            await ws.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        SOCKETS.discard(ws)


async def broadcast(request: Request) -> Response:
    text = (await request.body()).decode()
    for ws in list(SOCKETS):
        await ws.send_text(text)
    return Response(str(len(SOCKETS)))


app = Starlette(
    routes=[WebSocketRoute("/ws", socket), Route("/broadcast", broadcast, methods=["POST"])]
)
