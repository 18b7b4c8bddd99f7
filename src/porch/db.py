"""Engine and session factories; SQLite gets WAL and foreign keys on every connection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from porch.settings import Settings


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # First: every pragma after it that takes a lock waits for a busy writer instead of
    # failing the request with "database is locked".
    cur.execute("PRAGMA busy_timeout=5000")
    # Privacy: a new file frees the pages of what retention and erasure delete (the sweep
    # runs incremental_vacuum), and deleted rows are overwritten, not left in free space.
    # auto_vacuum only takes effect before the first table, and setting it writes the
    # header: set it on a new, empty file only, not on every connection.
    cur.execute("PRAGMA page_count")
    if cur.fetchone()[0] == 0:
        cur.execute("PRAGMA auto_vacuum=INCREMENTAL")
    cur.execute("PRAGMA secure_delete=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# JSON columns (a message's sources, an event's data) are written and read on every message:
# orjson does it in a fraction of the standard library's time (the same values, written compactly).
_JSON = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=False, **_JSON)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        # No pre-ping: it is a round trip per checkout. A connection broken by a restart
        # fails its statement, SQLAlchemy invalidates the pool, and the next one reconnects.
        pool_pre_ping=False,
        pool_recycle=1800,
        # asyncpg's statement cache is per connection; keep it, it is most of the speed.
        # A connect that hangs (database restarting) fails in seconds and becomes a 503,
        # rather than holding the request for asyncpg's default minute.
        connect_args={"server_settings": {"application_name": "porch"}, "timeout": 5},
        **_JSON,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the request's transaction has committed (cache invalidation, events)."""
    session.info.setdefault("after_commit", []).append(callback)


_ON_COMMIT = "porch.on_commit"
_HOOKED = "porch.on_commit.hooked"


def when_committed(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call `callback` once the session's transaction commits, whoever commits it (a request's
    scope, a job, the answer turn); drop it if the transaction rolls back. Synchronous, as
    SQLAlchemy's commit hook is: publish, or schedule a task. For work only the request scope
    commits, `after_commit` takes a coroutine."""
    sync = session.sync_session
    sync.info.setdefault(_ON_COMMIT, []).append(callback)
    if not sync.info.get(_HOOKED):
        sync.info[_HOOKED] = True
        event.listen(sync, "after_commit", _committed)
        event.listen(sync, "after_rollback", _rolled_back)


def _committed(sync: Any) -> None:
    for callback in sync.info.pop(_ON_COMMIT, []):
        callback()


def _rolled_back(sync: Any) -> None:
    sync.info.pop(_ON_COMMIT, None)


async def run_after_commit(session: AsyncSession) -> None:
    for callback in session.info.pop("after_commit", []):
        await callback()


async def session_scope(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One session per request: commit when the handler returns, roll back when it raises."""
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()
            await run_after_commit(session)
