"""Crawling the loopback site: scope, robots, redirects, limits, per-page errors, re-sync."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from porch.models import Chunk, Page
from tests.conftest import BOTH, OwnerClient, make_widget
from tests.knowledge.conftest import CRAWL, add_source, search, settle, source
from tests.knowledge.site import Site, page

pytestmark = [
    pytest.mark.parametrize("backend", BOTH, indirect=True),
    pytest.mark.settings(**CRAWL),
]


async def crawl_site(app: FastAPI, owner: OwnerClient, site: Site, **crawl: Any) -> tuple[str, str]:
    widget = await make_widget(owner)
    sid = await add_source(
        owner, widget["id"], type="url", url=site.url("/"), crawl={"max_pages": 50, **crawl}
    )
    await settle(app)
    return widget["id"], sid


async def chunks_by_url(app: FastAPI, source_id: str) -> dict[str, list[Chunk]]:
    import uuid

    out: dict[str, list[Chunk]] = {}
    async with app.state.porch.sessionmaker() as session:
        rows = await session.execute(select(Chunk).where(Chunk.source_id == uuid.UUID(source_id)))
        for c in rows.scalars():
            out.setdefault((c.url or "").split("#")[0], []).append(c)
    return out


async def test_crawl_stores_each_page_once_and_reports_the_rest(
    app: FastAPI, owner: OwnerClient, site: Site
) -> None:
    widget_id, sid = await crawl_site(app, owner, site)
    src = await source(owner, sid)
    assert src["status"] == "ready", src
    assert src["progress"] == 1.0
    stats = src["stats"]
    stored = {site.url(p) for p in ("/", "/docs/install", "/docs/billing", "/docs/errors")}
    stored.add(site.url("/files/warranty.pdf"))
    by_url = await chunks_by_url(app, sid)
    assert set(by_url) == stored
    assert src["pages"] == 5 and stats["stored"] == 5
    assert src["chunks"] == sum(len(v) for v in by_url.values())

    reasons = stats["skip_reasons"]
    for reason in ("robots", "http_404", "redirect_loop", "too_large", "timeout"):
        assert reasons.get(reason), (reason, reasons)
    assert reasons.get("other_site") and reasons.get("not_a_page")
    assert reasons.get("duplicate_canonical") or reasons.get("duplicate_of")
    assert reasons.get("redirect_to_known_page")
    failed = {e["url"]: e["reason"] for e in stats["errors"]}
    assert failed[site.url("/missing")] == "http_404"
    assert failed[site.url("/slow")] == "timeout"

    # robots.txt was read and obeyed; things that are not pages were never requested.
    paths = site.paths()
    assert "/robots.txt" in paths
    assert not any(p.startswith("/private") for p in paths)
    assert "/logo.png" not in paths and "/download.zip" not in paths
    assert sum(1 for p in paths if p.split("?")[0] == "/docs/install") == 1
    assert all("porch" in r.headers.get("User-Agent", "") for r in site.requests)

    # Main text only: navigation, cookie banner and footer are gone; sections are kept.
    texts = [c.text for cs in by_url.values() for c in cs]
    assert not any("cookies" in t or "Copyright" in t for t in texts)
    pairing = [c for c in by_url[site.url("/docs/install")] if "pairing button" in c.text]
    assert pairing[0].heading.endswith("Pairing with your phone")
    assert pairing[0].title == "Installing the sensor"

    pages = (await owner.get(f"/api/v1/sources/{sid}/pages")).json()["pages"]
    statuses = {p["url"]: (p["status"], p["reason"]) for p in pages}
    assert statuses[site.url("/private/secret")] == ("skipped", "robots")
    assert statuses[site.url("/huge")] == ("failed", "too_large")

    hits = await search(owner, widget_id, "how deep should the sensor go into the ground?")
    assert hits and hits[0]["url"] == site.url("/docs/install")
    hits = await search(owner, widget_id, "how do I pair the sensor with my phone?")
    assert hits[0]["url"] == site.url("/docs/install#step-2")  # linked to its section
    hits = await search(owner, widget_id, "E2001")
    assert hits[0]["url"].startswith(site.url("/docs/errors")) and "E2001" in hits[0]["text"]
    hits = await search(owner, widget_id, "how long is the warranty?")
    assert hits[0]["url"] == site.url("/files/warranty.pdf")


async def test_limits_and_globs(app: FastAPI, owner: OwnerClient, site: Site) -> None:
    _, sid = await crawl_site(app, owner, site, max_pages=2)
    assert (await source(owner, sid))["stats"]["skip_reasons"].get("max_pages")
    by_url = await chunks_by_url(app, sid)
    assert len(by_url) <= 2

    _, sid = await crawl_site(app, owner, site, exclude=["/docs/b*"], max_depth=1)
    by_url = await chunks_by_url(app, sid)
    assert site.url("/docs/install") in by_url and site.url("/docs/billing") not in by_url
    assert (await source(owner, sid))["stats"]["skip_reasons"].get("excluded")

    _, sid = await crawl_site(app, owner, site, include=["/", "/docs/e*"])
    assert set(await chunks_by_url(app, sid)) == {site.url("/"), site.url("/docs/errors")}


async def test_resync_changes_only_what_changed(
    app: FastAPI, owner: OwnerClient, site: Site
) -> None:
    widget_id, sid = await crawl_site(app, owner, site)
    before = await chunks_by_url(app, sid)
    assert site.url("/docs/new") not in before

    site.pages["/docs/billing"] = page(
        "Billing and plans",
        "<h1>Billing and plans</h1><p>The Premium plan now costs 5 euros per month and adds "
        "frost alerts for gardeners in cold climates.</p>",
    )
    del site.pages["/docs/errors"]
    site.pages["/docs/new"] = page(
        "What is new", "<h1>What is new</h1><p>Version 3 adds a hummingbird feeder sensor.</p>"
    )
    site.requests.clear()
    resp = await owner.post(f"/api/v1/sources/{sid}/resync")
    assert resp.status_code == 202 and resp.json()["status"] == "pending"
    await settle(app)

    src = await source(owner, sid)
    assert src["status"] == "ready", src
    stats = src["stats"]
    assert stats["stored"] == 2, stats  # billing changed, /docs/new added
    assert stats["unchanged"] == 3 and stats["removed"] == 1
    after = await chunks_by_url(app, sid)
    assert site.url("/docs/errors") not in after and site.url("/docs/new") in after
    # Unchanged pages keep their passages and vectors; they were asked for conditionally.
    assert [c.id for c in after[site.url("/docs/install")]] == [
        c.id for c in before[site.url("/docs/install")]
    ]
    conditional = [r for r in site.requests if r.headers.get("If-None-Match")]
    assert {r.path for r in conditional} >= {"/", "/docs/install"}
    assert all(c.embedding for cs in after.values() for c in cs)

    assert not any("E2001" in h["text"] for h in await search(owner, widget_id, "E2001"))
    hits = await search(owner, widget_id, "hummingbird feeder")
    assert hits[0]["url"].startswith(site.url("/docs/new"))
    hits = await search(owner, widget_id, "how much does premium cost per month")
    assert "5 euros" in hits[0]["text"]

    async with app.state.porch.sessionmaker() as session:
        urls = set((await session.execute(select(Page.url))).scalars())
    assert site.url("/docs/errors") not in urls


async def test_sitemap_index_with_gzip(app: FastAPI, owner: OwnerClient, site: Site) -> None:
    widget = await make_widget(owner)
    sid = await add_source(owner, widget["id"], type="sitemap", url=site.url("/sitemap_index.xml"))
    await settle(app)
    src = await source(owner, sid)
    assert src["status"] == "ready", src
    by_url = await chunks_by_url(app, sid)
    assert set(by_url) == {
        site.url(p) for p in ("/", "/docs/install", "/docs/billing", "/docs/errors")
    }
    # Links on sitemap pages are not followed.
    assert "/missing" not in site.paths() and "/docs/new" not in site.paths()

    # Unchanged since the sitemap's lastmod: the gzip sitemap's pages are not fetched again.
    site.requests.clear()
    await owner.post(f"/api/v1/sources/{sid}/resync")
    await settle(app)
    assert (await source(owner, sid))["stats"]["unchanged"] == 4
    assert "/docs/errors" not in site.paths()


async def test_delete_source_mid_crawl_and_after(
    app: FastAPI, owner: OwnerClient, site: Site
) -> None:
    widget_id, sid = await crawl_site(app, owner, site)
    assert await search(owner, widget_id, "pairing button")
    assert (await owner.delete(f"/api/v1/sources/{sid}")).status_code == 204
    assert not await search(owner, widget_id, "pairing button")
    async with app.state.porch.sessionmaker() as session:
        assert not (await session.execute(select(Chunk.id))).first()
        assert not (await session.execute(select(Page.id))).first()

    # Deleted while its job runs: the job stops and writes nothing.
    sid = await add_source(owner, widget_id, type="url", url=site.url("/"))
    assert (await owner.delete(f"/api/v1/sources/{sid}")).status_code == 204
    await settle(app)
    async with app.state.porch.sessionmaker() as session:
        assert not (await session.execute(select(Chunk.id))).first()
