"""The tool loop: a vendor's model offered the widget's actions, its calls answered, repeated.

`offer` wraps the widget's model in an ActingModel when the widget has enabled actions; the
pipeline streams from it like from any ChatModel. Each round streams the model with the
actions as tools; when it ends asking for calls, porch answers them (tools.answer: read
actions run, write ones become confirmation cards, bad arguments go back once) and asks
again with the results, for at most MAX_ROUNDS rounds of calls; the last request forbids
calls so the model must answer in words. Every text delta passes the claim guard
(claims.py) before the visitor sees it, and porch's own confirmation text ends the reply.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import replace

import structlog

from porch.actions import tools, turn
from porch.actions.claims import ClaimGuard
from porch.actions.context import ActionsState
from porch.actions.events import ActionEvent
from porch.providers.base import (
    ChatModel,
    CompletionRequest,
    ProviderUnavailable,
    StreamEvent,
    StreamInterrupted,
    TextDelta,
    ToolCall,
    ToolCalls,
    ToolResult,
    ToolRound,
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
    here = tools.TurnContext(actions, visitor, where, conversation_id, message_id, emit)
    return ActingModel(model, state, here)


class ActingModel:
    """A ChatModel that runs the tool loop around another; one instance per reply."""

    def __init__(self, inner: ChatModel, state: ActionsState, here: tools.TurnContext) -> None:
        self._inner = inner
        self._state = state
        self._here = here

    @property
    def provider(self) -> str:
        return self._inner.provider

    @property
    def model(self) -> str:
        return self._inner.model

    async def stream(self, request: CompletionRequest) -> AsyncGenerator[StreamEvent, None]:
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
        tail = guard.finish()
        if ledger.confirmations:
            joined = " ".join(ledger.confirmations)
            tail += ("\n\n" if shown or tail else "") + joined
        if tail:
            yield TextDelta(tail)
        if guard.blocked:
            self._blocked(guard.blocked)
        yield Usage(prompt, completion)

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
