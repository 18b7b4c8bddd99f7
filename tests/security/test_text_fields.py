"""No text field stores what the database cannot: a NUL character (PostgreSQL refuses it in
text) or a lone UTF-16 surrogate (no driver can encode one) in any string field of any
request body, query parameter, header or path of any route gets a 400 in the error shape
naming the problem, never a 500.

The walk covers every route the app serves, the ones hidden from /openapi.json included
(pages, compatibility aliases), so a new field is covered the day it is added.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import BOTH
from tests.security.world import ACCOUNT, ROLES, World, fill, full_spec, world

__all__ = ["world"]  # the fixture, found by name
pytestmark = [
    pytest.mark.parametrize("backend", BOTH, indirect=True),
    pytest.mark.settings(allow_signup=True, crawl_allow_private_networks=True),
]

BAD = {"nul": "bad\x00text", "surrogate": "bad\ud800text"}
# A URL or a header is bytes: the nearest a client gets to a surrogate there is its
# (invalid) UTF-8 spelling, which must not break anything either.
RAW = {"nul": "bad%00text", "surrogate": "bad%ED%A0%80text%FF"}
# Formats whose values are parsed into something other than text before any use.
_PARSED = {"uuid", "date", "date-time", "binary"}
# Pages that read their query strings themselves (not declared parameters).
PAGE_QUERIES: list[tuple[str, str]] = [
    ("/app/widgets/{widget_id}/conversations", "q"),
    ("/app/widgets/{widget_id}/conversations", "cursor"),
    ("/app/widgets/{widget_id}/conversations", "from"),
    ("/app/widgets/{widget_id}/analytics", "from"),
    ("/app/audit", "cursor"),
    ("/app/login", "next"),
    ("/w/{widget_id}", "locale"),
]
Path = tuple[str | int, ...]


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _is_text(schema: dict[str, Any], spec: dict[str, Any]) -> bool:
    schema = _resolve(schema, spec)
    if any(_is_text(s, spec) for s in schema.get("anyOf", [])):
        return True
    return (
        schema.get("type") == "string"
        and "enum" not in schema
        and "const" not in schema
        and schema.get("format") not in _PARSED
    )


def _bodies(schema: dict[str, Any], spec: dict[str, Any]) -> list[tuple[dict[str, Any], Path]]:
    """(base body, path of one string leaf) for every string leaf; a union's variants each
    get a base body that names the variant (its discriminating constant)."""
    out: list[tuple[dict[str, Any], Path]] = []

    def walk(s: dict[str, Any], base: dict[str, Any], path: Path, depth: int) -> None:
        s = _resolve(s, spec)
        if depth > 6:
            return
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in s.get(key, []):
                walk(sub, base, path, depth + 1)
        if _is_text(s, spec) and not s.get("anyOf"):
            out.append((base, path))
        if s.get("type") == "array":
            walk(s.get("items", {}), base, (*path, 0), depth + 1)
        props = s.get("properties", {})
        if props:
            # A variant of a union: keep its constant fields (the discriminator) in its base,
            # at the top or where the variant sits (an item of a list of tagged unions).
            consts = {
                k: _resolve(p, spec).get("const", (_resolve(p, spec).get("enum") or [None])[0])
                for k, p in props.items()
                if "const" in _resolve(p, spec) or len(_resolve(p, spec).get("enum", [])) == 1
            }
            if not path:
                base = {**base, **consts}
            for k, v in consts.items() if path else ():
                base = _with(base, (*path, k), v)
        for name, prop in props.items():
            walk(prop, base, (*path, name), depth + 1)

    walk(schema, {}, (), 0)
    return out


def _with(base: dict[str, Any], path: Path, value: str) -> Any:
    def put(node: Any, rest: Path) -> Any:
        if not rest:
            return value
        head, tail = rest[0], rest[1:]
        if isinstance(head, int):
            # Keep what is already there (a union variant's tag), as for dicts below.
            first = node[0] if isinstance(node, list) and node else None
            return [put(first, tail)]
        node = dict(node) if isinstance(node, dict) else {}
        node[head] = put(node.get(head), tail)
        return node

    return put(base, path)


class Walk:
    def __init__(self, world: World, visitor_http: httpx.AsyncClient) -> None:
        self.world = world
        self.visitor_http = visitor_http
        self.sent = 0

    async def send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        owner_side = (method, path) in ROLES or (method, path) in ACCOUNT or path.startswith("/app")
        url = kw.pop("url", None) or fill(path, self.world.ids)
        self.sent += 1
        if owner_side:
            o = self.world.owner
            headers = {"X-CSRF-Token": o.csrf, **kw.pop("headers", {})}
            return await o.http.request(method, url, headers=headers, **kw)
        assert self.world.visitor is not None
        headers = {"Authorization": f"Bearer {self.world.visitor.token}", **kw.pop("headers", {})}
        return await self.visitor_http.request(method, url, headers=headers, **kw)


def _refused(resp: httpx.Response, where: str, field: str) -> None:
    """A 400 validation error about this field: refused as NUL or surrogate, or by a
    stricter rule of the field's own (a pattern)."""
    assert resp.status_code == 400, (where, resp.status_code, resp.text[:500])
    body = resp.json()
    error = body["error"]
    if isinstance(error, str):
        # The compatibility routes' flat shape, in the words of the systems they replace,
        # which check the message before anything else (docs/compatibility.md).
        assert body["code"] == "validation_error", (where, body)
        return
    if error["code"] == "malformed_json":
        return  # a parser that holds JSON text to be Unicode refuses a lone surrogate itself
    assert error["code"] == "validation_error", (where, error)
    said = [error["message"], *(d["message"] for d in error.get("details") or [])]
    # The field's own name: an item of a list is reported as "name.0".
    fields = [
        [part for part in d["field"].split(".") if not part.isdigit()][-1]
        for d in error.get("details") or []
        if d["field"]
    ]
    assert any("NUL" in m or "surrogate" in m for m in said) or field in fields, (where, error)


