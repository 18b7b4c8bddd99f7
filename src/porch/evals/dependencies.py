"""The eval runner the lifespan built, for routes: `EvalsDep`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from porch.deps import built
from porch.evals.background import Evals


async def get_evals(conn: HTTPConnection) -> Evals:
    evals: Evals = built(conn, "evals")
    return evals


EvalsDep = Annotated[Evals, Depends(get_evals)]
