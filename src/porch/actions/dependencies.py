"""The running process as actions' routes see it (the lifespan's state, narrowed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from porch.actions.context import ActionsState


async def get_actions_state(conn: HTTPConnection) -> ActionsState:
    state: ActionsState = conn.app.state.porch
    return state


ActionsDep = Annotated[ActionsState, Depends(get_actions_state)]