def _json(body: Any) -> dict[str, Any]:
    # json.dumps escapes a lone surrogate as \\ud800, which is how a client would send one.
    return {"content": json.dumps(body), "headers": {"Content-Type": "application/json"}}


@pytest.mark.parametrize("bad", ["nul", "surrogate"])
async def test_no_string_field_takes_nul_or_a_lone_surrogate(
    world: World, app: FastAPI, client: httpx.AsyncClient, bad: str
) -> None:
    value = BAD[bad]
    spec = full_spec(app)
    walk = Walk(world, client)
    for path, item in spec["paths"].items():
        if path.startswith("/api/widgets"):
            continue  # the same route objects as /api/v1/widgets… (chat/visitor/compat_paths.py)
        for method, op in item.items():
            method = method.upper()
            for param in op.get("parameters", []):
                if not _is_text(param.get("schema", {}), spec):
                    continue
                where = f"{method} {path} {param['in']} {param['name']}"
                if param["in"] == "path":
                    url = fill(path.replace("{" + param["name"] + "}", RAW[bad]), world.ids)
                    resp = await walk.send(method, path, url=url)
                    assert resp.status_code < 500, (where, resp.text[:500])
                    continue
                if bad == "surrogate":
                    # Decoded with replacement characters: nothing to refuse, nothing to break.
                    query = f"?{param['name']}={RAW[bad]}" if param["in"] == "query" else ""
                    resp = await walk.send(method, path, url=fill(path, world.ids) + query)
                    assert resp.status_code < 500, (where, resp.text[:500])
                    continue
                if param["in"] == "header":
                    resp = await walk.send(method, path, headers={param["name"]: value.encode()})
                else:
                    resp = await walk.send(method, path, params={param["name"]: value})
                _refused(resp, where, param["name"])
            content = (op.get("requestBody") or {}).get("content", {})
            json_schema = content.get("application/json", {}).get("schema")
            for base, leaf in _bodies(json_schema or {}, spec):
                where = f"{method} {path} body {'.'.join(map(str, leaf))}"
                resp = await walk.send(method, path, **_json(_with(base, leaf, value)))
                _refused(resp, where, str([k for k in leaf if isinstance(k, str)][-1]))
            form = content.get("multipart/form-data", {}).get("schema", {})
            for name, prop in form.get("properties", {}).items():
                if _is_text(prop, spec):
                    raw = value.encode() if bad == "nul" else b"bad\xed\xa0\x80text"
                    resp = await walk.send(
                        method,
                        path,
                        data={name: raw},
                        files={"file": ("notes.md", b"# Notes\nSome text.")},
                    )
                    if bad == "nul":
                        _refused(resp, f"{method} {path} form {name}", name)
                    assert resp.status_code < 500, resp.text[:500]
    assert walk.sent > 60, "the walk found too few fields"


async def test_pages_reading_their_own_query_strings(
    world: World, client: httpx.AsyncClient
) -> None:
    walk = Walk(world, client)
    for path, name in PAGE_QUERIES:
        for value in RAW.values():
            resp = await walk.send("GET", path, url=f"{fill(path, world.ids)}?{name}={value}")
            assert resp.status_code < 500, (path, name, resp.text[:300])


async def test_an_uploaded_file_name_with_control_characters_is_only_a_label(
    world: World,
) -> None:
    o = world.owner
    # Written by hand: a client library would escape the characters this is about.
    body = (
        b"--b\r\n"
        b'Content-Disposition: form-data; name="file"; filename="no\x00tes\x07.md"\r\n'
        b"Content-Type: text/markdown\r\n\r\n"
        b"# Notes\nSome text.\r\n"
        b"--b--\r\n"
    )
    resp = await o.post(
        f"/api/v1/widgets/{world.ids['widget_id']}/sources",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert resp.status_code == 202, resp.text
    source = (await o.get(f"/api/v1/sources/{resp.json()['source_id']}")).json()
    assert source["title"] == "notes"  # the file's name without its extension
