"""Shared fixtures: an app on SQLite (default) or on the real PostgreSQL + Redis, and HTTP helpers.

Modules opt into both storage modes with
`pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)`.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text

from porch.app import create_app
from porch.db import create_engine
from porch.migrate import upgrade
from porch.models import Base
from porch.settings import Settings
from tests.fakes import AnthropicFake, OpenAIFake

PG_ADMIN_URL = os.environ.get(
    "PORCH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def _redis_url_of_this_worker() -> str:
    """The Redis database of this test process: pytest-xdist worker gwN takes the base db - N.

    Each test flushes its database, so two workers sharing one would wipe each other's keys.
    """
    base = os.environ.get("PORCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return base
    root, _, db = base.rpartition("/")
    return f"{root}/{int(db or 0) - int(worker[2:])}"


REDIS_URL = _redis_url_of_this_worker()
BOTH = ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])]
# A PostgreSQL with pgvector (scripts/pgvector-server.sh): dense search in the database.
PGVECTOR_ADMIN_URL = os.environ.get(
    "PORCH_TEST_PGVECTOR_URL", "postgresql+asyncpg://postgres@127.0.0.1:5439/postgres"
)
PGVECTOR = pytest.param("pgvector", marks=[pytest.mark.postgres, pytest.mark.redis])
# Retrieval runs on all three: SQLite, PostgreSQL without pgvector, PostgreSQL with it.
VECTORS = [*BOTH, PGVECTOR]


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test: migrating once keeps tests fast."""
    folder = tmp_path_factory.mktemp("template")
    settings = Settings(data_dir=folder)
    engine = create_engine(settings)
    await upgrade(engine)
    await engine.dispose()
    return folder / "porch.db"


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    """A database of our own on the real PostgreSQL, migrated once per run."""
    name = f"porch_test_{os.getpid()}"
    admin = create_engine(Settings(database_url=PG_ADMIN_URL))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")  # type: ignore[assignment]
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(Settings(database_url=url))
    await upgrade(engine)
    await engine.dispose()
    yield url
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(scope="session")
async def pgvector_url() -> AsyncIterator[str]:
    """A database of our own on the pgvector PostgreSQL; skipped when it is not running."""
    name = f"porch_test_{os.getpid()}"
    admin = create_engine(Settings(database_url=PGVECTOR_ADMIN_URL))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")  # type: ignore[assignment]
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OSError:
        await admin.dispose()
        pytest.skip("no pgvector PostgreSQL: run scripts/pgvector-server.sh")
    url = PGVECTOR_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(Settings(database_url=url))
    await upgrade(engine)
    await engine.dispose()
    yield url
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture
def settings(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, sqlite_template: Path
) -> Settings:
    overrides: dict[str, Any] = dict(
        getattr(request.node.get_closest_marker("settings"), "kwargs", {})
    )
    # gc_young_threshold 0: a full collection and a freeze per test's app would only cost time.
    base: dict[str, Any] = {
        "data_dir": tmp_path,
        "log_json": False,
        "log_level": "warning",
        "gc_young_threshold": 0,
    }
    if backend in ("postgres", "pgvector"):
        url = request.getfixturevalue("pg_url" if backend == "postgres" else "pgvector_url")
        return Settings(**base, database_url=url, redis_url=REDIS_URL, **overrides)
    shutil.copy(sqlite_template, tmp_path / "porch.db")
    return Settings(**base, **overrides)


async def _reset_postgres(url: str) -> None:
    # DELETE, children first, rather than TRUNCATE: a test leaves a few rows behind, and
    # TRUNCATE's per-table lock and file swap cost more than deleting them: 75.9 ms against
    # 8.8 ms for 37 tables (`python -m bench.reset`, median of 10).
    engine = create_engine(Settings(database_url=url))
    async with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(table.delete())
    await engine.dispose()


async def _reset_redis() -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    if not settings.is_sqlite:
        # Each test starts from empty tables and an empty Redis.
        await _reset_postgres(settings.resolved_database_url)
        await _reset_redis()
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://porch.test") as c:
        yield c


