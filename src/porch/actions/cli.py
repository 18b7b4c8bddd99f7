"""`porch action`: list a widget's actions, import drafts from OpenAPI, test one, read the
call log. Each command opens its own short-lived engine, like the rest of the CLI."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from porch.actions.schemas import CallOut
    from porch.pubsub import PubSub
    from porch.settings import Settings

app = typer.Typer(help="Actions: the site's own APIs the assistant can call.", no_args_is_help=True)
T = TypeVar("T")
Format = Annotated[str, typer.Option("--format", help="json or text.")]
Widget = Annotated[str, typer.Option("--widget", help="The widget's id.")]


def _settings() -> Settings:
    from porch.observability import logging as porch_logging
    from porch.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    # Logs go to stderr: stdout is the command's answer (JSON for scripts).
    porch_logging.configure(settings.log_level, settings.log_json)
    return settings


def _id(raw: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise typer.BadParameter(f"not a {what} id: {raw}") from None


def _format(value: str) -> str:
    if value not in ("json", "text"):
        raise typer.BadParameter("--format is json or text")
    return value


@asynccontextmanager
async def _session(settings: Settings) -> AsyncIterator[AsyncSession]:
    from porch.db import create_engine, create_sessionmaker, session_scope

    engine = create_engine(settings)
    try:
        async for session in session_scope(create_sessionmaker(engine)):
            yield session
    finally:
        await engine.dispose()


@asynccontextmanager
async def _pubsub(settings: Settings) -> AsyncIterator[PubSub]:
    """Through Redis when configured, so running servers drop their cached definitions."""
    from porch.pubsub import LocalPubSub, RedisPubSub

    if not settings.redis_url:
        yield LocalPubSub()
        return
    from redis.asyncio import Redis

    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        yield RedisPubSub(redis)
    finally:
        await redis.aclose()


async def _workspace_of(session: AsyncSession, widget_id: uuid.UUID) -> uuid.UUID:
    from porch.models import Widget as WidgetRow

    widget = await session.get(WidgetRow, widget_id)
    if widget is None:
        raise typer.BadParameter(f"no widget {widget_id}")
    return widget.workspace_id


def _run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """The command's coroutine; a refusal by the service is a message and exit code 2."""
    from porch.errors import PorchError

    try:
        return asyncio.run(work())
    except PorchError as exc:
        typer.echo(f"{exc.code}: {exc.message}", err=True)
        raise typer.Exit(2) from None


@app.command("list")
def list_actions(widget: Widget, output: Format = "text") -> None:
    """The widget's actions."""
    from porch.actions import service

    fmt, wid, settings = _format(output), _id(widget, "widget"), _settings()

    async def work() -> list[Any]:
        async with _session(settings) as session:
            workspace = await _workspace_of(session, wid)
            found = await service.list_for_widget(session, workspace, wid)
            return [service.to_out(a) for a in found]

    found = _run(work)
    if fmt == "json":
        typer.echo(json.dumps({"actions": [a.model_dump(mode="json") for a in found]}))
        return
    for a in found:
        state = "enabled" if a.enabled else "disabled"
        typer.echo(f"{a.id}  {a.slug:24} {a.method:6} {a.risk:11} {state:8} v{a.version}")
    if not found:
        typer.echo("no actions")


@app.command("import")
def import_actions(
    widget: Widget,
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON or YAML.")],
    operations: Annotated[
        list[str] | None, typer.Option("--operation", help="Only this operationId.")
    ] = None,
    base_url: Annotated[str | None, typer.Option(help="Replaces servers[0].url.")] = None,
    output: Format = "text",
) -> None:
    """Disabled draft actions from an OpenAPI 3 document: all of them or none."""
    from porch.actions import openapi

    fmt, wid, settings = _format(output), _id(widget, "widget"), _settings()
    text = path.read_text(encoding="utf-8", errors="replace")
    request: dict[str, Any] = {"document": text}
    if operations:
        request["operation_ids"] = operations
    if base_url:
        request["base_url"] = base_url
    raw = json.dumps(request).encode()

    async def work() -> Any:
        async with _session(settings) as session, _pubsub(settings) as pubsub:
            workspace = await _workspace_of(session, wid)
            return await openapi.import_document(session, pubsub, workspace, wid, raw)

    done = _run(work)
    if fmt == "json":
        typer.echo(done.model_dump_json())
        return
    for item in done.actions:
        a = item.action
        typer.echo(f"{a.id}  {a.slug}  {a.method} {a.url}")
        for note in item.notes:
            typer.echo(f"    {note}")
    typer.echo(f"{len(done.actions)} drafts created, disabled")


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{what} is name=value: {item}")
        out[name] = value
    return out


