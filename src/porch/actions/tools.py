"""Actions as a model's tools: the function schema it is shown, and porch's answer to each call.

The model sees only model-sourced parameters (`arguments.model_parameters`); a value it
proposes for any other parameter (a verified email, a constant, a secret) is ignored and
porch fills it (`execute.resolve_for`). A read action runs at once; a write or destructive
one becomes the same pending confirmation the offline path makes (`turn.ask_confirmation`):
the model is told a card is shown, and nothing is sent until the visitor confirms. Results go
back to the model as the projected response only: never the raw body, never a secret.
Arguments that do not fit the schema are recorded as a failed call (`invalid_arguments`,
the proposal secret-masked, the problems) and never sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from porch.actions import calls, confirm, execute, notify, turn
from porch.actions.arguments import Visitor, Where, model_parameters, required
from porch.actions.context import ActionsState
from porch.actions.definition import Definition
from porch.actions.events import ActionEvent
from porch.actions.runner import SIGN_IN_TEXT
from porch.actions.templating import MASK, mask_value
from porch.ids import uuid7
from porch.models.base import utcnow
from porch.providers.base import Tool, ToolCall, ToolResult

log = structlog.get_logger("porch.actions")
Emit = Callable[[ActionEvent], None]
# The JSON Schema keywords a vendor is shown; porch's own (sources, extract rules) stay home.
_SCHEMA_KEYS = ("type", "description", "enum", "pattern", "maxLength", "minimum", "maximum")
RETRY = "Call the tool again with corrected arguments, or ask the visitor if unsure."
ASK = "Do not call this tool again in this turn; ask the visitor for the correct details."
CONFIRMING = (
    "Nothing has been done yet: porch is showing the visitor a confirmation card for this. "
    "Tell the visitor to confirm it on the card; do not say that it is done."
)
AWAITING_AGENT = (
    "Nothing has been done yet: a member of the team must approve this before it runs. "
    "Tell the visitor it is waiting for the team; do not say that it is done."
)


def tools_for(actions: Sequence[Definition]) -> tuple[Tool, ...]:
    """One function per enabled action, named by its slug."""
    out = []
    for action in actions:
        mapping = action.as_mapping()
        visible = model_parameters(mapping)
        properties = {
            name: {k: schema[k] for k in _SCHEMA_KEYS if k in schema}
            for name, schema in visible.items()
        }
        parameters = {
            "type": "object",
            "properties": properties,
            "required": [n for n in required(mapping) if n in visible],
            "additionalProperties": False,
        }
        description = action.title + (f": {action.description}" if action.description else "")
        if action.needs_confirmation:
            description += " (the visitor confirms before it runs)"
        out.append(Tool(action.slug, description, parameters))
    return tuple(out)


@dataclass
class Ledger:
    """What one conversation turn did with tools, for the next round and the claim guard."""

    # Invalid proposals per action: the first goes back to the model, the second stops it.
    bad: dict[str, int] = field(default_factory=dict)
    # porch's own texts for the confirmation cards opened in this turn, shown after the reply.
    confirmations: list[str] = field(default_factory=list)
    stop_tools: bool = False


@dataclass(frozen=True, slots=True)
class TurnContext:
    """Who and where the calls are for; `message_id` is the reply they belong to."""

    actions: tuple[Definition, ...]
    visitor: Visitor
    where: Where
    conversation_id: uuid.UUID
    message_id: uuid.UUID
    emit: Emit


def _result(call: ToolCall, content: Mapping[str, Any], *, error: bool = False) -> ToolResult:
    return ToolResult(call.id, orjson.dumps(content, default=str).decode(), error)


async def answer(
    session: AsyncSession, state: ActionsState, here: TurnContext, call: ToolCall, ledger: Ledger
) -> ToolResult:
    """Run, refuse or hold one tool call for confirmation; what the model is told. Flushes."""
    action = next((a for a in here.actions if a.slug == call.name), None)
    if action is None:
        return _result(
            call, {"error": "unknown_tool", "message": f"No tool {call.name}."}, error=True
        )
    try:
        proposed = orjson.loads(call.arguments or "{}")
    except orjson.JSONDecodeError:
        proposed = None
    if not isinstance(proposed, dict):
        problems = {"arguments": "must be a JSON object"}
        return await _invalid(session, state, here, call, action, {}, problems, ledger)
    visible = model_parameters(action.as_mapping())
    props = action.parameters.get("properties") or {}
    ignored = sorted(n for n in proposed if n in props and n not in visible)
    if ignored:
        # Why: the model may be talked into someone else's email; porch fills these itself.
        log.warning("action_model_argument_ignored", action=action.slug, parameters=ignored)
    own = {k: v for k, v in proposed.items() if k not in ignored}
    record = calls.new_call(
        action,
        trigger="model",
        status="running",
        proposed=proposed,
        conversation_id=here.conversation_id,
        message_id=here.message_id,
    )
    record.id = uuid7()  # events name the call before the row is flushed
    resolved, secrets = await execute.resolve_for(
        session, state.settings, action, own, here.visitor, here.where
    )
    record.arguments = _masked(action, proposed, secrets)
    if resolved is None:
        record.status, record.error_class = "failed", "config"
        record.error, record.visitor_text = "the action needs a verified visitor", SIGN_IN_TEXT
        record.finished_at = utcnow()
        session.add(record)
        await session.flush()
        await notify.finished(session, record)
        here.emit(ActionEvent(record.id, action.slug, "failed", SIGN_IN_TEXT))
        return _result(call, {"error": "sign_in_required", "message": SIGN_IN_TEXT}, error=True)
    problems = {n: e for n, e in resolved.errors.items() if n in visible or n not in props}
    problems.update(dict.fromkeys(resolved.missing, "is required"))
    if problems:
        masked = record.arguments
        return await _invalid(session, state, here, call, action, masked, problems, ledger)
    if resolved.errors:  # a porch-filled parameter failed: the owner's setup, recorded
        result = await execute.perform(
            session, state.settings, state.metrics, action, record, resolved, secrets
        )
        here.emit(ActionEvent(record.id, action.slug, "failed", result.visitor_text))
        content = {"error": result.error_class, "message": result.visitor_text}
        return _result(call, content, error=True)
    shown = {k: v for k, v in resolved.values.items() if k in visible}
    if action.needs_confirmation:
        session.add(record)
        text = await turn.ask_confirmation(session, action, record, shown, here.emit)
        if record.confirmation == "agent":
            # Held for a team member (approval.py): the visitor has nothing to confirm.
            ledger.confirmations.append(text)
            return _result(call, {"status": "awaiting_approval", "message": AWAITING_AGENT})
        ledger.confirmations.append(
            confirm.summary(action, shown) + " Confirm it on the card, or reply yes or no."
        )
        return _result(call, {"status": "needs_confirmation", "message": CONFIRMING})
    here.emit(ActionEvent(record.id, action.slug, "started", f"{action.title}…"))
    result = await execute.perform(
        session, state.settings, state.metrics, action, record, resolved, secrets
    )
    here.emit(ActionEvent(record.id, action.slug, result.state, result.visitor_text))
    if result.state != "succeeded":
        content = {"error": result.error_class, "message": result.visitor_text}
        return _result(call, content, error=True)
    return _result(call, {"status": "succeeded", "result": result.projected})


def _masked(
    action: Definition, proposed: dict[str, Any], secrets: dict[str, str]
) -> dict[str, Any]:
    """The proposal as recorded: a value for a secret-sourced parameter is never stored, and
    a secret's value the model somehow learnt is masked wherever it appears."""
    values = list(secrets.values())
    return {
        name: MASK
        if action.sources.get(name, "").startswith("secret:")
        else mask_value(value, values)
        for name, value in proposed.items()
    }


