"""HTML pages: the chat page a widget's iframe shows, its 404, and the demo host page."""

from __future__ import annotations

import functools
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse

from porch.web import assets

SUPPORTED_LANGUAGES = ("en", "de", "fr", "es")
_ORIGIN = re.compile(
    r"^https?://[A-Za-z0-9.\-]+(?::\d{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$"
)

_env = Environment(
    loader=FileSystemLoader(assets.TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


def language(locale: str | None) -> str:
    """The page language for a locale like de-AT: one we have strings for, else English."""
    lang = (locale or "").replace("_", "-").split("-")[0].lower()
    return lang if lang in SUPPORTED_LANGUAGES else "en"


def frame_ancestors(allowed_origins: tuple[str, ...] | list[str]) -> str:
    """The CSP frame-ancestors source list: which sites may put the chat in an iframe."""
    if "*" in allowed_origins:
        return "*"
    listed = [o for o in allowed_origins if _ORIGIN.match(o)]
    return " ".join(["'self'", *listed])


def chat_csp(allowed_origins: tuple[str, ...] | list[str]) -> str:
    return _csp(frame_ancestors(allowed_origins))


def demo_csp(public_url: str) -> str:
    """The chat page's policy, for the demo page: the loader comes from the public URL and
    frames the chat from there, and nothing else may load, run or frame the demo."""
    parts = urlsplit(public_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return _csp("'none'", origin if _ORIGIN.match(origin) else "")


def _csp(ancestors: str, porch_origin: str = "") -> str:
    # porch_origin: where porch itself answers, when the page may be served from elsewhere.
    own = f"'self' {porch_origin}".strip()
    return "; ".join(
        [
            f"default-src {own}",
            f"script-src {own}",
            "style-src 'self'",
            f"connect-src {own}",
            "img-src 'self' data:",
            "font-src 'self'",
            f"frame-src {own}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            f"frame-ancestors {ancestors}",
        ]
    )


def script_json(data: bytes) -> Markup:
    """JSON made safe to sit inside <script type="application/json">: no </script>, no <!--."""
    safe = data.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")
    return Markup(safe.decode())  # noqa: S704 - every markup-significant character is escaped


def _render(name: str, root_path: str, **context: Any) -> str:
    def asset(file: str) -> str:
        return assets.url(file, root_path)

    return _env.get_template(name).render(asset=asset, **context)


@functools.lru_cache(maxsize=512)
def _chat_html(public_json: bytes, lang: str, root_path: str) -> str:
    """The chat page for one version of a widget's public config (rendered once, reused)."""
    public: dict[str, Any] = orjson.loads(public_json)
    theme = public.get("theme") or {}
    return _render(
        "chat.html",
        root_path,
        title=public.get("title") or "Chat",
        subtitle=public.get("subtitle") or "",
        lang=lang,
        scheme=theme.get("color_scheme", "auto"),
        config_json=script_json(public_json),
    )


def chat_page(
    public_json: bytes, allowed_origins: tuple[str, ...], *, locale: str | None, root_path: str
) -> HTMLResponse:
    return HTMLResponse(
        _chat_html(public_json, language(locale), root_path),
        headers={
            "Content-Security-Policy": chat_csp(allowed_origins),
            "Cache-Control": "no-cache",
        },
    )


def missing_page(root_path: str) -> HTMLResponse:
    html = _render("missing.html", root_path)
    return HTMLResponse(
        html,
        status_code=404,
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'self'; base-uri 'none'",
            "Cache-Control": "no-cache",
        },
    )


def demo_page(widget_id: uuid.UUID | None, public_url: str, root_path: str) -> HTMLResponse:
    """The demo site, loading the widget from the configured public URL (never from the
    request's Host header, which the client chooses)."""
    snippet = f'<script src="{public_url}/widget.js" data-widget-id="{widget_id}" async></script>'
    html = _render(
        "demo.html", root_path, widget_id=widget_id, base_url=public_url, snippet=snippet
    )
    return HTMLResponse(
        html,
        headers={"Content-Security-Policy": demo_csp(public_url), "Cache-Control": "no-cache"},
    )


def parse_widget_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None
