"""Static files of web/static, read and hashed once, served with ETag, gzip and Cache-Control."""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES_DIR = Path(__file__).parent / "templates"

_TYPES = {
    ".js": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
}
_COMPRESSIBLE = (".js", ".css", ".json", ".html", ".txt", ".svg")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$")

# Revalidated every five minutes; a URL carrying the file's ?v=<version> is cached for a year.
SHORT_CACHE = "public, max-age=300"
LONG_CACHE = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str
    version: str

    def matches(self, if_none_match: str | None) -> bool:
        """True when the client's If-None-Match names this file (either encoding, weak or not)."""
        if not if_none_match:
            return False
        if if_none_match.strip() == "*":
            return True
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return self.etag in tags or self._gz_etag in tags

    @property
    def _gz_etag(self) -> str:
        return self.etag[:-1] + '-gz"'

    def response(self, request: Request, cache_control: str = SHORT_CACHE) -> Response:
        use_gzip = self.gzipped is not None and "gzip" in request.headers.get("accept-encoding", "")
        headers = {
            "ETag": self._gz_etag if use_gzip else self.etag,
            "Cache-Control": cache_control,
            "Vary": "Accept-Encoding",
        }
        if self.matches(request.headers.get("if-none-match")):
            return Response(status_code=304, headers=headers)
        if use_gzip:
            headers["Content-Encoding"] = "gzip"
        body = (self.gzipped if use_gzip else self.body) or b""
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return Response(status_code=200, headers=headers, media_type=self.media_type)
        return Response(body, media_type=self.media_type, headers=headers)


def load(path: Path, name: str) -> Asset:
    body = path.read_bytes()
    digest = hashlib.sha256(body).hexdigest()
    gzipped = None
    if path.suffix in _COMPRESSIBLE and len(body) > 512:
        gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    return Asset(
        name=name,
        body=body,
        gzipped=gzipped,
        media_type=_TYPES.get(path.suffix, "application/octet-stream"),
        etag=f'"{digest[:24]}"',
        version=digest[:12],
    )


def _scan() -> dict[str, Asset]:
    found: dict[str, Asset] = {}
    if STATIC_DIR.is_dir():
        for path in sorted(STATIC_DIR.rglob("*")):
            name = path.relative_to(STATIC_DIR).as_posix()
            if path.is_file() and _SAFE_NAME.match(name):
                found[name] = load(path, name)
    return found


# Read once at import: serving a file costs a dict lookup, and the ETag never changes under it.
ASSETS = _scan()


def get(name: str) -> Asset | None:
    """The named file of web/static, or None. Never reads outside the folder."""
    asset = ASSETS.get(name)
    if asset is not None or not _SAFE_NAME.match(name) or ".." in name:
        return asset
    # A file added after start (development): load it once, if it really lives in the folder.
    path = (STATIC_DIR / name).resolve()
    if not path.is_file() or not path.is_relative_to(STATIC_DIR.resolve()):
        return None
    asset = ASSETS[name] = load(path, name)
    return asset


def url(name: str, root_path: str = "") -> str:
    """The cache-busting URL of a static file: /static/chat.js?v=<version>."""
    asset = get(name)
    version = f"?v={asset.version}" if asset else ""
    return f"{root_path}/static/{name}{version}"


WIDGET_JS = ASSETS["widget.js"]
