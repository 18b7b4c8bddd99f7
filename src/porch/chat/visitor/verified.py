"""Verified visitors: the site's signature checked, and their conversations found and resumed.

The site's server computes hash = hex HMAC-SHA256(identity_secret, user_id), or signs an
identity token (identity_token.py: the user id and attributes such as email); see
identity.py for the routes and docs/security.md.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from porch import crypto
from porch.accounts import tokens
from porch.chat.answer.context import State
from porch.chat.visitor import identity_token
from porch.chat.visitor.identity_token import Claim
from porch.chat.visitor.schemas import VisitorUser
from porch.conversations import repository as repo
from porch.conversations.tokens import visitor_tokens
from porch.errors import Conflict, Forbidden, NotFound, Unauthorized
from porch.models.base import utcnow
from porch.widgets.cache import WidgetConfig

_c = repo.conversations.c


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the visitor is. `claims` only from a valid identity token: signed attributes."""

    user_id: str | None
    verified: bool
    claims: dict[str, Claim] | None = None


def identify(
    state: State, widget: WidgetConfig, user: VisitorUser | None, token: str | None
) -> Identity:
    """The visitor's identity from `user: {id, hash}` and/or an identity token.

    A token that does not verify is refused, never read as anonymous; beside a `user`, its
    `sub` must be that user's id (a page mixing two users' data is a bug worth seeing), and
    a hash sent too must still match. Unsigned `user.name`/`email` stay display-only.
    """
    if token is None:
        return Identity(user.id if user else None, verify(state, widget, user))
    secret = _secret(state, widget)
    if secret is None:
        raise Conflict(
            "This widget has no identity secret to check the identity token with.",
            code="identity_secret_missing",
        )
    signed = identity_token.verify(secret, token)
    if user is not None:
        if user.id != signed.user_id:
            raise Forbidden(
                "The identity token's sub is another user than user.id.", code="identity_mismatch"
            )
        verify(state, widget, user)
    return Identity(signed.user_id, True, signed.claims)


def _secret(state: State, widget: WidgetConfig) -> str | None:
    return crypto.box(state.settings.secret).decrypt_or_none(widget.identity_secret_encrypted)


def verify(state: State, widget: WidgetConfig, user: VisitorUser | None) -> bool:
    """Whether `user` is signed with the widget's identity secret.

    A wrong signature is refused (403 identity_invalid) rather than treated as anonymous,
    so a site with a bug in its signing code finds out at once. A missing one is refused
    only when the widget requires identities (start_conversation checks that).
    """
    if user is None or not user.hash:
        return False
    secret = _secret(state, widget)
    if secret is None:
        return False  # no secret set: nothing to verify against, the id stays unverified
    if not crypto.identity_ok(secret, user.id, user.hash):
        raise Forbidden(
            "The user's hash does not match HMAC-SHA256(identity secret, user id).",
            code="identity_invalid",
        )
    return True


def _require_verified(
    state: State, widget: WidgetConfig, user: VisitorUser | None, token: str | None
) -> Identity:
    if widget.identity_secret_encrypted is None:
        raise NotFound(
            "This widget does not verify visitors' identities.", code="identity_not_enabled"
        )
    if token is None and (user is None or not user.hash):
        raise Unauthorized(
            "Send the user's id and hash, or an identity token.", code="identity_required"
        )
    found = identify(state, widget, user, token)
    if not found.verified or found.user_id is None:
        raise Unauthorized("The identity could not be verified.", code="identity_required")
    return found


async def conversations(
    state: State,
    widget: WidgetConfig,
    user: VisitorUser | None,
    *,
    limit: int,
    token: str | None = None,
) -> list[dict[str, Any]]:
    """The verified user's conversations with the widget, most recently active first."""
    user_id = _require_verified(state, widget, user, token).user_id
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
    state: State,
    widget: WidgetConfig,
    user: VisitorUser | None,
    conversation_id: uuid.UUID,
    *,
    token: str | None = None,
) -> str:
    """A new visitor token for one of the verified user's conversations. Resumed with an
    identity token, the conversation takes its attributes: the site signed them just now."""
    who = _require_verified(state, widget, user, token)
    visitor_token = tokens.new_token(tokens.VISITOR_TOKEN_PREFIX)
    async with state.engine.begin() as conn:
        found = await conn.scalar(
            select(_c.id).where(
                _c.id == conversation_id,
                _c.widget_id == widget.id,
                _c.user_external_id == who.user_id,
                _c.user_verified.is_(True),
            )
        )
        if found is None:
            raise NotFound("No such conversation for this user.", code="conversation_not_found")
        if who.claims is not None:
            await conn.execute(
                update(repo.conversations)
                .where(_c.id == conversation_id)
                .values(user_claims=who.claims)
            )
        await conn.execute(
            visitor_tokens.insert().values(
                token_hash=tokens.token_hash(visitor_token),
                conversation_id=conversation_id,
                created_at=utcnow(),
            )
        )
    return visitor_token
