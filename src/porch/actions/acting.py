"""The tool loop: a vendor's model offered the widget's actions, its calls answered, repeated.

`offer` wraps the widget's model in an ActingModel when the widget has enabled actions; the
pipeline streams from it like from any ChatModel. Each round streams the model with the
actions as tools; when it ends asking for calls, porch answers them (tools.answer: read
actions run, write ones become confirmation cards, bad arguments go back once) and asks
again with the results, for at most MAX_ROUNDS rounds of calls; the last request forbids
calls so the model must answer in words. Every text delta passes the claim guard
(claims.py) before the visitor sees it, and porch's own confirmation text ends the reply.

A widget whose model has no function calling (`features.tool_calling = "json"`) runs the
same loop over the JSON-reply protocol of json_mode.py instead: no tools are sent, each
proposed action is answered by the same tools.answer, and its result goes back as a user
message after the model's own answer.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import replace

import structlog
from sqlalchemy import select

from porch.actions import json_mode, tools, turn
from porch.actions.claims import ClaimGuard
from porch.actions.context import ActionsState
from porch.actions.events import ActionEvent
from porch.models import Widget
from porch.providers.base import (
    ChatModel,
    CompletionRequest,
    Grounding,
    ProviderUnavailable,
    StreamEvent,
    StreamInterrupted,
    TextDelta,
    ToolCall,
    ToolCalls,
    ToolResult,
    ToolRound,
    Turn,
    Usage,
)
from porch.providers.registry import VENDORS
from porch.settings import Settings

log = structlog.get_logger("porch.actions")
MAX_ROUNDS = 3
Emit = Callable[[ActionEvent], None]


def by_model(settings: Settings, widget_provider: str | None) -> bool:
    """Whether a vendor's model answers this widget (and so starts actions by tool calls)."""
    return (widget_provider or settings.llm_provider) in VENDORS


async def offer(
    state: ActionsState,
    model: ChatModel,
    conversation_id: uuid.UUID,
    widget_id: uuid.UUID,
    message_id: uuid.UUID,
    emit: Emit,
) -> ChatModel:
    """`model` itself, or wrapped to use the widget's actions; the offline and curated
    answerers are never wrapped (the offline path runs actions on its own, turn.py)."""
    if model.provider not in VENDORS:
        return model
    actions = await state.actions.enabled(widget_id)
    if not actions:
        return model
    async with state.sessionmaker() as session:
        visitor, where = await turn.who(session, conversation_id)
        # Read here rather than passed in: only widgets with actions need it.
        features = await session.scalar(select(Widget.features).where(Widget.id == widget_id))
    here = tools.TurnContext(actions, visitor, where, conversation_id, message_id, emit)
    by_json = (features or {}).get("tool_calling") == "json"
    return ActingModel(model, state, here, by_json=by_json)


