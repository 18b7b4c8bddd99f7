"""Curated answers in and out as CSV or JSONL: an export imported into an empty widget
exports again byte for byte.

CSV columns are `FIELDS`; a cell holding a list (variants, tags) puts one item per line.
JSONL is one object per line with the same fields. An import is checked whole before
anything is stored: a row that fails validation is a 400 naming its line, and a question
the widget (or the file) already has with another answer is a 409 naming the existing one.
A question it already has with the same answer updates that answer's other fields.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from typing import Any

import numpy as np
import orjson
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.curation import service
from porch.curation.index import CuratedIndex, split_vectors, texts_of
from porch.curation.matching import normalise
from porch.curation.schemas import CuratedIn, ImportResult
from porch.embeddings.vectors import decode_many, dimension
from porch.errors import BadRequest, Conflict, UnsupportedMediaType
from porch.models import CuratedAnswer
from porch.models.base import utcnow
from porch.widgets import service as widgets

FIELDS = (
    "question",
    "variants",
    "answer",
    "mode",
    "threshold",
    "status",
    "locale",
    "tags",
    "valid_until",
)
_LISTS = ("variants", "tags")
MAX_ROWS = 5000


def _record(row: CuratedAnswer) -> dict[str, Any]:
    return {
        "question": row.question,
        "variants": list(row.variants or []),
        "answer": row.answer,
        "mode": row.mode,
        "threshold": row.threshold,
        "status": row.status,
        "locale": row.locale,
        "tags": list(row.tags or []),
        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
    }


async def export(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID, fmt: str
) -> str:
    rows = await service.list_all(session, workspace_id, widget_id)
    records = [_record(r) for r in rows]
    if fmt == "jsonl":
        return "".join(orjson.dumps(r).decode() + "\n" for r in records)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in records:
        cells = {k: ("\n".join(r[k]) if k in _LISTS else r[k]) for k in FIELDS}
        writer.writerow({k: "" if v is None else v for k, v in cells.items()})
    return out.getvalue()


def _parse_csv(text: str) -> Iterable[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"question", "answer"} - set(reader.fieldnames or [])
    if missing:
        raise BadRequest(
            f"The CSV needs a header row with {', '.join(sorted(missing))}.", code="invalid_import"
        )
    for row in reader:
        item: dict[str, Any] = {}
        for key, value in row.items():
            if key is None or key not in FIELDS or value in (None, ""):
                continue
            item[key] = [v for v in value.split("\n") if v] if key in _LISTS else value
        yield reader.line_num, item


def _parse_jsonl(text: str) -> Iterable[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise BadRequest(f"Line {number} is not JSON.", code="invalid_import") from None
        if not isinstance(item, dict):
            raise BadRequest(f"Line {number} is not a JSON object.", code="invalid_import")
        yield number, {k: v for k, v in item.items() if v is not None}


def parse(text: str, fmt: str) -> list[CuratedIn]:
    rows = _parse_jsonl(text) if fmt == "jsonl" else _parse_csv(text)
    out: list[CuratedIn] = []
    for number, item in rows:
        if len(out) >= MAX_ROWS:
            raise BadRequest(f"An import holds at most {MAX_ROWS} rows.", code="too_many_rows")
        try:
            out.append(CuratedIn(**{**item, "origin": "import"}))
        except (ValidationError, TypeError) as exc:
            raise BadRequest(f"Line {number}: {_first_error(exc)}", code="invalid_import") from None
    if not out:
        raise BadRequest("The file holds no curated answers.", code="invalid_import")
    return out


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        return f"{where}: {err.get('msg', 'invalid')}"
    return "invalid row"


async def import_file(
    session: AsyncSession,
    index: CuratedIndex,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    raw: bytes,
    fmt: str | None,
    *,
    user_id: uuid.UUID | None,
) -> ImportResult:
    """`fmt` from ?format= or the body's Content-Type; None when neither names one."""
    await widgets.get(session, workspace_id, widget_id)
    if fmt not in ("csv", "jsonl"):
        raise UnsupportedMediaType(
            "Send text/csv or application/jsonl (or name it with ?format=).",
            code="unsupported_import_type",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("The file is not UTF-8 text.", code="invalid_import") from None
    items = parse(text, fmt)
    existing = list(
        (
            await session.execute(
                select(CuratedAnswer)
                .where(CuratedAnswer.widget_id == widget_id)
                .order_by(CuratedAnswer.created_at, CuratedAnswer.id)
            )
        ).scalars()
    )
    by_question = {normalise(r.question): r for r in existing if r.status != "archived"}
    seen: dict[str, CuratedIn] = {}
    for item in items:
        key = normalise(item.question)
        prior, twin = by_question.get(key), seen.get(key)
        if prior is not None and normalise(prior.answer) != normalise(item.answer):
            raise Conflict(
                f"The widget already answers {item.question!r} differently.",
                code="duplicate_question",
                fields={"existing_id": str(prior.id)},
            )
        if twin is not None and normalise(twin.answer) != normalise(item.answer):
            raise Conflict(
                f"The file answers {item.question!r} twice, differently.",
                code="duplicate_question",
            )
        seen[key] = item
    vectors = await _embed_all(index, items)
    _near_duplicates(existing, items, vectors, index.embedder.name)
    return await _store(
        session, index, widget_id, workspace_id, items, vectors, by_question, user_id
    )


async def _embed_all(index: CuratedIndex, items: list[CuratedIn]) -> list[bytes | None]:
    """Every row's texts embedded in one call (sorted batches are the embedder's business)."""
    texts = [texts_of(i.question, i.variants) for i in items]
    flat = [t for ts in texts for t in ts]
    stored = await index.vectors(flat)
    if stored is None:
        return [None] * len(items)
    parts = split_vectors(stored, len(flat)) or []
    out: list[bytes | None] = []
    at = 0
    for ts in texts:
        out.append(b"".join(parts[at : at + len(ts)]))
        at += len(ts)
    return out


def _near_duplicates(
    existing: list[CuratedAnswer],
    items: list[CuratedIn],
    vectors: list[bytes | None],
    embedder: str,
) -> None:
    """A new question within `DUPLICATE_COSINE` of an existing one with another answer: 409."""
    theirs = [
        (r, parts[0])
        for r in existing
        if r.status != "archived" and r.embedder == embedder
        for parts in [split_vectors(r.embedding, 1 + len(r.variants or []))]
        if parts
    ]
    mine = [
        (item, parts[0])
        for item, blob in zip(items, vectors, strict=True)
        for parts in [split_vectors(blob, 1 + len(item.variants))]
        if parts
    ]
    if not theirs or not mine:
        return
    dims = {dimension(b) for _, b in theirs} | {dimension(b) for _, b in mine}
    if len(dims) != 1:
        return
    dim = dims.pop()
    a = decode_many([b for _, b in theirs], dim)
    b = decode_many([b for _, b in mine], dim)
    sims = b @ a.T
    for i, j in zip(*np.nonzero(sims >= service.DUPLICATE_COSINE), strict=True):
        item, row = mine[int(i)][0], theirs[int(j)][0]
        same_question = normalise(item.question) == normalise(row.question)
        if not same_question and normalise(item.answer) != normalise(row.answer):
            raise Conflict(
                f"{item.question!r} is the same question as {row.question!r}, answered "
                "differently.",
                code="duplicate_question",
                fields={"existing_id": str(row.id)},
            )


async def _store(
    session: AsyncSession,
    index: CuratedIndex,
    widget_id: uuid.UUID,
    workspace_id: uuid.UUID,
    items: list[CuratedIn],
    vectors: list[bytes | None],
    by_question: dict[str, CuratedAnswer],
    user_id: uuid.UUID | None,
) -> ImportResult:
    created = updated = 0
    ids: list[uuid.UUID] = []
    for item, blob in zip(items, vectors, strict=True):
        now = utcnow()
        row = by_question.get(normalise(item.question))
        if row is None:
            row = CuratedAnswer(
                workspace_id=workspace_id,
                widget_id=widget_id,
                origin="import",
                created_by=user_id,
                created_at=now,
            )
            session.add(row)
            by_question[normalise(item.question)] = row
            created += 1
        else:
            updated += 1
        row.question, row.variants, row.answer = item.question, list(item.variants), item.answer
        row.mode, row.threshold, row.status = item.mode, item.threshold, item.status
        row.locale, row.tags, row.valid_until = item.locale, list(item.tags), item.valid_until
        row.embedding, row.embedder = blob, index.embedder.name if blob else None
        if item.status == "approved" and row.approved_at is None:
            row.approved_by, row.approved_at = user_id, now
        row.updated_at = now
        await session.flush()
        ids.append(row.id)
    service.changed(session, index, widget_id)
    return ImportResult(created=created, updated=updated, ids=ids)
