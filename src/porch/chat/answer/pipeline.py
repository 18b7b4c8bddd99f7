"""The answer pipeline: limits → store the question → retrieve → prompt → stream → store the reply.

The question is committed before any model is called, and the reply is generated in its
own task, so a visitor who closes the tab, or a shutdown, never cuts a reply mid-write.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from porch import crypto
from porch.actions import acting
from porch.actions import turn as action_turn
from porch.chat.answer import live, prompt, writes
from porch.chat.answer.context import State
from porch.chat.answer.events import Done, Event, Failed, SourcesFound, Started, Token
from porch.chat.answer.reply import Reply
from porch.chat.answer.sources import cited_sources
from porch.chat.answer.stream import ReplyQueue
from porch.conversations import repository as repo
from porch.conversations.repository import ConversationRef
from porch.curation import hook as curation
from porch.errors import is_database_unavailable
from porch.ids import uuid7
from porch.knowledge.search.result import Retrieval
from porch.limits.rules import Rule
from porch.models.base import utcnow
from porch.privacy import stages
from porch.privacy.redaction import redact
from porch.providers.base import (
    ChatModel,
    CompletionRequest,
    ProviderUnavailable,
    StreamInterrupted,
    Usage,
)
from porch.providers.pricing import cost_usd
from porch.usage import service as budgets
from porch.usage.service import Spent
from porch.widgets.cache import WidgetConfig

log = structlog.get_logger("porch.chat")
RETRIEVE_K = 5
Emit = Callable[[Event], None]
HANDED_OFF = frozenset({"waiting_for_agent", "agent"})


@dataclass(frozen=True, slots=True)
class Accepted:
    conversation: ConversationRef
    widget: WidgetConfig
    question: str
    user_message_id: uuid.UUID
    message_id: uuid.UUID | None  # None: a human has the conversation, the assistant is quiet
    # Set when a budget is spent: the widget's fallback message answers, not the model.
    spent: Spent | None = None


async def accept(
    state: State,
    conversation: ConversationRef,
    widget: WidgetConfig,
    question: str,
    *,
    visitor_key: str,
) -> Accepted:
    """Enforce rate limits, store the visitor's message durably, count it against budgets.

    Raises RateLimited first; a spent budget is not an error (see `Accepted.spent`)."""
    s, lim = state.settings, widget.limits
    per_minute = lim.get("visitor_messages_per_minute") or s.default_visitor_messages_per_minute
    per_day = lim.get("visitor_messages_per_day") or s.default_visitor_messages_per_day
    # One of the process's few preparation slots: a burst of new questions waits here
    # instead of crowding the event loop that relays replies already streaming.
    async with state.prepare_slot():
        await state.limits.check(
            [
                (Rule("visitor.minute", per_minute, "minute"), visitor_key),
                (Rule("visitor.day", per_day, "day"), visitor_key),
            ]
        )
        user_message_id = uuid7()
        # Autocommit statements on one connection: the INSERT is durable when it returns (and
        # its trigger counts it), the counters are bumped, and agents see the question at once.
        async with state.autocommit.connect() as conn:
            # Store-stage redaction: the database, its indexes and the agents never see
            # what the workspace's rules remove (card numbers by default).
            rules = await state.redaction.rules(conn, conversation.workspace_id)
            question, redacted = redact(question, rules, "store")
            now = utcnow()
            stored = await writes.store(
                conn,
                {
                    "id": user_message_id,
                    "conversation_id": conversation.id,
                    "workspace_id": conversation.workspace_id,
                    "widget_id": conversation.widget_id,
                    "role": "user",
                    "content": question,
                    "redactions": redacted or None,
                    "created_at": now,
                },
                live.message_event(user_message_id, "user", question, now, redactions=redacted),
                count=None,
            )
            assert stored.totals is not None
            spent = await budgets.counted_message(state, widget, stored.totals)
            # A person's conversation gets no assistant reply.
            quiet = await live.visitor_message(state, conn, conversation, stored.event)
        message_id = None if quiet else uuid7()
        return Accepted(conversation, widget, question, user_message_id, message_id, spent)


def start(state: State, accepted: Accepted) -> asyncio.Queue[Event | None]:
    """Generate the reply in a task of its own; the caller reads events from the queue."""
    queue: asyncio.Queue[Event | None] = ReplyQueue()
    task = asyncio.create_task(_run(state, accepted, queue), name="porch-answer")
    state.track(task)
    return queue


async def _run(state: State, accepted: Accepted, queue: asyncio.Queue[Event | None]) -> None:
    state.metrics.open_streams.inc()
    try:
        queue.put_nowait(Started(accepted.user_message_id, accepted.message_id))
        if accepted.message_id is None:
            queue.put_nowait(Done(None, 0, 0, 0, "handed_off", "", None))
        elif accepted.spent is not None:
            await _answer_spent(state, accepted, accepted.message_id, queue.put_nowait)
        else:
            relay = live.Relay(state, accepted, queue.put_nowait)
            await _answer(state, accepted, accepted.message_id, relay)
    except Exception as exc:
        log.exception("answer_failed", conversation_id=str(accepted.conversation.id))
        # The question is stored; the visitor learns whether asking again soon makes sense.
        code = "database_unavailable" if is_database_unavailable(exc) else "internal_error"
        queue.put_nowait(Failed(code, "Something went wrong; please try again."))
    finally:
        state.metrics.open_streams.dec()
        queue.put_nowait(None)


async def _answer(state: State, acc: Accepted, message_id: uuid.UUID, relay: live.Relay) -> None:
    """Retrieve and prompt, stream the model's reply to the visitor, store it, tell agents."""
    began = time.perf_counter()
    # A message that starts or continues one of the owner's actions is answered by it; with
    # a vendor's model only pending ones continue here: the model starts them by tool calls.
    by_model = acting.by_model(state.settings, acc.widget.provider)
    acted = await action_turn.take(
        state,
        acc.conversation.id,
        acc.widget.id,
        acc.question,
        message_id,
        relay,
        start=not by_model,
    )
    if acted is not None:
        await _store_acted(state, acc, message_id, relay, acted, began)
        return
    model, request = await _prepare(state, acc)
    model = await acting.offer(state, model, acc.conversation.id, acc.widget.id, message_id, relay)
    reply = Reply(relay, began, quiet_refusal=bool(acc.widget.fallback_message))
    model = await _generate(state, model, request, reply)
    if not reply.answered and acc.widget.fallback_message and reply.status != "failed":
        # One refusal, in the owner's words: the answerer's own was held back (Reply).
        reply.add(("\n\n" if reply.text else "") + acc.widget.fallback_message)
    await _store(state, acc, message_id, relay, reply, model, request, began)