def _typed(raw: dict[str, str], schema: dict[str, Any]) -> dict[str, Any]:
    """`--arg qty=2` as the parameter's type says; anything unclear stays text, and the
    action's own validation names what is wrong."""
    props: dict[str, Any] = schema.get("properties") or {}
    out: dict[str, Any] = {}
    for name, value in raw.items():
        kind = (props.get(name) or {}).get("type", "string")
        try:
            if kind == "integer":
                out[name] = int(value)
            elif kind == "number":
                out[name] = float(value)
            elif kind == "boolean" and value.lower() in ("true", "false"):
                out[name] = value.lower() == "true"
            else:
                out[name] = value
        except ValueError:
            out[name] = value
    return out


@app.command("test")
def run_test(
    action_id: str,
    args: Annotated[
        list[str] | None, typer.Option("--arg", help="A parameter, name=value.")
    ] = None,
    user_id: Annotated[str | None, typer.Option(help="Act as this verified visitor.")] = None,
    claims: Annotated[
        list[str] | None, typer.Option("--claim", help="A verified claim, name=value.")
    ] = None,
    output: Format = "text",
) -> None:
    """Call the owner's API now, as a test run; exit code 1 when the call fails."""
    from porch.actions import trial
    from porch.actions.schemas import TestIn, TestVisitor
    from porch.observability.metrics import Metrics

    fmt, aid, settings = _format(output), _id(action_id, "action"), _settings()
    raw_args, raw_claims = _pairs(args, "--arg"), _pairs(claims, "--claim")

    async def work() -> Any:
        from porch.models import Action

        async with _session(settings) as session:
            row = await session.get(Action, aid)
            if row is None:
                raise typer.BadParameter(f"no action {aid}")
            visitor = TestVisitor(user_id=user_id, claims=raw_claims) if user_id or claims else None
            body = TestIn(arguments=_typed(raw_args, row.parameters or {}), visitor=visitor)
            return await trial.test_action(
                session, settings, Metrics(), row.workspace_id, aid, body
            )

    out = _run(work)
    if fmt == "json":
        typer.echo(out.model_dump_json())
    else:
        if out.request is not None:
            typer.echo(f"request   {out.request.method} {out.request.url}")
            for name, value in out.request.headers.items():
                typer.echo(f"          {name}: {value}")
        typer.echo(f"status    {out.status if out.status is not None else '-'}")
        typer.echo(f"time      {out.duration_ms} ms")
        typer.echo(f"outcome   {'failed: ' + out.error_class if out.error_class else 'succeeded'}")
        if out.error:
            typer.echo(f"error     {out.error}")
        typer.echo(f"visitor   {out.visitor_text}")
        if out.projected is not None:
            typer.echo(f"projected {json.dumps(out.projected)}")
    if out.error_class:
        raise typer.Exit(1)


@app.command("calls")
def list_calls(
    widget: Widget,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed calls.")] = False,
    action: Annotated[str | None, typer.Option(help="Only this action's calls.")] = None,
    conversation: Annotated[str | None, typer.Option(help="Only this conversation's.")] = None,
    output: Format = "text",
) -> None:
    """The call log, newest first (at most 200)."""
    from porch.actions import calls

    fmt, wid, settings = _format(output), _id(widget, "widget"), _settings()
    action_id = _id(action, "action") if action else None
    conversation_id = _id(conversation, "conversation") if conversation else None

    async def work() -> list[CallOut]:
        async with _session(settings) as session:
            workspace = await _workspace_of(session, wid)
            return await calls.list_calls(
                session,
                workspace,
                wid,
                action_id=action_id,
                conversation_id=conversation_id,
                failed_only=failed,
            )

    found = _run(work)
    if fmt == "json":
        typer.echo(json.dumps({"calls": [c.model_dump(mode="json") for c in found]}))
        return
    for c in found:
        outcome = f"FAILED {c.error_class}" if c.state == "failed" else c.state
        when = c.created_at.strftime("%Y-%m-%d %H:%M:%S")
        status = c.status if c.status is not None else "-"
        typer.echo(f"{when}  {c.slug:24} {c.trigger:8} {outcome:24} {status}  {c.id}")
    if not found:
        typer.echo("no calls")
