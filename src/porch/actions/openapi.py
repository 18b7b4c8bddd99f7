"""Draft actions from an OpenAPI 3.0 or 3.1 document: one per chosen operation.

Path, query and header parameters and a JSON request body's top-level properties become
the action's parameters and `{{name}}` placeholders; the method is kept as written; GET
is `read`, DELETE `destructive`, anything else `write`. Every draft is created disabled:
the owner reviews it, adds the allowlist, auth and result text, tests it, then enables it.

Templates cannot leave out an unset value, so optional query, header and body fields are
not placed in the templates; each draft lists what was left out in `notes`.

A document is untrusted input: its size and operation count are bounded, only local
`$ref`s are followed (to a fixed depth), YAML anchors are refused, and whatever is wrong
is a 422 that names it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from porch.actions import service
from porch.actions.schemas import ActionIn, ImportedOut, ImportOut
from porch.errors import Unprocessable
from porch.pubsub import PubSub

MAX_BYTES = 1_000_000
MAX_OPERATIONS = 50
MAX_REF_DEPTH = 8
METHODS = ("get", "post", "put", "patch", "delete")
_NAME = re.compile(r"[^A-Za-z0-9_]+")
_HEADER = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_SCALARS = ("string", "integer", "number", "boolean")

# YAML is read too (any other content type): declared as JSON only, the one every client sends.
REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "An OpenAPI 3.0/3.1 document (also accepted as YAML), "
                    "or {document, operation_ids?, base_url?}.",
                }
            }
        },
    }
}


class InvalidDocument(Unprocessable):
    code = "openapi_invalid"


@dataclass(frozen=True, slots=True)
class Draft:
    operation: str
    action: ActionIn
    notes: list[str] = field(default_factory=list)


async def import_document(
    session: AsyncSession,
    pubsub: PubSub,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    raw: bytes,
) -> ImportOut:
    """Every draft or none: a bad operation or a taken slug stores nothing."""
    doc, chosen, given_base = request(raw)
    found = operations(doc, chosen)
    base = _base_url(doc, given_base)
    slugs: set[str] = set()
    drafts = [draft(doc, base, m, p, op, shared, slugs) for m, p, op, shared in found]
    out: list[ImportedOut] = []
    for d in drafts:
        row = await service.create(session, pubsub, workspace_id, widget_id, d.action)
        out.append(ImportedOut(operation=d.operation, action=service.to_out(row), notes=d.notes))
    return ImportOut(actions=out)


async def read_bounded(chunks: AsyncIterator[bytes]) -> bytes:
    """The request body, refused once it passes MAX_BYTES (before reading the rest)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > MAX_BYTES:
            raise InvalidDocument(f"The document is over {MAX_BYTES // 1000} KB.")
        parts.append(chunk)
    return b"".join(parts)


