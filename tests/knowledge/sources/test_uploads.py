"""Uploaded documents: every supported type, the type taken from the bytes, the size limit."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.conftest import BOTH, OwnerClient, make_widget
from tests.knowledge import files
from tests.knowledge.conftest import search, settle, source

pytestmark = [
    pytest.mark.parametrize("backend", BOTH, indirect=True),
    pytest.mark.settings(jobs_queue="memory", upload_max_bytes=200_000),
]

DOCS = {
    "policy.pdf": (
        files.pdf(["Shipping policy", "Orders leave our warehouse within two business days."]),
        "how fast do orders ship",
        "two business days",
    ),
    "refunds.docx": (
        files.docx(
            [
                ("Heading1", "Refund policy"),
                (None, "Refunds are issued within thirty days of purchase."),
                ("Heading2", "Exceptions"),
                (None, "Gift cards are never refundable."),
            ]
        ),
        "can I get my money back for a gift card",
        "Gift cards are never refundable",
    ),
    "roadmap.pptx": (
        files.pptx("Quarterly roadmap", "The mobile app launches in the spring."),
        "when does the mobile app launch",
        "launches in the spring",
    ),
    "prices.xlsx": (
        files.xlsx("Prices", [["Plan", "Monthly price"], ["Starter", "9"], ["Business", "49"]]),
        "Business plan price",
        "49",
    ),
    "about.html": (
        b"<!DOCTYPE html><html><head><title>About us</title></head><body><nav>Home | Shop</nav>"
        b"<main><h1>About us</h1><p>Acme was founded in Lisbon in 2011 by two beekeepers "
        b"who wanted better hive sensors.</p></main><footer>(c) Acme</footer></body></html>",
        "where was the company founded",
        "Lisbon",
    ),
    "faq.md": (
        b"# FAQ\n\n## Opening hours\n\nOur phone line is open from 9:00 to 17:00 on weekdays.\n",
        "when can I call you",
        "9:00 to 17:00",
    ),
    "notes.txt": (
        "Parcels to Iceland travel by ship and take about three weeks.".encode("utf-16"),
        "delivery time to Iceland",
        "three weeks",
    ),
    "stores.csv": (
        b"city,address,phone\nPorto,Rua das Flores 12,+351 222 000 111\n"
        b"Braga,Avenida Central 3,+351 253 000 222\n",
        "address of the Braga store",
        "Avenida Central 3",
    ),
}


async def upload(
    owner: OwnerClient, widget_id: str, name: str, data: bytes, **form: str
) -> tuple[int, dict[str, object]]:
    resp = await owner.post(
        f"/api/v1/widgets/{widget_id}/sources", files={"file": (name, data)}, data=form
    )
    return resp.status_code, resp.json() if resp.content else {}


async def test_every_type_becomes_searchable(app: FastAPI, owner: OwnerClient) -> None:
    widget = await make_widget(owner)
    ids = {}
    for name, (data, _, _) in DOCS.items():
        code, body = await upload(owner, widget["id"], name, data)
        assert code == 202, (name, body)
        ids[name] = str(body["source_id"])
    await settle(app)
    for name, (_, question, answer) in DOCS.items():
        src = await source(owner, ids[name])
        assert src["status"] == "ready", (name, src)
        assert src["chunks"] >= 1 and src["config"]["filename"] == name
        hits = await search(owner, widget["id"], question, source_id=ids[name])
        assert hits and answer in hits[0]["text"], (name, hits)
    hits = await search(owner, widget["id"], "gift card refund", source_id=ids["refunds.docx"])
    assert hits[0]["heading"].endswith("Exceptions")
    hits = await search(owner, widget["id"], "Braga store address", source_id=ids["stores.csv"])
    assert "city: Braga" in hits[0]["text"]


async def test_type_comes_from_the_content(app: FastAPI, owner: OwnerClient) -> None:
    widget = await make_widget(owner)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    for name, data in (
        ("picture.png", png),
        ("fake.pdf", b"just some words, not a PDF"),
        ("archive.zip", files.xlsx("x", [["a"]]).replace(b"xl/workbook.xml", b"xl/notebook.xml")),
        ("renamed.docx", png),
    ):
        code, body = await upload(owner, widget["id"], name, data)
        assert code == 415, (name, body)
        assert body["error"]["code"] == "unsupported_file_type"
    # A real PDF with a misleading name is still read as a PDF.
    code, body = await upload(owner, widget["id"], "policy.txt", DOCS["policy.pdf"][0])
    assert code == 202
    await settle(app)
    src = await source(owner, str(body["source_id"]))
    assert src["status"] == "ready" and src["config"]["kind"] == "pdf"


async def test_size_and_shape_errors(app: FastAPI, owner: OwnerClient) -> None:
    widget = await make_widget(owner)
    code, body = await upload(owner, widget["id"], "big.txt", b"word " * 50_000)
    assert code == 413 and body["error"]["code"] == "file_too_large"
    code, body = await upload(owner, widget["id"], "empty.txt", b"")
    assert code == 400
    resp = await owner.post(
        f"/api/v1/widgets/{widget['id']}/sources", files={"other": ("a.txt", b"hello")}
    )
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "no_file"
    # Bodies past the upload limit are refused before they are read.
    resp = await owner.post(
        f"/api/v1/widgets/{widget['id']}/sources", files={"file": ("x.txt", b"a" * 400_000)}
    )
    assert resp.status_code == 413


async def test_titles_agree_and_a_text_title_line_heads_its_passage(
    app: FastAPI, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    text = b"Warranty\nAll devices carry a two-year warranty against defects.\n"
    code, body = await upload(owner, widget["id"], "warranty.txt", text)
    assert code == 202, body
    code, named = await upload(owner, widget["id"], "faq.md", DOCS["faq.md"][0], title="Help")
    assert code == 202, named
    await settle(app)
    src = await source(owner, str(body["source_id"]))
    assert src["title"] == "warranty"  # the dashboard's name for it
    hits = await search(owner, widget["id"], "device warranty", source_id=str(body["source_id"]))
    # Visitors' source link carries the same title; the title line is a heading, not text.
    assert hits[0]["title"] == "warranty"
    assert hits[0]["heading"].endswith("Warranty")
    assert not hits[0]["text"].startswith("Warranty All")
    owned = await search(owner, widget["id"], "when can I call", source_id=str(named["source_id"]))
    assert owned[0]["title"] == "Help"


async def test_xlsx_without_the_documents_extra_is_refused_clearly(
    app: FastAPI, owner: OwnerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from porch.knowledge.ingest import documents

    real = documents.importlib.util.find_spec
    monkeypatch.setattr(
        documents.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pandas" else real(name, *a),
    )
    widget = await make_widget(owner)
    code, body = await upload(owner, widget["id"], "prices.xlsx", DOCS["prices.xlsx"][0])
    assert code == 415
    assert body["error"]["code"] == "unsupported_file_type"
    assert "porch[documents]" in body["error"]["message"]
