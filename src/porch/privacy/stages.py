"""Redaction at each stage, in the shapes those stages hold: a message about to be stored,
the turns about to be sent to a model, an event about to leave as a webhook."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from porch.privacy.redaction import Rule, redact, rules_for
from porch.providers.base import Turn


def for_model(turns: Sequence[Turn], rules: Sequence[Rule]) -> list[Turn]:
    """The turns with model-stage rules applied; the stored text (what agents see) is not."""
    if not rules_for(rules, "model"):
        return list(turns)
    return [Turn(t.role, redact(t.content, rules, "model")[0]) for t in turns]


def tree(value: Any, rules: Sequence[Rule], stage: str) -> Any:
    """Every string inside a JSON value, redacted for `stage` (webhook payloads, exports)."""
    if isinstance(value, str):
        return redact(value, rules, stage)[0]
    if isinstance(value, list):
        return [tree(v, rules, stage) for v in value]
    if isinstance(value, dict):
        return {k: tree(v, rules, stage) for k, v in value.items()}
    return value