def load(raw: bytes) -> Any:
    """JSON, or YAML when it is not JSON."""
    if len(raw) > MAX_BYTES:
        raise InvalidDocument(f"The document is over {MAX_BYTES // 1000} KB.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    import yaml

    class Loader(yaml.SafeLoader):  # type: ignore[misc]
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise InvalidDocument("YAML anchors and aliases are not accepted.")
            return super().compose_node(parent, index)

    try:
        return yaml.load(raw, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise InvalidDocument(f"The body is neither JSON nor YAML: {exc}"[:300]) from None
    except RecursionError:
        raise InvalidDocument("The document nests too deep.") from None


def request(raw: bytes) -> tuple[dict[str, Any], list[str] | None, str | None]:
    """The document, the chosen operationIds (None: all) and a base URL, from the body:
    the document itself, or `{document, operation_ids?, base_url?}`."""
    body = load(raw)
    if not isinstance(body, dict):
        raise InvalidDocument("Send an OpenAPI document or {document, operation_ids}.")
    if "openapi" in body:
        return body, None, None
    doc = body.get("document")
    if isinstance(doc, str):
        doc = load(doc.encode())
    chosen = body.get("operation_ids")
    base = body.get("base_url")
    if chosen is not None and (
        not isinstance(chosen, list) or not all(isinstance(c, str) for c in chosen)
    ):
        raise InvalidDocument("operation_ids is a list of operationId strings.")
    if base is not None and not isinstance(base, str):
        raise InvalidDocument("base_url is a string.")
    if not isinstance(doc, dict):
        raise InvalidDocument("document is missing or not an object.")
    return doc, chosen, base


def slug_for(operation_id: str) -> str:
    """`getOrderStatus` → `get_order_status`, fitted to `^[a-z][a-z0-9_]{0,63}$`."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", operation_id)
    text = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not text or not text[0].isalpha():
        text = "op_" + text
    return text[:64].rstrip("_")


def _name(raw: str, taken: set[str]) -> str:
    base = _NAME.sub("_", raw).strip("_")[:60] or "param"
    if not (base[0].isalpha() or base[0] == "_"):
        base = "p_" + base
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _line(value: Any, limit: int) -> str:
    return " ".join(str(value).split())[:limit]


def _deref(doc: dict[str, Any], node: Any, depth: int = 0) -> Any:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref: str = node["$ref"]
        if depth >= MAX_REF_DEPTH:
            raise InvalidDocument(f"$ref {ref[:100]} nests too deep (or loops).")
        if not ref.startswith("#/"):
            raise InvalidDocument(f"Only local $refs are followed: {ref[:100]}.")
        node = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise InvalidDocument(f"$ref {ref[:100]} points nowhere.")
            node = node[part]
        depth += 1
    return node


def _param(doc: dict[str, Any], schema: Any, description: Any) -> dict[str, Any]:
    """One parameter in the action's JSON Schema subset."""
    schema = _deref(doc, schema) if schema is not None else {}
    schema = schema if isinstance(schema, dict) else {}
    kind = schema.get("type")
    if isinstance(kind, list):  # 3.1: ["string", "null"]
        kind = next((k for k in kind if k in _SCALARS), None)
    out: dict[str, Any] = {"type": kind if kind in _SCALARS else "string"}
    text = description if isinstance(description, str) else schema.get("description")
    if isinstance(text, str) and text:
        out["description"] = " ".join(text.split())[:500]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and len(enum) <= 100:
        kept = [e for e in enum if isinstance(e, str | int | float) and not isinstance(e, bool)]
        if kept:
            out["enum"] = kept
    if isinstance(schema.get("pattern"), str) and out["type"] == "string":
        out["pattern"] = schema["pattern"][:500]
    if isinstance(schema.get("maxLength"), int) and 1 <= schema["maxLength"] <= 10000:
        out["maxLength"] = schema["maxLength"]
    for bound in ("minimum", "maximum"):
        value = schema.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[bound] = value
    return out


def _base_url(doc: dict[str, Any], given: str | None) -> str:
    if given:
        return given.rstrip("/")
    servers = doc.get("servers")
    first = servers[0] if isinstance(servers, list) and servers else None
    url = first.get("url") if isinstance(first, dict) else None
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise InvalidDocument(
            "The document names no absolute server URL (servers[0].url): pass base_url.",
            code="openapi_no_server",
        )
    variables = first.get("variables") if isinstance(first, dict) else None
    for key, spec in (variables if isinstance(variables, dict) else {}).items():
        if isinstance(spec, dict) and isinstance(spec.get("default"), str):
            url = url.replace("{" + str(key) + "}", spec["default"])
    return url.rstrip("/")


def operations(
    doc: dict[str, Any], chosen: list[str] | None
) -> list[tuple[str, str, dict[str, Any], list[Any]]]:
    """(method, path, operation, path-level parameters) in document order."""
    version = doc.get("openapi")
    version = str(version) if isinstance(version, float) else version  # YAML `openapi: 3.1`
    if not isinstance(version, str) or not re.match(r"^3\.[01]\.", version + "."):
        raise InvalidDocument("Only OpenAPI 3.0 and 3.1 documents are imported.")
    paths = doc.get("paths")
    if not isinstance(paths, dict) or not paths:
        raise InvalidDocument("The document has no paths.")
    found: list[tuple[str, str, dict[str, Any], list[Any]]] = []
    for path, item in paths.items():
        item = _deref(doc, item)
        if not isinstance(path, str) or not path.startswith("/") or not isinstance(item, dict):
            raise InvalidDocument(f"The path {str(path)[:100]} is not a path item.")
        shared = item.get("parameters")
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                found.append((method.upper(), path, op, shared if isinstance(shared, list) else []))
    if chosen is not None:
        ids = {str(op.get("operationId")): (m, p, op, s) for m, p, op, s in found}
        missing = [c for c in chosen if c not in ids]
        if missing:
            raise InvalidDocument(
                "No operation with operationId " + ", ".join(m[:100] for m in missing[:10]),
                code="openapi_operation_unknown",
            )
        found = [ids[c] for c in dict.fromkeys(chosen)]
    if not found:
        raise InvalidDocument("The document has no GET, POST, PUT, PATCH or DELETE operation.")
    if len(found) > MAX_OPERATIONS:
        raise InvalidDocument(
            f"{len(found)} operations: import at most {MAX_OPERATIONS} at a time "
            "(choose them with operation_ids).",
            code="openapi_too_many",
        )
    return found


def draft(
    doc: dict[str, Any],
    base: str,
    method: str,
    path: str,
    op: dict[str, Any],
    shared: list[Any],
    taken_slugs: set[str],
) -> Draft:
    """One operation as a disabled action; raises InvalidDocument naming the operation."""
    op_id = op.get("operationId")
    label = op_id if isinstance(op_id, str) and op_id else f"{method} {path}"
    slug = slug_for(op_id if isinstance(op_id, str) and op_id else f"{method}_{path}")
    stem, n = slug, 2
    while slug in taken_slugs:
        slug, n = f"{stem[:60]}_{n}", n + 1
    taken_slugs.add(slug)
    names: set[str] = set()
    props: dict[str, Any] = {}
    required: list[str] = []
    notes: list[str] = []
    url, query, headers = path, [], {}
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    own = op.get("parameters")
    for raw in [*shared, *(own if isinstance(own, list) else [])]:
        p = _deref(doc, raw)
        if isinstance(p, dict) and isinstance(p.get("name"), str):
            merged[(str(p.get("in")), p["name"])] = p
    for (where, original), p in merged.items():
        needed = bool(p.get("required")) or where == "path"
        if where not in ("path", "query", "header") or not needed:
            notes.append(f"optional or {where} parameter {original} left out")
            continue
        if where == "header" and not _HEADER.match(original):
            notes.append(f"header {original} left out: not a valid header name")
            continue
        name = _name(original, names)
        props[name] = _param(doc, p.get("schema"), p.get("description"))
        required.append(name)
        if where == "path":
            url = url.replace("{" + original + "}", "{{" + name + "}}")
        elif where == "query":
            query.append(f"{original}={{{{{name}}}}}")
        else:
            headers[original] = "{{" + name + "}}"
    body = _body(doc, op, names, props, required, notes) if method != "GET" else None
    if "{" in re.sub(r"\{\{[A-Za-z0-9_]+\}\}", "", url):
        raise InvalidDocument(f"{label}: the path names a parameter it does not define.")
    fields: dict[str, Any] = {
        "slug": slug,
        "title": _line(op.get("summary") or label, 200) or slug,
        "description": str(op.get("description") or op.get("summary") or "")[:2000],
        "examples": [_line(op["summary"], 500)] if isinstance(op.get("summary"), str) else [],
        "method": method,
        "url": base + url + ("?" + "&".join(query) if query else ""),
        "headers": headers,
        "body": body,
        "parameters": {"type": "object", "properties": props, "required": required},
        "risk": "read" if method == "GET" else "destructive" if method == "DELETE" else "write",
        "enabled": False,
    }
    try:
        action = ActionIn.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise InvalidDocument(f"{label}: {where}: {first['msg']}"[:300]) from None
    return Draft(label, action, notes)


def _body(
    doc: dict[str, Any],
    op: dict[str, Any],
    names: set[str],
    props: dict[str, Any],
    required: list[str],
    notes: list[str],
) -> dict[str, str] | None:
    """A JSON body's required top-level properties as typed placeholders."""
    request_body = _deref(doc, op.get("requestBody"))
    if not isinstance(request_body, dict):
        return None
    content = request_body.get("content")
    media = content.get("application/json") if isinstance(content, dict) else None
    if not isinstance(media, dict):
        notes.append("request body left out: not application/json")
        return None
    schema = _deref(doc, media.get("schema"))
    fields = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(fields, dict):
        notes.append("request body left out: not an object with properties")
        return None
    listed = schema.get("required") if isinstance(schema, dict) else None
    wanted = {r for r in listed if isinstance(r, str)} if isinstance(listed, list) else set()
    body: dict[str, str] = {}
    for key, sub in fields.items():
        if key not in wanted:
            notes.append(f"optional body field {key} left out")
            continue
        sub = _deref(doc, sub)
        name = _name(str(key), names)
        props[name] = _param(doc, sub, None)
        required.append(name)
        body[str(key)] = "{{" + name + "}}"
    return body
