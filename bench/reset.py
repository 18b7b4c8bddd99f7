"""What the PostgreSQL tests pay per test to start from empty tables: DELETE against TRUNCATE.

    python -m bench.reset [--runs 10] [--admin postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

Migrates a scratch database, then times emptying every table of the schema both ways
(`tests/conftest.py _reset_postgres` uses DELETE, children first). Prints the medians and
DELETE's ratio to TRUNCATE, the baseline, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from sqlalchemy import text

from porch.db import create_engine
from porch.migrate import upgrade
from porch.models import Base
from porch.settings import Settings

NAME = "porch_bench_reset"


async def _time(engine: object, runs: int, truncate: bool) -> float:
    tables = list(reversed(Base.metadata.sorted_tables))
    every = ", ".join(t.name for t in tables)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        async with engine.begin() as conn:  # type: ignore[attr-defined]
            if truncate:
                await conn.execute(text(f"TRUNCATE {every} CASCADE"))
            else:
                for table in tables:
                    await conn.execute(table.delete())
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


async def main(runs: int, admin_url: str) -> None:
    admin = create_engine(Settings(database_url=admin_url)).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{NAME}"'))
        await conn.execute(text(f'CREATE DATABASE "{NAME}"'))
    engine = create_engine(Settings(database_url=admin_url.rsplit("/", 1)[0] + f"/{NAME}"))
    try:
        await upgrade(engine)
        truncate = await _time(engine, runs, truncate=True)
        delete = await _time(engine, runs, truncate=False)
        print(f"{len(Base.metadata.sorted_tables)} tables, median of {runs}")
        print(f"TRUNCATE (baseline): {truncate:.1f} ms")
        print(f"DELETE:              {delete:.1f} ms  ({delete / truncate:.2f}x)")
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)'))
        await admin.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--admin", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.admin))
