"""The SQLite file porch makes: incremental auto-vacuum and secure delete on a new file, and
a connection opened while another holds the write lock waits for it instead of failing
(setting auto_vacuum on every connection once made such requests 500 "database is locked")."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import text

from porch.db import create_engine
from porch.settings import Settings


async def test_a_new_file_vacuums_incrementally_and_connections_wait_for_a_writer(
    tmp_path: Path,
) -> None:
    engine = create_engine(Settings(data_dir=tmp_path))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
            assert (await conn.execute(text("PRAGMA auto_vacuum"))).scalar() == 2
            assert (await conn.execute(text("PRAGMA secure_delete"))).scalar() == 1
        # A long write (another request's transaction, the job worker, a backup) holds the
        # write lock: new connections still read at once, as WAL allows, instead of each
        # queueing for the lock at connect and failing once busy_timeout runs out.
        holder = sqlite3.connect(tmp_path / "porch.db", timeout=5)
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("INSERT INTO t VALUES (1)")

        async def fresh_connection() -> int:
            # More connections than the pool holds idle: each new one runs the pragmas.
            async with engine.connect() as conn:
                return int((await conn.execute(text("SELECT count(*) FROM t"))).scalar() or 0)

        try:
            counts = await asyncio.wait_for(
                asyncio.gather(*(fresh_connection() for _ in range(8))), 3
            )
        finally:
            holder.commit()
            holder.close()
        assert counts == [0] * 8  # the uncommitted row is not seen
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (2)"))
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 2
    finally:
        await engine.dispose()


def test_a_lock_that_outlasts_the_wait_is_a_moments_unavailability() -> None:
    """Should a writer still hold the file after busy_timeout, the request gets a 503 with
    Retry-After (errors.py), as for a database restarting, not a 500."""
    from sqlalchemy import exc as sa_exc

    from porch.errors import is_database_unavailable

    locked = sa_exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))
    assert is_database_unavailable(locked)
    bad = sa_exc.OperationalError("SELEC 1", {}, sqlite3.OperationalError('near "SELEC"'))
    assert not is_database_unavailable(bad)
