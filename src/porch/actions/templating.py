"""`{{name}}` templates for URLs, headers, JSON bodies and result texts; response projection.

URL placeholders are percent-encoded (a value can never add a path segment or a query
parameter); header values refuse line breaks; a body string that is exactly one
placeholder takes the value's JSON type, so `{"qty": "{{qty}}"}` sends a number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")
MASK = "••••"


class TemplateError(ValueError):
    """A template names a value porch does not have."""


def names(template: str) -> set[str]:
    return set(_PLACEHOLDER.findall(template))


def body_names(body: Any) -> set[str]:
    found: set[str] = set()
    for text in _strings(body):
        found |= names(text)
    return found


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def lookup(values: Mapping[str, Any], name: str) -> Any:
    """A dotted path (`response.order.status`) through dicts, and lists by index."""
    current: Any = values
    for part in name.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise TemplateError(f"no value for {{{{{name}}}}}")
    return current


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def render(template: str, values: Mapping[str, Any], *, quote_values: bool = False) -> str:
    def one(match: re.Match[str]) -> str:
        text = _text(lookup(values, match.group(1)))
        return quote(text, safe="") if quote_values else text

    return _PLACEHOLDER.sub(one, template)


def render_url(template: str, values: Mapping[str, Any]) -> str:
    return render(template, values, quote_values=True)


def render_header(template: str, values: Mapping[str, Any]) -> str:
    text = render(template, values)
    if "\r" in text or "\n" in text:
        raise TemplateError("a header value holds a line break")
    return text


def render_body(body: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(body, str):
        whole = _PLACEHOLDER.fullmatch(body.strip())
        return lookup(values, whole.group(1)) if whole else render(body, values)
    if isinstance(body, Mapping):
        return {str(k): render_body(v, values) for k, v in body.items()}
    if isinstance(body, list):
        return [render_body(item, values) for item in body]
    return body


def render_result(template: str, values: Mapping[str, Any]) -> str:
    """The visitor's text: a missing value renders empty rather than failing the call."""

    def one(match: re.Match[str]) -> str:
        try:
            return _text(lookup(values, match.group(1)))
        except TemplateError:
            return ""

    return _PLACEHOLDER.sub(one, template)


def project(data: Any, fields: list[str] | None) -> Any:
    """Only the named dotted paths of a JSON response (all of it when `fields` is None).

    A list on the path applies the rest of the path to each element, so `items.name`
    keeps every item's name and drops everything else about the items."""
    if fields is None:
        return data
    out: Any = {}
    for path in fields:
        picked = _pick(data, path.split("."))
        if picked is not _MISSING:
            out = _merge(out, picked)
    return out


_MISSING: Any = object()


def _pick(data: Any, parts: list[str]) -> Any:
    """`data` cut down to one path, in the same shape."""
    if not parts:
        return data
    if isinstance(data, list):
        picked = [_pick(item, parts) for item in data]
        return [{} if p is _MISSING else p for p in picked]
    if isinstance(data, Mapping) and parts[0] in data:
        inner = _pick(data[parts[0]], parts[1:])
        return _MISSING if inner is _MISSING else {parts[0]: inner}
    return _MISSING


def _merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        merged = dict(a)
        for key, value in b.items():
            merged[key] = _merge(merged[key], value) if key in merged else value
        return merged
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [_merge(x, y) for x, y in zip(a, b, strict=True)]
    return b if a == {} or not isinstance(a, dict | list) else a


def mask(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def mask_value(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, Mapping):
        return {k: mask_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v, secrets) for v in value]
    return value
