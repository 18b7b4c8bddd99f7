"""The audit log: owner actions in a workspace, who did them, when and from where."""

from porch.audit.service import SYSTEM, Actor, bind, current, record

__all__ = ["SYSTEM", "Actor", "bind", "current", "record"]