async def _store_acted(
    state: State, acc: Accepted, message_id: uuid.UUID, relay: live.Relay, text: str, began: float
) -> None:
    reply = Reply(relay, began)
    reply.add(text)
    reply.answered = True
    model = state.providers.extractive()
    request = CompletionRequest(model=model.model, system="", turns=(), question=acc.question)
    await _store(state, acc, message_id, relay, reply, model, request, began)


async def _prepare(state: State, acc: Accepted) -> tuple[ChatModel, CompletionRequest]:
    """The widget's model and the request for it: history and passages read in SQL, prompt."""
    widget = acc.widget
    async with state.prepare_slot(), state.autocommit.connect() as conn:
        history = await repo.recent(
            conn, acc.conversation.id, limit=widget.history_limit, before=acc.user_message_id
        )
        # Curated answers first: a verbatim one answers alone, grounding ones lead the passages.
        curated = await curation.lookup(
            state.curated,
            conn,
            workspace_id=acc.conversation.workspace_id,
            widget_id=widget.id,
            question=acc.question,
            message_id=acc.message_id,
        )
        hits = (
            Retrieval()
            if curated.verbatim
            else await state.retriever.search(
                conn, widget.id, acc.question, RETRIEVE_K, conversation_id=acc.conversation.id
            )
        )
        rules = await state.redaction.rules(conn, acc.conversation.workspace_id)
    # Model-stage redaction: what leaves for the model, not what is stored.
    turns = stages.for_model(prompt.turns(history, acc.question), rules)
    passages = curated.ahead(prompt.passages_from(hits))
    own_key = crypto.box(state.settings.secret).decrypt_or_none(widget.provider_api_key_encrypted)
    model = curated.model() or state.providers.model_for(widget.provider, widget.model, own_key)
    request = CompletionRequest(
        model=model.model,
        system=prompt.system_prompt(widget.system_prompt, passages, hits.instructions),
        turns=turns,
        question=turns[-1].content,
        passages=passages,
        temperature=widget.temperature,
        max_tokens=widget.max_tokens,
    )
    return model, request


