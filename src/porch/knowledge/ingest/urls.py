"""URL folding and crawl scope: one canonical spelling per page, same site unless included."""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid", "_ga", "ref_src")
# Links to these are not pages: skipped without a request.
NOT_PAGES = frozenset(
    [
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".svg",
        ".webp",
        ".ico",
        ".bmp",
        ".tif",
        ".tiff",
        ".avif",
        ".css",
        ".js",
        ".mjs",
        ".json",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".eot",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".7z",
        ".rar",
        ".tar",
        ".exe",
        ".dmg",
        ".msi",
        ".deb",
        ".rpm",
        ".apk",
        ".iso",
        ".mp3",
        ".mp4",
        ".m4a",
        ".ogg",
        ".wav",
        ".webm",
        ".mov",
        ".avi",
        ".mkv",
        ".flac",
        ".bin",
        ".wasm",
    ]
)
DOCUMENTS = frozenset({".pdf", ".docx", ".pptx", ".xlsx"})


def normalize(url: str) -> str:
    """Fragment dropped, scheme and host lowercased, default port and tracking parameters
    removed, dot segments resolved: spellings of one page fold to one URL."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = (
        host
        if port is None or (scheme, port) in (("http", 80), ("https", 443))
        else f"{host}:{port}"
    )
    path = parts.path or "/"
    if "/." in path or "//" in path:
        trailing = path.endswith("/")
        path = posixpath.normpath(path)
        path = "/" if path in (".", "//") else path
        if trailing and not path.endswith("/"):
            path += "/"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith(_TRACKING)
        ]
    )
    return urlunsplit((scheme, netloc, path, query, ""))


def site_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def suffix(url: str) -> str:
    path = urlsplit(url).path.lower()
    name = path.rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1] if "." in name else ""


def _glob_target(pattern: str, url: str) -> str:
    if pattern.startswith(("http://", "https://")):
        return url
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def matches(patterns: list[str], url: str) -> bool:
    return any(fnmatch.fnmatchcase(_glob_target(p, url), p) for p in patterns)


@dataclass(frozen=True)
class Scope:
    """Which URLs a crawl may visit."""

    site: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def verdict(self, url: str) -> str | None:
        """None when the URL is in scope, else the reason it is skipped."""
        if urlsplit(url).scheme not in ("http", "https"):
            return "not_http"
        if self.exclude and matches(list(self.exclude), url):
            return "excluded"
        if self.include:
            if not matches(list(self.include), url):
                return "not_included"
            # Path-only includes stay on the site; full-URL includes may leave it.
            if site_of(url) != self.site and not any(
                p.startswith(("http://", "https://")) and fnmatch.fnmatchcase(url, p)
                for p in self.include
            ):
                return "other_site"
        elif site_of(url) != self.site:
            return "other_site"
        if suffix(url) in NOT_PAGES:
            return "not_a_page"
        return None
