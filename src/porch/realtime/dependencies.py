"""The realtime hub (record and publish events) the lifespan built, for routes: `RealtimeDep`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from porch.deps import built
from porch.realtime.hub import Realtime


async def get_realtime(conn: HTTPConnection) -> Realtime:
    realtime: Realtime = built(conn, "realtime")
    return realtime


RealtimeDep = Annotated[Realtime, Depends(get_realtime)]
