"""Redaction rules per workspace: kept by the owner, read on every message from a cache.

The chat path asks `RuleBook.rules` once per message; a workspace's rules are read from
the database at most once per `TTL` per process (and at once in the process that changed
them), so a new rule reaches every process within seconds without a query per message.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from porch.audit import service as audit
from porch.errors import BadRequest, NotFound
from porch.models import RedactionRule
from porch.privacy.redaction import DEFAULT_RULES, InvalidPattern, Rule, redact
from porch.privacy.schemas import RuleIn, RuleTestIn, RuleTestOut

TTL = 5.0
RULES_MAX = 50
_TABLE = cast(Table, RedactionRule.__table__)
_SELECT = select(_TABLE.c.kind, _TABLE.c.pattern, _TABLE.c.stages).where(
    _TABLE.c.workspace_id == bindparam("ws")
)


def effective(own: Sequence[Rule]) -> list[Rule]:
    """The workspace's rules plus the defaults it did not replace with a rule of that kind."""
    kinds = {r.kind for r in own}
    return [*own, *(r for r in DEFAULT_RULES if r.kind not in kinds)]


def _rule(kind: str, pattern: str | None, stages: Any) -> Rule | None:
    try:
        return Rule.of(kind, stages or (), pattern)
    except InvalidPattern:
        return None


class RuleBook:
    """Each workspace's effective rules, cached per process for a few seconds."""

    def __init__(self, ttl: float = TTL) -> None:
        self._ttl = ttl
        self._cache: dict[uuid.UUID, tuple[float, list[Rule]]] = {}

    async def rules(self, conn: AsyncConnection, workspace_id: uuid.UUID) -> list[Rule]:
        now = time.monotonic()
        hit = self._cache.get(workspace_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        rows = (await conn.execute(_SELECT, {"ws": workspace_id})).all()
        found = effective([r for r in (_rule(*row) for row in rows) if r is not None])
        self._cache[workspace_id] = (now + self._ttl, found)
        return found

    def forget(self, workspace_id: uuid.UUID) -> None:
        self._cache.pop(workspace_id, None)


async def create(session: AsyncSession, workspace_id: uuid.UUID, body: RuleIn) -> RedactionRule:
    if body.pattern is not None:
        try:
            Rule.of(body.kind, body.stages, body.pattern)
        except InvalidPattern as exc:
            raise BadRequest(str(exc), code="invalid_pattern") from None
    count = len(await list_all(session, workspace_id))
    if count >= RULES_MAX:
        raise BadRequest(f"A workspace has at most {RULES_MAX} rules.", code="too_many_rules")
    rule = RedactionRule(
        workspace_id=workspace_id, kind=body.kind, pattern=body.pattern, stages=body.stages
    )
    session.add(rule)
    await session.flush()
    await audit.record(
        session,
        workspace_id,
        "redaction_rule.created",
        rule.id,
        kind=body.kind,
        stages=list(body.stages),
    )
    return rule


async def list_all(session: AsyncSession, workspace_id: uuid.UUID) -> list[RedactionRule]:
    result = await session.execute(
        select(RedactionRule)
        .where(RedactionRule.workspace_id == workspace_id)
        .order_by(RedactionRule.created_at, RedactionRule.id)
    )
    return list(result.scalars())


async def delete(session: AsyncSession, workspace_id: uuid.UUID, rule_id: uuid.UUID) -> None:
    rule = await session.get(RedactionRule, rule_id)
    if rule is None or rule.workspace_id != workspace_id:
        raise NotFound("No such redaction rule.", code="rule_not_found")
    await session.delete(rule)
    await audit.record(session, workspace_id, "redaction_rule.deleted", rule_id, kind=rule.kind)


async def test(session: AsyncSession, workspace_id: uuid.UUID, body: RuleTestIn) -> RuleTestOut:
    """What a rule (or the workspace's rules) does to a sample text."""
    if body.rule is not None:
        try:
            rules = [Rule.of(body.rule.kind, body.rule.stages, body.rule.pattern)]
        except InvalidPattern as exc:
            raise BadRequest(str(exc), code="invalid_pattern") from None
    else:
        own = [_rule(r.kind, r.pattern, r.stages) for r in await list_all(session, workspace_id)]
        rules = effective([r for r in own if r is not None])
    if body.stage is None:
        # Every stage at once: each rule once, whichever stages it has.
        rules = [Rule(r.kind, frozenset({"any"}), r.pattern, r.compiled) for r in rules]
        text, counts = redact(body.text, rules, "any")
    else:
        text, counts = redact(body.text, rules, body.stage)
    return RuleTestOut(text=text, counts=counts)
