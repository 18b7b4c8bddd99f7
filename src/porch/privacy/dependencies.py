"""Privacy's side of what the lifespan built, for routes: `RuleBookDep`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from porch.deps import built
from porch.privacy.rules import RuleBook


async def get_rulebook(conn: HTTPConnection) -> RuleBook:
    rules: RuleBook = built(conn, "redaction")
    return rules


RuleBookDep = Annotated[RuleBook, Depends(get_rulebook)]