async def _generate(
    state: State, model: ChatModel, request: CompletionRequest, reply: Reply
) -> ChatModel:
    """Stream the reply; the model that answered (the extractive one when the widget's was
    unavailable before its first token)."""
    try:
        await reply.consume(model, request)
    except ProviderUnavailable as exc:
        # No token reached the visitor yet: answer from the knowledge base instead of failing.
        log.warning("provider_unavailable", code=exc.code, provider=model.provider)
        reply.status, reply.error_code = "fallback", exc.code
        model = state.providers.extractive()
        await reply.consume(model, request)
    except StreamInterrupted as exc:
        reply.status, reply.error_code = "failed", exc.code
        reply.error_message = exc.message
    return model


async def _store(
    state: State,
    acc: Accepted,
    message_id: uuid.UUID,
    relay: live.Relay,
    reply: Reply,
    model: ChatModel,
    request: CompletionRequest,
    began: float,
) -> None:
    """Store the reply with its sources, usage and cost, count it, then end the stream."""
    widget = acc.widget
    sources = cited_sources(reply.text, request.passages) if reply.answered else []
    usage = reply.usage or Usage(len(request.system) // 4, len(reply.text) // 4)
    cost = cost_usd(state.settings, model.model, usage)
    created_at = utcnow()
    latency_ms = int((time.perf_counter() - began) * 1000)
    tokens = writes.Tokens(usage.prompt_tokens, usage.completion_tokens, cost)
    async with state.autocommit.connect() as conn:
        stored = await writes.store(
            conn,
            {
                "id": message_id,
                "conversation_id": acc.conversation.id,
                "workspace_id": acc.conversation.workspace_id,
                "widget_id": widget.id,
                "role": "assistant",
                "content": reply.text,
                "status": reply.status,
                "sources": sources,
                "provider": model.provider,
                "model": model.model,
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "cost_usd": cost,
                "latency_ms": latency_ms,
                "first_token_ms": reply.first_token_ms,
                "error_code": reply.error_code,
                "unanswered": not reply.answered,
                "created_at": created_at,
            },
            live.message_event(
                message_id,
                "assistant",
                reply.text,
                created_at,
                status=reply.status,
                sources=sources,
            ),
            count=tokens,
        )
        if stored.totals is not None:
            await budgets.counted_reply(
                state,
                widget,
                stored.totals,
                tokens=tokens.prompt + tokens.completion,
                cost_usd=cost,
            )
        state.metrics.messages.labels(reply.status).inc()
        if reply.status == "failed":
            relay.publish(stored.event)
            relay(
                Failed(
                    reply.error_code or "provider_error",
                    "The answer was interrupted. Please ask again.",
                )
            )
            return
        relay(SourcesFound(sources))
        relay(
            Done(
                message_id,
                usage.prompt_tokens,
                usage.completion_tokens,
                latency_ms,
                reply.status,
                reply.text,
                created_at,
            )
        )
        # The visitor has the whole reply; agents get the stored message.
        await relay.finish(conn, stored.event)


async def _answer_spent(state: State, acc: Accepted, message_id: uuid.UUID, emit: Emit) -> None:
    """A budget is spent: the fallback message answers, stored like any reply (no model call)."""
    text = acc.widget.fallback_message or state.settings.budget_fallback_message
    emit(Token(text))
    created_at = utcnow()
    async with state.autocommit.connect() as conn:
        await repo.insert_message(
            conn,
            {
                "id": message_id,
                "conversation_id": acc.conversation.id,
                "workspace_id": acc.conversation.workspace_id,
                "widget_id": acc.widget.id,
                "role": "assistant",
                "content": text,
                "status": "fallback",
                "sources": [],
                "error_code": "budget_exhausted",
                "unanswered": True,
            },
            now=created_at,
        )
    state.metrics.messages.labels("fallback").inc()
    emit(SourcesFound([]))
    emit(Done(message_id, 0, 0, 0, "fallback", text, created_at))
