"""Pages: the widget.js loader, the chat page at /w/{id}, static files and the demo page."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.responses import HTMLResponse

from porch.deps import SessionmakerDep, SettingsDep
from porch.errors import NotFound
from porch.web import assets, pages
from porch.widgets.dependencies import WidgetCacheDep
from porch.widgets.service import default_widget_id

router = APIRouter(include_in_schema=False)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.api_route("/widget.js", methods=["GET", "HEAD"])
@router.api_route("/js/widget.js", methods=["GET", "HEAD"])
async def widget_js(request: Request) -> Response:
    """The loader that host pages embed."""
    return assets.WIDGET_JS.response(request)


@router.api_route("/static/{name:path}", methods=["GET", "HEAD"])
async def static_file(name: str, request: Request) -> Response:
    asset = assets.get(name)
    if asset is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    versioned = request.query_params.get("v") == asset.version
    return asset.response(request, assets.LONG_CACHE if versioned else assets.SHORT_CACHE)


@router.get("/w/{widget_id}", response_class=HTMLResponse)
async def chat_page(widget_id: str, request: Request, cache: WidgetCacheDep) -> Response:
    """The chat the loader frames; only the widget's allowed origins may frame it."""
    wid = pages.parse_widget_id(widget_id)
    config = await cache.get(wid) if wid else None
    if config is None:
        return pages.missing_page(_root(request))
    return pages.chat_page(
        config.public_json,
        config.allowed_origins,
        locale=request.query_params.get("locale"),
        root_path=_root(request),
    )


@router.get("/demo", response_class=HTMLResponse)
async def demo(request: Request, sessionmaker: SessionmakerDep, settings: SettingsDep) -> Response:
    """A pretend product site embedding the first widget, to try the chat end to end.

    Off in production unless PORCH_DEMO_PAGE turns it on: it shows the oldest widget to
    anyone who asks."""
    if not settings.demo_enabled:
        raise NotFound(
            "The demo page is off in production; PORCH_DEMO_PAGE=true turns it on.",
            code="demo_off",
        )
    async with sessionmaker() as session:
        wid = await default_widget_id(session)
    return pages.demo_page(wid, settings.public_url, _root(request))
