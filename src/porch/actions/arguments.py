"""An action's arguments: where each comes from, and whether the model's proposals fit the schema.

Only model-sourced parameters are shown to the model or asked of the visitor; the others
(verified identity, conversation, constants, secrets) are filled here and a proposal for
them is ignored, so a model talked into "use bob@example.com" still sends the verified
visitor's own email.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MODEL = "model"


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who the call is for. Only a verified visitor's user id and claims count as identity."""

    user_id: str | None = None
    verified: bool = False
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Where:
    """The conversation a call happens in (all None for a test run)."""

    conversation_id: uuid.UUID | None = None
    page_url: str | None = None
    locale: str | None = None


class SignInRequired(Exception):
    """An identity-sourced parameter, or the action, needs a verified visitor."""


@dataclass
class Resolved:
    values: dict[str, Any]
    sources: dict[str, str]
    secrets: list[str]
    errors: dict[str, str]
    missing: list[str]


def source_of(definition: Mapping[str, Any], name: str) -> str:
    return str((definition.get("sources") or {}).get(name) or MODEL)


def model_parameters(definition: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The parameters the model (or the visitor) fills: everything else is porch's."""
    props: dict[str, dict[str, Any]] = (definition.get("parameters") or {}).get("properties") or {}
    return {n: p for n, p in props.items() if source_of(definition, n) == MODEL}


def required(definition: Mapping[str, Any]) -> list[str]:
    return list((definition.get("parameters") or {}).get("required") or [])


def coerce(schema: Mapping[str, Any], value: Any) -> Any:
    """Text from the visitor (or a lax model) to the parameter's type, when it reads as one."""
    kind = schema.get("type", "string")
    if isinstance(value, str):
        text = value.strip()
        if kind == "integer" and re.fullmatch(r"-?\d{1,18}", text):
            return int(text)
        if kind == "number" and re.fullmatch(r"-?\d{1,18}(\.\d{1,12})?", text):
            return float(text)
        if kind == "boolean" and text.lower() in ("true", "false", "yes", "no"):
            return text.lower() in ("true", "yes")
        return text if kind == "string" else value
    if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def check(schema: Mapping[str, Any], value: Any) -> str | None:
    """Why `value` does not fit `schema`, or None."""
    kind = schema.get("type", "string")
    fits = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
    }
    if not fits.get(kind, False):
        return f"must be a {kind}"
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        return "must be one of " + ", ".join(str(e) for e in enum)
    if isinstance(value, str):
        if schema.get("maxLength") is not None and len(value) > int(schema["maxLength"]):
            return f"must be at most {schema['maxLength']} characters"
        if schema.get("pattern") and not re.fullmatch(str(schema["pattern"]), value):
            return f"must match {schema['pattern']}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if schema.get("minimum") is not None and value < float(schema["minimum"]):
            return f"must be at least {schema['minimum']}"
        if schema.get("maximum") is not None and value > float(schema["maximum"]):
            return f"must be at most {schema['maximum']}"
    return None


def resolve(
    definition: Mapping[str, Any],
    proposed: Mapping[str, Any],
    visitor: Visitor,
    where: Where,
    secrets: Mapping[str, str],
) -> Resolved:
    """Every parameter's value and source; errors and missing ones for the model's share.

    Raises SignInRequired when the action or an identity-sourced parameter needs a
    verified visitor who is not there; KeyError-free: a missing secret is an error."""
    if definition.get("requires_verified") and not visitor.verified:
        raise SignInRequired
    props: dict[str, Any] = (definition.get("parameters") or {}).get("properties") or {}
    out = Resolved({}, {}, [], {}, [])
    needed = set(required(definition))
    for name in proposed:
        if name not in props:
            out.errors[name] = "is not a parameter of this action"
    for name, schema in props.items():
        source = source_of(definition, name)
        out.sources[name] = source
        if source == MODEL:
            if name not in proposed or proposed[name] in (None, ""):
                if name in needed:
                    out.missing.append(name)
                continue
            value = coerce(schema, proposed[name])
            problem = check(schema, value)
            if problem:
                out.errors[name] = problem
            else:
                out.values[name] = value
        else:
            _fill(out, name, source, visitor, where, secrets, required=name in needed)
    return out


def _fill(
    out: Resolved,
    name: str,
    source: str,
    visitor: Visitor,
    where: Where,
    secrets: Mapping[str, str],
    *,
    required: bool,
) -> None:
    if source.startswith("identity."):
        if not visitor.verified:
            raise SignInRequired
        key = source.removeprefix("identity.")
        value = visitor.user_id if key == "user_id" else visitor.claims.get(key)
        if value is None and required:
            # The site signed no such attribute (a token without it, or a hash only): as
            # good as not signed in, and never something the model or visitor may fill.
            raise SignInRequired
        if value is not None:
            out.values[name] = value
    elif source.startswith("secret:"):
        secret = secrets.get(source.removeprefix("secret:"))
        if secret is None:
            out.errors[name] = f"the secret {source.removeprefix('secret:')} is not set"
        else:
            out.values[name] = secret
            out.secrets.append(secret)
    elif source.startswith("const:"):
        out.values[name] = source.removeprefix("const:")
    else:
        found = {
            "conversation.id": str(where.conversation_id) if where.conversation_id else None,
            "conversation.page_url": where.page_url,
            "conversation.locale": where.locale,
        }.get(source)
        out.values[name] = found or ""
