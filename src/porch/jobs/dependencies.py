"""The job queue the lifespan built, for routes: `JobsDep`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from porch.deps import built
from porch.jobs.queue import Jobs


async def get_jobs(conn: HTTPConnection) -> Jobs:
    jobs: Jobs = built(conn, "jobs")
    return jobs


JobsDep = Annotated[Jobs, Depends(get_jobs)]
