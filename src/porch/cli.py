"""The `porch` command: serve, worker, migrate, user, widget, ingest, privacy, eval, action,
doctor."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porch.actions.cli import app as action_app
from porch.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

app = typer.Typer(
    help="porch: self-hostable AI support chat.", no_args_is_help=True, add_completion=False
)
user_app = typer.Typer(help="Owner accounts.", no_args_is_help=True)
widget_app = typer.Typer(help="Widgets.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(widget_app, name="widget")
privacy_app = typer.Typer(help="Retention sweeps and erasures.", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")
eval_app = typer.Typer(help="Tests of a widget's assistant.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.add_typer(action_app, name="action")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


async def _migrate(settings: Settings) -> None:
    from porch.db import create_engine
    from porch.migrate import upgrade

    engine = create_engine(settings)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@app.command()
def migrate() -> None:
    """Apply database migrations."""
    settings = _settings()
    asyncio.run(_migrate(settings))
    typer.echo(f"migrated {settings.resolved_database_url.split('@')[-1]}")


async def _seed_demo(settings: Settings) -> tuple[str, str, str]:
    from porch.demo import ensure_demo
    from porch.knowledge.search.keyword import keyword_index

    async with _session(settings) as session:
        index = keyword_index(session.get_bind().dialect.name)
        demo = await ensure_demo(session, index)
    return demo.email, demo.password, demo.widget_id


def _announce_demo(settings: Settings, base: str) -> None:
    """Create the demo owner, widget and page, and say where to find them."""
    os.environ.setdefault("PORCH_PUBLIC_URL", base)
    # A demo is a trial: the README's tour signs up a second account on it.
    os.environ.setdefault("PORCH_ALLOW_SIGNUP", "true")
    email, password, widget_id = asyncio.run(_seed_demo(settings))
    page = (
        f"{base}/demo"
        if _settings().demo_enabled
        else "off in production (PORCH_DEMO_PAGE=true turns it on)"
    )
    typer.echo(
        f"\n  porch is running at {base}\n"
        f"  demo page:  {page}\n"
        f"  dashboard:  {base}/app/   (sign in as {email} / {password})\n"
        f"  widget:     {base}/w/{widget_id}\n"
        f"  API docs:   {base}/docs\n"
        f"  sign-up:    {'open' if _settings().allow_signup else 'closed'} (PORCH_ALLOW_SIGNUP)\n"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    demo: Annotated[bool, typer.Option(help="Create a demo owner, widget and page.")] = False,
) -> None:
    """Run the HTTP server (migrating first in embedded mode)."""
    import uvicorn

    settings = _settings()
    if settings.is_sqlite or settings.auto_migrate:
        asyncio.run(_migrate(settings))
    if demo:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        _announce_demo(settings, f"http://{shown}:{port}")
    uvicorn.run(
        "porch.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        # Measured with bench/websockets.py (5,000 idle sockets): websockets-sansio and wsproto
        # cost about the same memory, sansio delivered a broadcast faster; the legacy backend
        # costs ~120 KB per socket. permessage-deflate adds ~35 KB per socket (its zlib state)
        # for frames that are small JSON: off.
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        # Clients send small JSON frames (typing, pongs); nothing needs 16 MB.
        ws_max_size=64 * 1024,
        # porch's heartbeat already pings every socket with a frame the page answers (and can
        # see, which protocol pings it cannot) and closes the silent ones; uvicorn's own
        # pings would double that work and keep two timers per socket.
        ws_ping_interval=None,
        ws_ping_timeout=None,
        # X-Forwarded-For is believed only from PORCH_TRUSTED_PROXIES, by the app itself
        # (porch.app.Porch): uvicorn's own default trusts anything on this machine.
        proxy_headers=False,
        server_header=False,
        log_level="warning",
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) + 1,
        timeout_keep_alive=settings.http_keepalive_seconds,
    )


@app.command()
def worker() -> None:
    """Run background jobs (crawls, uploads, re-syncs) from the Redis queue."""
    from porch.jobs.worker import WorkerConfigError
    from porch.observability import logging as porch_logging
    from porch.tasks import run_worker

    settings = _settings()
    porch_logging.configure(settings.log_level, settings.log_json)
    if settings.is_sqlite or settings.auto_migrate:
        asyncio.run(_migrate(settings))
    try:
        asyncio.run(run_worker(settings))
    except WorkerConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@app.command()
def doctor() -> None:
    """Check configuration, database, Redis and the LLM provider's settings."""
    settings = _settings()
    ok = asyncio.run(_doctor(settings))
    raise typer.Exit(0 if ok else 1)


async def _doctor(settings: Settings) -> bool:
    from sqlalchemy import text

    from porch.db import create_engine

    good = True
    typer.echo(f"settings   ok (data dir {settings.data_dir.resolve()})")
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        typer.echo(f"database   ok ({engine.dialect.name})")
    except Exception as exc:
        good = False
        typer.echo(f"database   FAILED: {exc}")
    finally:
        await engine.dispose()
    if settings.redis_url:
        from redis.asyncio import Redis

        client = Redis.from_url(settings.redis_url, socket_connect_timeout=2)
        try:
            await client.ping()
            typer.echo("redis      ok")
        except Exception as exc:
            good = False
            typer.echo(f"redis      FAILED: {exc}")
        finally:
            await client.aclose()
    else:
        typer.echo("redis      not configured (in-process cache, limits and jobs)")
    typer.echo(f"llm        {settings.llm_provider} {settings.llm_model or ''}".rstrip())
    return good


