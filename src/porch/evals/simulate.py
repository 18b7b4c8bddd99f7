"""Answer a visitor's turns as the widget would, storing nothing: the same curated match,
retrieval, prompt and model as the answer pipeline, with what it saw kept for the owner.

No conversation is created, no limit or budget is counted and analytics never see it:
this is how the playground and eval runs ask the assistant.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from porch import crypto
from porch.actions import acting
from porch.chat import handoff
from porch.chat.answer import prompt
from porch.curation import hook as curation
from porch.evals import acting as sim_actions
from porch.evals.context import Runtime
from porch.knowledge.search.result import Retrieval
from porch.providers.base import (
    ChatModel,
    CompletionRequest,
    Grounding,
    Passage,
    ProviderUnavailable,
    StreamInterrupted,
    TextDelta,
    Turn,
    Usage,
)
from porch.widgets.cache import WidgetConfig
from porch.widgets.schemas import Handoff

RETRIEVE_K = 5
_CITATION = re.compile(r"\[(\d{1,2})\]")


@dataclass
class Reply:
    """One simulated reply and why it was given."""

    question: str
    text: str = ""
    answered: bool = False
    sources: list[dict[str, Any]] = field(default_factory=list)
    curated: dict[str, Any] | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    threshold: float | None = None
    handoff: str | None = None
    provider: str = ""
    model: str = ""
    status: str = "complete"
    error_code: str | None = None
    latency_ms: int = 0
    usage: tuple[int, int] = (0, 0)
    actions: list[dict[str, Any]] = field(default_factory=list)

    def as_turn(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "reply": self.text,
            "answered": self.answered,
            "sources": self.sources,
            "curated": self.curated,
            "handoff": self.handoff,
            "provider": self.provider,
            "model": self.model,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "actions": self.actions,
        }


def sources_of(text: str, passages: Sequence[Passage]) -> list[dict[str, Any]]:
    """The passages the reply cites, or the best few when it cites none (as the pipeline)."""
    cited = {int(n) for n in _CITATION.findall(text)}
    chosen = [p for p in passages if p.ref in cited] or list(passages[:3])
    return [
        {
            "title": p.title,
            "url": p.url,
            "snippet": p.text[:200],
            "chunk_id": p.chunk_id,
            "source_id": p.source_id,
            "score": round(p.score, 4),
        }
        for p in chosen
    ]


async def _stream(model: ChatModel, request: CompletionRequest, reply: Reply) -> None:
    reply.answered = bool(request.passages)
    parts: list[str] = []
    async with contextlib.aclosing(model.stream(request)) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                parts.append(event.text)
            elif isinstance(event, Grounding):
                reply.answered = event.answered
            elif isinstance(event, Usage):
                reply.usage = (event.prompt_tokens, event.completion_tokens)
    reply.text = "".join(parts)


class Simulator:
    def __init__(
        self,
        runtime: Runtime,
        widget: WidgetConfig,
        handoff_settings: Handoff,
        *,
        live_actions: frozenset[str] = frozenset(),
    ) -> None:
        self.rt = runtime
        self.widget = widget
        self.handoff = handoff_settings
        self.history: list[Turn] = []
        self._unanswered: list[bool] = []
        self._live = live_actions
        self._actions: sim_actions.Actions | None = None
        # A vendor's model starts actions by tool calls, which are not simulated (acting.py).
        self.acts = not acting.by_model(runtime.settings, widget.provider)

    async def ask(
        self,
        question: str,
        *,
        page_url: str | None = None,
        detail: bool = False,
        visitor: Mapping[str, Any] | None = None,
    ) -> Reply:
        began = time.perf_counter()
        reply = Reply(question)
        widget = self.widget
        if self.acts:
            acted = await self._act(question, visitor or {}, reply)
            if acted:
                reply.latency_ms = int((time.perf_counter() - began) * 1000)
                self.history += [Turn("user", question), Turn("assistant", reply.text)]
                return reply
        async with self.rt.autocommit.connect() as conn:
            found = await curation.lookup(
                self.rt.curated,
                conn,
                workspace_id=widget.workspace_id,
                widget_id=widget.id,
                question=question,
                message_id=None,
            )
            hits = (
                Retrieval()
                if found.verbatim
                else await self.rt.retriever.search(
                    conn, widget.id, question, RETRIEVE_K, page_url=page_url
                )
            )
            if detail:
                reply.candidates = await self._candidates(conn, question, page_url, hits)
        # The threshold that applied to this question (None: keyword evidence alone decided).
        reply.threshold = hits.threshold
        reply.curated = _curated(found)
        passages = found.ahead(prompt.passages_from(hits))
        key = crypto.box(self.rt.settings.secret).decrypt_or_none(widget.provider_api_key_encrypted)
        model = found.model() or self.rt.providers.model_for(widget.provider, widget.model, key)
        request = CompletionRequest(
            model=model.model,
            system=prompt.system_prompt(widget.system_prompt, passages, hits.instructions),
            turns=[*self.history, Turn("user", question)],
            question=question,
            passages=passages,
            temperature=widget.temperature,
            max_tokens=widget.max_tokens,
        )
        model = await self._generate(model, request, reply)
        reply.provider, reply.model = model.provider, model.model
        if not reply.answered and widget.fallback_message and reply.status != "failed":
            reply.text += "\n\n" + widget.fallback_message
        reply.sources = sources_of(reply.text, passages) if reply.answered else []
        reply.handoff = self._offer(question, reply.answered)
        reply.latency_ms = int((time.perf_counter() - began) * 1000)
        self.history += [Turn("user", question), Turn("assistant", reply.text)]
        return reply

    async def _act(self, question: str, visitor: Mapping[str, Any], reply: Reply) -> bool:
        """Answer by an action when the turn concerns one (evals/acting.py)."""
        if self._actions is None:
            async with self.rt.sessionmaker() as session:
                self._actions = await sim_actions.load(session, self.widget.id, self._live)
        made = len(self._actions.made)
        text = await sim_actions.take(
            self.rt, self._actions, question, sim_actions.visitor_of({"visitor": visitor})
        )
        if text is None:
            return False
        extractive = self.rt.providers.extractive()
        reply.text, reply.answered = text, True
        reply.provider, reply.model = extractive.provider, extractive.model
        reply.actions = self._actions.made[made:]
        self._unanswered.append(False)
        return True

    async def _generate(
        self, model: ChatModel, request: CompletionRequest, reply: Reply
    ) -> ChatModel:
        try:
            await _stream(model, request, reply)
        except ProviderUnavailable as exc:
            reply.status, reply.error_code = "fallback", exc.code
            model = self.rt.providers.extractive()
            await _stream(model, request, reply)
        except StreamInterrupted as exc:
            reply.status, reply.error_code = "failed", exc.code
        return model

    def _offer(self, question: str, answered: bool) -> str | None:
        """What the pipeline would offer after this reply (see chat/handoff.py `offer`)."""
        self._unanswered.append(not answered)
        if not handoff.enabled(self.widget, self.handoff):
            return None
        if handoff.asks_for_person(question):
            return handoff.ASKED_TEXT
        twice = len(self._unanswered) >= 2 and all(self._unanswered[-2:])
        if self.handoff.mode == "when_unanswered_twice" and twice:
            return handoff.OFFER_TEXT
        return None

    async def _candidates(
        self, conn: Any, question: str, page_url: str | None, used: Retrieval
    ) -> list[dict[str, Any]]:
        """Every passage retrieval weighed, below the threshold too, and which were used."""
        every = await self.rt.retriever.search(
            conn, self.widget.id, question, RETRIEVE_K * 2, page_url=page_url, threshold=False
        )
        chosen = {h.chunk_id for h in used}
        return [
            {
                "chunk_id": str(h.chunk_id),
                "source_id": str(h.source_id),
                "title": h.title,
                "url": h.url,
                "text": h.text[:300],
                "score": round(h.score, 4),
                "used": h.chunk_id in chosen,
            }
            for h in every
        ]


def _curated(found: curation.Curated) -> dict[str, Any] | None:
    ranked = found.verdict.ranked
    if not ranked:
        return None
    winner = found.verdict.winner
    return {
        "applied": [str(s.entry.id) for s in found.applied],
        "mode": winner.entry.mode if winner and found.applied else None,
        "winner_id": str(winner.entry.id) if winner else None,
        "threshold": found.verdict.threshold,
        "matches": [
            {
                "id": str(s.entry.id),
                "question": s.entry.question,
                "score": s.score,
                "components": s.components,
            }
            for s in ranked
        ],
    }
