"""Routes served at a second path too, for clients written against the systems porch replaces.

Each alias is the same route (handler, dependencies, authentication) under another path,
left out of the OpenAPI document: no copy of any handler, no path rewritten in flight.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import compile_path


def aliases(routers: Iterable[APIRouter], prefix: str, alias: str) -> APIRouter:
    """The routers' API routes under `prefix`, each served under `alias` instead."""
    out = APIRouter(include_in_schema=False)
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and (
                route.path == prefix or route.path.startswith(prefix + "/")
            ):
                twin = copy.copy(route)
                twin.path = alias + route.path[len(prefix) :]
                twin.path_regex, twin.path_format, twin.param_convertors = compile_path(twin.path)
                twin.include_in_schema = False
                out.routes.append(twin)
    return out
