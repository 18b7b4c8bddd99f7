"""Verified visitors: the site's signature checked, and their conversations found and resumed.

The site's server computes hash = hex HMAC-SHA256(identity_secret, user_id); see identity.py
for the routes and docs/security.md.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from porch import crypto
from porch.accounts import tokens
from porch.chat.answer.context import State
from porch.chat.visitor.schemas import VisitorUser
from porch.conversations import repository as repo
from porch.conversations.tokens import visitor_tokens
from porch.errors import Forbidden, NotFound, Unauthorized
from porch.models.base import utcnow
from porch.widgets.cache import WidgetConfig

_c = repo.conversations.c


def verify(state: State, widget: WidgetConfig, user: VisitorUser | None) -> bool:
    """Whether `user` is signed with the widget's identity secret.

    A wrong signature is refused (403 identity_invalid) rather than treated as anonymous,
    so a site with a bug in its signing code finds out at once. A missing one is refused
    only when the widget requires identities (start_conversation checks that).
    """
    if user is None or not user.hash:
        return False
    secret = crypto.box(state.settings.secret).decrypt_or_none(widget.identity_secret_encrypted)
    if secret is None:
        return False  # no secret set: nothing to verify against, the id stays unverified
    if not crypto.identity_ok(secret, user.id, user.hash):
        raise Forbidden(
            "The user's hash does not match HMAC-SHA256(identity secret, user id).",
            code="identity_invalid",
        )
    return True


def _require_verified(state: State, widget: WidgetConfig, user: VisitorUser | None) -> str:
    if widget.identity_secret_encrypted is None:
        raise NotFound(
            "This widget does not verify visitors' identities.", code="identity_not_enabled"
        )
    if user is None or not user.hash:
        raise Unauthorized("Send the user's id and hash.", code="identity_required")
    if not verify(state, widget, user):
        raise Unauthorized("The identity could not be verified.", code="identity_required")
    return user.id


async def conversations(
    state: State, widget: WidgetConfig, user: VisitorUser | None, *, limit: int
) -> list[dict[str, Any]]:
    """The verified user's conversations with the widget, most recently active first."""
    user_id = _require_verified(state, widget, user)
    query = (
        select(
            _c.id.label("conversation_id"),
            _c.status,
            _c.created_at,
            _c.last_message_at,
            _c.message_count,
            _c.page_title,
        )
        .where(
            _c.widget_id == widget.id,
            _c.user_external_id == user_id,
            _c.user_verified.is_(True),
        )
        .order_by(_c.last_message_at.desc())
        .limit(limit)
    )
    async with state.autocommit.connect() as conn:
        return [dict(r._mapping) for r in (await conn.execute(query)).all()]


async def resume(
    state: State, widget: WidgetConfig, user: VisitorUser, conversation_id: uuid.UUID
) -> str:
    """A new visitor token for one of the verified user's conversations."""
    user_id = _require_verified(state, widget, user)
    token = tokens.new_token(tokens.VISITOR_TOKEN_PREFIX)
    async with state.engine.begin() as conn:
        found = await conn.scalar(
            select(_c.id).where(
                _c.id == conversation_id,
                _c.widget_id == widget.id,
                _c.user_external_id == user_id,
                _c.user_verified.is_(True),
            )
        )
        if found is None:
            raise NotFound("No such conversation for this user.", code="conversation_not_found")
        await conn.execute(
            visitor_tokens.insert().values(
                token_hash=tokens.token_hash(token),
                conversation_id=conversation_id,
                created_at=utcnow(),
            )
        )
    return token