async def ops_get(app: FastAPI, path: str) -> httpx.Response:
    """GET /status or /metrics from this machine: they answer loopback only by default."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40002))
    async with httpx.AsyncClient(transport=transport, base_url="http://porch.test") as local:
        return await local.get(path)


@dataclass
class OwnerClient:
    """An httpx client signed in as an owner, sending the CSRF header on writes."""

    http: httpx.AsyncClient
    csrf: str
    workspace_id: str
    email: str

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf, **(extra or {})}

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return await self.http.get(url, **kw)

    async def post(
        self, url: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return await self.http.post(url, headers=self._headers(headers), **kw)

    async def patch(
        self, url: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return await self.http.patch(url, headers=self._headers(headers), **kw)

    async def put(
        self, url: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return await self.http.put(url, headers=self._headers(headers), **kw)

    async def delete(
        self, url: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return await self.http.delete(url, headers=self._headers(headers), **kw)


async def signup(app: FastAPI, email: str | None = None) -> OwnerClient:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 40001))
    http = httpx.AsyncClient(transport=transport, base_url="http://porch.test")
    email = email or f"owner-{uuid.uuid4().hex[:8]}@example.com"
    resp = await http.post(
        "/api/v1/auth/signup", json={"email": email, "password": "correct horse"}
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    return OwnerClient(http, body["csrf_token"], body["workspace"]["id"], email)


@pytest.fixture
async def owner(app: FastAPI) -> AsyncIterator[OwnerClient]:
    o = await signup(app)
    yield o
    await o.http.aclose()


FAQ = """# Passwords
To reset your password, open the sign-in page and click "Forgot password". The reset link
stays valid for one hour.

# Plans
The Pro plan costs $12 per month and includes unlimited sites and 1 TB of bandwidth.
"""


async def make_widget(owner: OwnerClient, **fields: Any) -> dict[str, Any]:
    resp = await owner.post("/api/v1/widgets", json={"name": "Help", **fields})
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


@pytest.fixture
async def widget(owner: OwnerClient) -> dict[str, Any]:
    w = await make_widget(
        owner,
        greeting="Hello! Ask me anything.",
        fallback_message="Email help@example.com for more.",
    )
    resp = await owner.post(
        f"/api/v1/widgets/{w['id']}/sources",
        json={"type": "text", "title": "Help center", "text": FAQ},
    )
    assert resp.status_code == 202, resp.text
    return w


@dataclass
class VisitorSession:
    conversation_id: str
    token: str
    greeting: list[dict[str, Any]]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def start_conversation(
    client: httpx.AsyncClient, widget_id: str, **body: Any
) -> VisitorSession:
    resp = await client.post(f"/api/v1/widgets/{widget_id}/conversations", json=body)
    assert resp.status_code == 201, resp.text
    data = resp.json()
    return VisitorSession(data["conversation_id"], data["visitor_token"], data["messages"])


@pytest.fixture
async def visitor(client: httpx.AsyncClient, widget: dict[str, Any]) -> VisitorSession:
    return await start_conversation(client, widget["id"])


def parse_sse(body: str) -> list[tuple[str, Any]]:
    """(event, data) pairs from an SSE body."""
    import json

    events = []
    for frame in body.split("\n\n"):
        name, data = "message", None
        for line in frame.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
        if data is not None:
            events.append((name, data))
    return events


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fakes are on loopback; a CI proxy must not sit in between or change the transport."""
    for name in (
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def openai_server() -> Iterator[OpenAIFake]:
    with OpenAIFake() as fake:
        yield fake


@pytest.fixture(scope="session")
def anthropic_server() -> Iterator[AnthropicFake]:
    with AnthropicFake() as fake:
        yield fake


@pytest.fixture
def openai_fake(openai_server: OpenAIFake) -> OpenAIFake:
    openai_server.control.reset()
    return openai_server


@pytest.fixture
def anthropic_fake(anthropic_server: AnthropicFake) -> AnthropicFake:
    anthropic_server.control.reset()
    return anthropic_server


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
