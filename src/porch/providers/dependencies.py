"""The LLM providers the lifespan built, for routes: `ProvidersDep`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from porch.deps import built
from porch.providers.registry import ProviderRegistry


async def get_providers(conn: HTTPConnection) -> ProviderRegistry:
    providers: ProviderRegistry = built(conn, "providers")
    return providers


ProvidersDep = Annotated[ProviderRegistry, Depends(get_providers)]