async def _invalid(
    session: AsyncSession,
    state: ActionsState,
    here: TurnContext,
    call: ToolCall,
    action: Definition,
    proposed: dict[str, Any],
    problems: dict[str, str],
    ledger: Ledger,
) -> ToolResult:
    """Arguments that do not fit the schema: recorded, nothing sent. Once the model may retry."""
    ledger.bad[action.slug] = tries = ledger.bad.get(action.slug, 0) + 1
    if tries > 1:
        ledger.stop_tools = True
    # A row, not only a log line: the owner sees in the call log what the model got wrong
    # (often a description that needs a better example), filtered with the other failures.
    record = calls.new_call(
        action,
        trigger="model",
        status="failed",
        proposed=proposed,
        conversation_id=here.conversation_id,
        message_id=here.message_id,
    )
    record.error_class = "invalid_arguments"
    record.error = orjson.dumps(problems, option=orjson.OPT_SORT_KEYS).decode()
    record.finished_at = utcnow()
    session.add(record)
    await session.flush()
    state.metrics.action_calls.labels("model", "failed", "invalid_arguments").inc()
    log.info(
        "action_model_arguments_invalid",
        action=action.slug,
        call_id=str(record.id),
        problems=sorted(problems),
    )
    content = {
        "error": "invalid_arguments",
        "problems": problems,
        "instruction": RETRY if tries == 1 else ASK,
    }
    return _result(call, content, error=True)
