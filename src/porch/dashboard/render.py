"""Rendering dashboard pages: the Jinja environment, the static files, the security headers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from porch.web import assets

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
PREFIX = "/app"

# No inline script or style anywhere on these pages; nothing may frame them.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    # Pages hold the CSRF token and private data: never stored by a cache.
    "Cache-Control": "no-store",
}

_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html", "svg"], default_for_string=True, default=True),
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def _number(value: float | int | None) -> str:
    if value is None:
        return "—"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def _usd(value: float | None) -> str:
    value = value or 0.0
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def _http_url(value: str | None) -> str | None:
    """Only http(s) links reach an href: no javascript: or data: from stored text."""
    if value and value.lower().startswith(("http://", "https://")):
        return value
    return None


def _hex6(value: str) -> str:
    """#abc as #aabbcc: the only form <input type=color> shows."""
    if len(value) == 4 and value.startswith("#"):
        return "#" + "".join(ch * 2 for ch in value[1:])
    return value.lower()


_env.filters.update(when=_when, number=_number, usd=_usd, http_url=_http_url, hex6=_hex6)

_ASSETS: dict[str, assets.Asset] = {
    path.name: assets.load(path, path.name)
    for path in sorted(STATIC_DIR.iterdir())
    if path.is_file()
}


def root_of(request: Request) -> str:
    """The path porch is mounted under behind a proxy ('' at the top)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def asset_url(name: str, root: str = "") -> str:
    asset = _ASSETS.get(name)
    return f"{root}{PREFIX}/static/{name}" + (f"?v={asset.version}" if asset else "")


def static_response(name: str, request: Request) -> Response:
    asset = _ASSETS.get(name)
    if asset is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    versioned = request.query_params.get("v") == asset.version
    return asset.response(request, assets.LONG_CACHE if versioned else assets.SHORT_CACHE)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    root = root_of(request)

    def asset(name: str) -> str:
        return asset_url(name, root)

    def web_asset(name: str) -> str:
        # The widget's own files (markdown.js): transcripts render exactly as visitors saw them.
        return assets.url(name, root)

    html = _env.get_template(template).render(
        asset=asset, web_asset=web_asset, root=root, app=root + PREFIX, **context
    )
    return HTMLResponse(html, status_code=status_code, headers=page_headers(request))


def page_headers(request: Request) -> dict[str, str]:
    """HEADERS, with this host's ws:// and wss:// in connect-src for the live inbox socket.

    CSP3 lets 'self' match same-origin WebSockets, but not every browser in use does yet.
    """
    host = request.headers.get("host", "")
    if not host or any(c in host for c in " ;,'\"\n"):
        return HEADERS
    csp = HEADERS["Content-Security-Policy"].replace(
        "connect-src 'self'", f"connect-src 'self' ws://{host} wss://{host}"
    )
    return {**HEADERS, "Content-Security-Policy": csp}