class ActingModel:
    """A ChatModel that runs the tool loop around another; one instance per reply."""

    def __init__(
        self,
        inner: ChatModel,
        state: ActionsState,
        here: tools.TurnContext,
        *,
        by_json: bool = False,
    ) -> None:
        self._inner = inner
        self._state = state
        self._here = here
        self._by_json = by_json

    @property
    def provider(self) -> str:
        return self._inner.provider

    @property
    def model(self) -> str:
        return self._inner.model

    def stream(self, request: CompletionRequest) -> AsyncGenerator[StreamEvent, None]:
        return self._json(request) if self._by_json else self._tools(request)

    async def _tools(self, request: CompletionRequest) -> AsyncGenerator[StreamEvent, None]:
        ledger = tools.Ledger()
        guard = ClaimGuard()
        request = replace(request, tools=tools.tools_for(self._here.actions))
        prompt = completion = 0
        shown = False  # whether any text reached the visitor
        gap = ""  # between one round's words and the next round's
        for done_rounds in range(MAX_ROUNDS + 1):
            final = done_rounds == MAX_ROUNDS or ledger.stop_tools
            if final:
                request = replace(request, may_call_tools=False)
            said: list[str] = []
            asked: ToolCalls | None = None
            try:
                async with contextlib.aclosing(self._inner.stream(request)) as events:
                    async for event in events:
                        if isinstance(event, TextDelta):
                            safe = guard.feed((gap if not said else "") + event.text)
                            said.append(event.text)
                            if safe:
                                shown = True
                                yield TextDelta(safe)
                        elif isinstance(event, ToolCalls):
                            asked = event
                        elif isinstance(event, Usage):
                            prompt += event.prompt_tokens
                            completion += event.completion_tokens
                        else:
                            yield event
            except ProviderUnavailable as exc:
                if done_rounds == 0:
                    raise  # nothing happened yet: the pipeline may answer offline instead
                # Calls were answered already; an offline answer would ignore them.
                raise StreamInterrupted(exc.code, exc.message) from exc
            if asked is None or final:
                break
            results = await self._answer(asked.calls, ledger)
            round_ = ToolRound("".join(said), asked.calls, results)
            request = replace(request, rounds=(*request.rounds, round_))
            gap = " " if said else gap
        for event in self._ending(guard, ledger, shown):
            yield event
        yield Usage(prompt, completion)

    async def _json(self, request: CompletionRequest) -> AsyncGenerator[StreamEvent, None]:
        """The loop over json_mode's protocol: at most MAX_ROUNDS actions, one correction."""
        ledger = tools.Ledger()
        guard = ClaimGuard()
        system = json_mode.system_prompt(request.system, self._here.actions)
        base = replace(request, system=system, tools=(), rounds=())
        history = json_mode.in_protocol(request.turns)
        extra: list[Turn] = []  # the model's answers and porch's results, after the question
        prompt = completion = 0
        shown = corrected = answered = refused = False
        rounds = 0
        while True:
            final = rounds == MAX_ROUNDS or ledger.stop_tools
            reader = json_mode.ReplyReader()
            try:
                ask = replace(base, turns=(*history, *extra))
                async with contextlib.aclosing(self._inner.stream(ask)) as events:
                    async for event in events:
                        if isinstance(event, TextDelta):
                            safe = guard.feed(reader.feed(event.text))
                            if safe:
                                shown = True
                                yield TextDelta(safe)
                        elif isinstance(event, Usage):
                            prompt += event.prompt_tokens
                            completion += event.completion_tokens
                        elif not isinstance(event, ToolCalls):  # none were offered
                            yield event
            except ProviderUnavailable as exc:
                if not answered:
                    raise
                raise StreamInterrupted(exc.code, exc.message) from exc
            said = reader.raw.strip() or "{}"
            if reader.replying:
                reader.finish()
                if not (reader.closed and reader.trailing_ok):
                    self._slipped("reply_not_closed" if not reader.closed else "trailing_text")
                refused = not reader.given
                break
            parsed = json_mode.parse(said)
            if isinstance(parsed, json_mode.Reply):
                safe = guard.feed(parsed.text)
                shown = shown or bool(safe)
                if safe:
                    yield TextDelta(safe)
                refused = not parsed.text.strip()
                break
            if isinstance(parsed, json_mode.Proposal) and not final:
                call = ToolCall(f"json_{rounds}", parsed.action, parsed.arguments)
                (result,) = await self._answer([call], ledger)
                answered, rounds = True, rounds + 1
                last = rounds == MAX_ROUNDS or ledger.stop_tools
                told = f"Result of {parsed.action}: {result.content}\n"
                told += json_mode.LAST if last else json_mode.AGAIN
                extra += [Turn("assistant", said), Turn("user", told)]
                continue
            if not corrected:
                corrected = True
                self._slipped("malformed")
                fix = json_mode.CORRECTION + (" " + json_mode.LAST if final else "")
                extra += [Turn("assistant", said), Turn("user", fix)]
                continue
            self._slipped("malformed_again")
            refused = not json_mode.prose(said)
            if not refused:
                safe = guard.feed(said)
                shown = shown or bool(safe)
                if safe:
                    yield TextDelta(safe)
            break
        if refused and not shown and not ledger.confirmations:
            # The widget's fallback replaces this when it has one (the pipeline's refusal).
            yield Grounding(answered=False)
            yield TextDelta(json_mode.NO_ANSWER)
        for event in self._ending(guard, ledger, shown):
            yield event
        yield Usage(prompt, completion)

    def _ending(self, guard: ClaimGuard, ledger: tools.Ledger, shown: bool) -> list[TextDelta]:
        """The guard's last sentence and porch's confirmation texts; counts blocked claims."""
        tail = guard.finish()
        if ledger.confirmations:
            joined = " ".join(ledger.confirmations)
            tail += ("\n\n" if shown or tail else "") + joined
        if guard.blocked:
            self._blocked(guard.blocked)
        return [TextDelta(tail)] if tail else []

    def _slipped(self, what: str) -> None:
        log.info(
            "action_json_protocol_broken",
            conversation_id=str(self._here.conversation_id),
            provider=self.provider,
            what=what,
        )

    async def _answer(
        self, calls: Sequence[ToolCall], ledger: tools.Ledger
    ) -> tuple[ToolResult, ...]:
        """One round's calls in order, in one session committed before the model is asked
        again (a confirmation card must exist when the visitor sees it)."""
        async with self._state.sessionmaker() as session:
            results = [
                await tools.answer(session, self._state, self._here, call, ledger) for call in calls
            ]
            await session.commit()
        return tuple(results)

    def _blocked(self, count: int) -> None:
        log.warning(
            "action_claim_blocked",
            conversation_id=str(self._here.conversation_id),
            message_id=str(self._here.message_id),
            provider=self.provider,
            sentences=count,
        )
        self._state.metrics.action_claims_blocked.labels(self.provider).inc()
