"""/docs: Swagger UI served from porch itself.

FastAPI's default page loads Swagger UI from a CDN, so on a server without internet access
(or a browser behind a strict proxy) /docs is blank. The `fastapi-offline` package ships
Swagger UI 5 (which reads OpenAPI 3.1, as FastAPI writes it); its files are served here, read
once, with a long cache keyed by the package's version."""

from __future__ import annotations

from functools import cache
from importlib.metadata import version
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.responses import Response

router = APIRouter(include_in_schema=False)

ASSET_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}
VERSION = version("fastapi-offline")


@cache
def _read(name: str) -> bytes:
    return (ASSET_DIR / name).read_bytes()


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get("/docs")
async def swagger_page(request: Request) -> Response:
    root = _root(request)
    base = f"{root}/docs/assets"
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title="porch · API",
        swagger_js_url=f"{base}/swagger-ui-bundle.js?v={VERSION}",
        swagger_css_url=f"{base}/swagger-ui.css?v={VERSION}",
        swagger_favicon_url=f"{base}/favicon.png?v={VERSION}",
        oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
    )


@router.get("/docs/oauth2-redirect")
async def swagger_redirect() -> Response:
    return get_swagger_ui_oauth2_redirect_html()


@router.api_route("/docs/assets/{name}", methods=["GET", "HEAD"])
async def swagger_asset(name: str) -> Response:
    media = ASSETS.get(name)
    if media is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    headers = {"Cache-Control": "public, max-age=31536000, immutable"}
    return Response(_read(name), media_type=media, headers=headers)
