"""Actions in a simulated conversation: what the offline answerer would call, without calling.

An eval case asks the assistant as a visitor would, storing nothing (simulate.py). When the
widget answers without a model, its actions take part as in a real conversation
(actions/turn.py): a message that matches an action's examples starts it, missing
parameters are asked for one at a time, writes wait for a typed "yes", identity comes from
the case turn's visitor. What differs is the call itself:

- **mocked** (the default): nothing is sent. The owner's API is answered by the action's
  latest successful recorded response (a test run's, or a real call's), so a case checks
  the conversation and the result text without touching the site's systems;
- **live** (an `action_called` assertion with `live: true`): sent for real through the
  runner, recorded in the call log with trigger `test`.

Every call made or mocked is one entry of the reply's `actions`, which the `action_called`
and `action_not_called` assertions read. With a vendor's model the model chooses actions
through tool calls, which the simulator does not run yet: those assertions are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.actions import calls, confirm, execute, offline
from porch.actions import templating as tpl
from porch.actions.arguments import Visitor, Where, model_parameters
from porch.actions.definition import Definition, from_row
from porch.actions.runner import SIGN_IN_TEXT
from porch.evals.context import Runtime
from porch.models import Action, ActionCall

STOPPED = "Okay, I have stopped. Is there anything else I can help with?"


@dataclass
class _Pending:
    action: Definition
    values: dict[str, Any]
    asking: str | None = None  # a parameter asked for; None: waiting for "yes" or "no"


@dataclass
class Actions:
    """One simulated conversation's actions: the widget's enabled ones and what is pending."""

    definitions: tuple[Definition, ...]
    live: frozenset[str]
    mocks: dict[str, Any]
    pending: _Pending | None = None
    made: list[dict[str, Any]] = field(default_factory=list)


async def load(session: AsyncSession, widget_id: Any, live: frozenset[str]) -> Actions:
    rows = await session.scalars(
        select(Action)
        .where(Action.widget_id == widget_id, Action.enabled.is_(True))
        .order_by(Action.created_at)
    )
    definitions = tuple(from_row(r) for r in rows)
    mocks: dict[str, Any] = {}
    for d in definitions:
        latest = await session.scalar(
            select(ActionCall.response)
            .where(ActionCall.action_id == d.id, ActionCall.status == "succeeded")
            .order_by(ActionCall.id.desc())
            .limit(1)
        )
        mocks[d.slug] = latest if latest is not None else {}
    return Actions(definitions, live, mocks)


def visitor_of(turn: Mapping[str, Any]) -> Visitor:
    who = turn.get("visitor") or {}
    verified = bool(who.get("verified") or who.get("attributes"))
    return Visitor(
        user_id=who.get("user_id"),
        verified=verified and bool(who.get("user_id")),
        claims=dict(who.get("attributes") or {}),
    )


async def take(rt: Runtime, state: Actions, question: str, visitor: Visitor) -> str | None:
    """The reply when this turn concerns an action, else None (the answerer goes on)."""
    if not state.definitions:
        return None
    pending, state.pending = state.pending, None
    if pending is not None and pending.asking is None:
        said = offline.decision(question)
        if said == "confirm":
            return await _call(rt, state, pending.action, pending.values, visitor)
        if said == "decline":
            state.made.append(_entry(pending.action, pending.values, "declined", STOPPED))
            return STOPPED
    elif pending is not None:
        if offline.decision(question) == "decline":
            return STOPPED
        value = offline.answer_to(pending.action, pending.asking or "", question)
        values = {**pending.values, pending.asking or "": value}
        return await _advance(rt, state, pending.action, values, visitor)
    action = offline.match(state.definitions, question)
    if action is None:
        return None
    return await _advance(rt, state, action, offline.extract(action, question), visitor)


async def _advance(
    rt: Runtime, state: Actions, action: Definition, values: dict[str, Any], visitor: Visitor
) -> str:
    async with rt.sessionmaker() as session:
        resolved, _ = await execute.resolve_for(
            session, rt.settings, action, values, visitor, Where()
        )
    if resolved is None:
        state.made.append(_entry(action, values, "failed", SIGN_IN_TEXT, "config"))
        return SIGN_IN_TEXT
    visible = model_parameters(action.as_mapping())
    bad = next((n for n in resolved.errors if n in visible), None)
    if bad is not None or resolved.missing:
        name = bad or resolved.missing[0]
        kept = {k: v for k, v in values.items() if k != name and v is not None}
        state.pending = _Pending(action, kept, name)
        return offline.question_for(action, name, resolved.errors.get(name))
    shown = {k: v for k, v in resolved.values.items() if k in visible}
    if action.needs_confirmation:
        state.pending = _Pending(action, values)
        return f"{confirm.summary(action, shown)} Reply yes to go ahead, or no to cancel."
    return await _call(rt, state, action, values, visitor)


async def _call(
    rt: Runtime, state: Actions, action: Definition, values: dict[str, Any], visitor: Visitor
) -> str:
    async with rt.sessionmaker() as session:
        resolved, secrets = await execute.resolve_for(
            session, rt.settings, action, values, visitor, Where()
        )
        if resolved is None:
            state.made.append(_entry(action, values, "failed", SIGN_IN_TEXT, "config"))
            return SIGN_IN_TEXT
        sent = {k: v for k, v in resolved.values.items() if k not in resolved.secrets}
        if action.slug not in state.live:
            text = _mocked_text(action, resolved.values, state.mocks.get(action.slug))
            state.made.append(_entry(action, sent, "succeeded", text, mocked=True))
            return text
        call = calls.new_call(action, trigger="test", status="running", proposed=values)
        result = await execute.perform(
            session, rt.settings, rt.metrics, action, call, resolved, secrets
        )
        await session.commit()
    state.made.append(
        _entry(action, sent, result.state, result.visitor_text, result.error_class, call_id=call.id)
    )
    return result.visitor_text


def _mocked_text(action: Definition, values: Mapping[str, Any], response: Any) -> str:
    projected = tpl.project(response, action.response_fields)
    template = action.result_template or f"Done: {action.title}."
    return tpl.render_result(template, {**values, "response": projected})


def _entry(
    action: Definition,
    arguments: Mapping[str, Any],
    state: str,
    text: str,
    error_class: str | None = None,
    *,
    mocked: bool = False,
    call_id: Any = None,
) -> dict[str, Any]:
    return {
        "slug": action.slug,
        "arguments": dict(arguments),
        "state": state,
        "text": text,
        "error_class": error_class,
        "mocked": mocked,
        "call_id": str(call_id) if call_id else None,
    }
