"""The roles a member holds in a workspace, ordered: each one may do what the ones below may."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    # Reads conversations, replies, closes and reopens them: the inbox only.
    agent = "agent"
    # Also widgets, knowledge, API keys, webhooks, the audit log.
    admin = "admin"
    # Everything: members, invitations, workspace settings, deleting the workspace.
    owner = "owner"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.agent: 1, Role.admin: 2, Role.owner: 3}


def parse(value: str) -> Role:
    """A stored role; anything unknown counts as the least, so a bad row grants nothing more."""
    try:
        return Role(value)
    except ValueError:
        return Role.agent