@user_app.command("create")
def user_create(
    email: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    workspace: Annotated[str | None, typer.Option(help="Workspace name.")] = None,
) -> None:
    """Create an owner with a workspace (sign-up rules do not apply here)."""
    from porch.accounts import service as accounts
    from porch.accounts.schemas import SignupIn

    settings = _settings()
    body = SignupIn(email=email, password=password, workspace_name=workspace)

    async def run() -> str:
        async with _session(settings) as session:
            user, ws = await accounts.signup(
                session,
                email=body.email,
                password=body.password,
                workspace_name=body.workspace_name,
                allow_signup=True,
            )
            return f"created {user.email} in workspace {ws.name} ({ws.id})"

    typer.echo(asyncio.run(run()))


@widget_app.command("create")
def widget_create(email: str, name: str) -> None:
    """Create a widget in the workspace of the owner with this email."""
    from sqlalchemy import select

    from porch.models import Membership, User
    from porch.widgets import service as widgets
    from porch.widgets.schemas import WidgetCreate

    settings = _settings()

    async def run() -> str:
        async with _session(settings) as session:
            workspace_id = await session.scalar(
                select(Membership.workspace_id)
                .join(User, User.id == Membership.user_id)
                .where(User.email == email.lower())
                .limit(1)
            )
            if workspace_id is None:
                raise typer.BadParameter(f"no owner {email}")
            widget = await widgets.create(session, workspace_id, WidgetCreate(name=name))
            return f"created widget {widget.id}\n{settings.public_url}/w/{widget.id}"

    typer.echo(asyncio.run(run()))


@app.command()
def ingest(
    widget_id: str,
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    title: Annotated[str | None, typer.Option(help="Source title (default: file name).")] = None,
) -> None:
    """Add a text or Markdown file to a widget's knowledge base."""
    import uuid

    from porch.knowledge.search.keyword import keyword_index
    from porch.knowledge.sources import service as knowledge
    from porch.models import Widget

    settings = _settings()

    async def run() -> str:
        async with _session(settings) as session:
            widget = await session.get(Widget, uuid.UUID(widget_id))
            if widget is None:
                raise typer.BadParameter(f"no widget {widget_id}")
            index = keyword_index(session.get_bind().dialect.name)
            source = await knowledge.add_text(
                session,
                index,
                widget.workspace_id,
                widget.id,
                title=title or path.name,
                body=path.read_text(encoding="utf-8", errors="replace"),
            )
            return f"source {source.id}: {source.chunks} chunks"

    typer.echo(asyncio.run(run()))


@eval_app.command("run")
def eval_run(
    widget: Annotated[str, typer.Option(help="The widget's id.")],
    tags: Annotated[list[str] | None, typer.Option("--tags", help="Only cases with a tag.")] = None,
    output: Annotated[str, typer.Option("--format", help="json or text.")] = "text",
) -> None:
    """Run a widget's eval cases now; exit code 1 when a case fails (for CI)."""
    import uuid

    from porch.errors import NotFound
    from porch.evals.offline import run_once

    settings = _settings()
    try:
        widget_id = uuid.UUID(widget)
    except ValueError:
        raise typer.BadParameter(f"not a widget id: {widget}") from None
    wanted = [t for tag in tags or [] for t in tag.split(",") if t]
    try:
        run = asyncio.run(run_once(settings, widget_id, wanted))
    except NotFound as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(2) from None
    if output == "json":
        typer.echo(run.model_dump_json())
    else:
        for r in run.results:
            typer.echo(f"{r.outcome:8} {r.name}")
        typer.echo(f"{run.passed} passed, {run.failed} failed, {run.skipped} skipped")
    if run.failed or run.status != "done":
        raise typer.Exit(1)


@asynccontextmanager
async def _session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A committed session on a short-lived engine, for one CLI command."""
    from porch.db import create_engine, create_sessionmaker, session_scope

    engine = create_engine(settings)
    try:
        async for session in session_scope(create_sessionmaker(engine)):
            yield session
    finally:
        await engine.dispose()


def main() -> None:
    try:
        app()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()


async def _with_engine(settings: Settings, run: Any) -> Any:
    from porch.db import create_engine, create_sessionmaker

    engine = create_engine(settings)
    try:
        return await run(create_sessionmaker(engine), engine)
    finally:
        await engine.dispose()


@privacy_app.command("reapply")
def privacy_reapply() -> None:
    """After restoring a backup: erase again everyone an erasure's tombstone names."""
    from porch.privacy.tasks import reapply

    settings = _settings()
    done = asyncio.run(_with_engine(settings, lambda sm, engine: reapply(settings, sm, engine)))
    typer.echo(
        f"re-erased {done['subjects']} subjects: "
        f"{done['conversations']} conversations, {done['messages']} messages"
    )


@privacy_app.command("sweep")
def privacy_sweep() -> None:
    """Run the retention sweep once, now (the server also runs it on its own)."""
    from porch.privacy.sweep import Sweeper

    settings = _settings()

    async def run(sm: Any, engine: Any) -> str:
        sweeper = Sweeper(
            sm,
            engine,
            interval=0,
            batch=settings.privacy_sweep_batch,
            pause=settings.privacy_sweep_pause,
        )
        r = await sweeper.sweep()
        if not r.ran:
            return "another process is sweeping now"
        return (
            f"deleted {r.conversations} conversations, anonymized {r.anonymized}, "
            f"{r.messages} messages, {r.deliveries} delivery log entries"
        )

    typer.echo(asyncio.run(_with_engine(settings, run)))
