"""Context rules: on pages whose URL matches a glob, add instructions and favour some sources."""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from porch import audit
from porch.errors import Conflict, NotFound
from porch.knowledge.search.keyword import Executor
from porch.knowledge.search.store import bump_version, table_of
from porch.models import ContextRule, Conversation, Source
from porch.widgets import service as widgets

MAX_RULES_PER_WIDGET = 100
_RULES = table_of(ContextRule)


@dataclass(frozen=True, slots=True)
class Rule:
    match: str
    instructions: str
    source_ids: tuple[uuid.UUID, ...]
    mode: str  # prefer | only

    def matches(self, page_url: str) -> bool:
        """A glob on the full URL ("https://shop.example/pricing*") or on its path ("/pricing*")."""
        if self.match.startswith(("http://", "https://")):
            return fnmatch.fnmatchcase(page_url, self.match)
        path = page_url.split("://", 1)[-1]
        path = "/" + path.split("/", 1)[1] if "/" in path else "/"
        return fnmatch.fnmatchcase(path, self.match)


@dataclass(frozen=True, slots=True)
class Context:
    """What the matching rules say for one page."""

    instructions: tuple[str, ...] = ()
    only: tuple[uuid.UUID, ...] | None = None
    prefer: frozenset[uuid.UUID] = frozenset()


NO_CONTEXT = Context()


def resolve(rules: Sequence[Rule], page_url: str | None) -> Context:
    if not rules or not page_url:
        return NO_CONTEXT
    hits = [r for r in rules if r.matches(page_url)]
    if not hits:
        return NO_CONTEXT
    only: set[uuid.UUID] | None = None
    prefer: set[uuid.UUID] = set()
    for rule in hits:
        if rule.mode == "only" and rule.source_ids:
            only = set(rule.source_ids) if only is None else only & set(rule.source_ids)
        else:
            prefer.update(rule.source_ids)
    return Context(
        instructions=tuple(r.instructions for r in hits if r.instructions.strip()),
        only=None if only is None else tuple(only),
        prefer=frozenset(prefer),
    )


async def load(executor: Executor, widget_id: uuid.UUID) -> list[Rule]:
    rows = (
        await executor.execute(
            select(_RULES.c.match, _RULES.c.instructions, _RULES.c.source_ids, _RULES.c.mode)
            .where(_RULES.c.widget_id == widget_id)
            .order_by(_RULES.c.created_at)
        )
    ).all()
    return [
        Rule(str(m), str(i or ""), tuple(uuid.UUID(str(s)) for s in (ids or [])), str(mode))
        for m, i, ids, mode in rows
    ]


async def page_url_of(executor: Executor, conversation_id: uuid.UUID) -> str | None:
    value = await executor.scalar(
        select(table_of(Conversation).c.page_url).where(
            table_of(Conversation).c.id == conversation_id
        )
    )
    return None if value is None else str(value)


async def list_rules(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID
) -> list[ContextRule]:
    await widgets.get(session, workspace_id, widget_id)
    result = await session.execute(
        select(ContextRule)
        .where(ContextRule.widget_id == widget_id)
        .order_by(ContextRule.created_at, ContextRule.id)
    )
    return list(result.scalars())


async def create_rule(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    *,
    match: str,
    instructions: str,
    source_ids: Sequence[uuid.UUID],
    mode: str,
) -> ContextRule:
    await widgets.get(session, workspace_id, widget_id)
    existing = await list_rules(session, workspace_id, widget_id)
    if len(existing) >= MAX_RULES_PER_WIDGET:
        raise Conflict(
            f"A widget holds at most {MAX_RULES_PER_WIDGET} context rules.", code="too_many_rules"
        )
    if source_ids:
        found = set(
            (
                await session.execute(
                    select(Source.id).where(
                        Source.widget_id == widget_id, Source.id.in_(list(source_ids))
                    )
                )
            ).scalars()
        )
        missing = [str(s) for s in source_ids if s not in found]
        if missing:
            raise NotFound(
                f"No such source in this widget: {', '.join(missing)}.", code="source_not_found"
            )
    rule = ContextRule(
        workspace_id=workspace_id,
        widget_id=widget_id,
        match=match,
        instructions=instructions,
        source_ids=[str(s) for s in dict.fromkeys(source_ids)],
        mode=mode,
    )
    session.add(rule)
    await session.flush()
    # Rules are cached with the widget's index: the version tells every process to reload.
    await bump_version(session, widget_id)
    await audit.record(session, workspace_id, "context_rule.created", rule.id)
    return rule


async def delete_rule(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID, rule_id: uuid.UUID
) -> None:
    await widgets.get(session, workspace_id, widget_id)
    rule = await session.get(ContextRule, rule_id)
    if rule is None or rule.widget_id != widget_id:
        raise NotFound("No such context rule.", code="rule_not_found")
    await session.delete(rule)
    await session.flush()
    await bump_version(session, widget_id)
    await audit.record(session, workspace_id, "context_rule.deleted", rule_id)
