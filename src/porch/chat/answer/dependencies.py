"""The pipeline's view of the running process, for the routes that start an answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from porch.chat.answer.context import State


async def get_chat(conn: HTTPConnection) -> State:
    state: State = conn.app.state.porch
    return state


ChatDep = Annotated[State, Depends(get_chat)]
