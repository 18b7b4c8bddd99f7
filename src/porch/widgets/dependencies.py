"""The widget config cache the lifespan built, for routes: `WidgetCacheDep`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from porch.deps import built
from porch.widgets.cache import WidgetCache


async def get_widgets(conn: HTTPConnection) -> WidgetCache:
    widgets: WidgetCache = built(conn, "widgets")
    return widgets


WidgetCacheDep = Annotated[WidgetCache, Depends(get_widgets)]
