"""The security headers every response carries, computed once from the settings."""

from __future__ import annotations

from porch.settings import Settings

# Two years, the preload list's minimum; sent only when porch is served over HTTPS.
HSTS = b"max-age=63072000; includeSubDomains"


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
    ]
    if settings.public_url.startswith("https://"):
        # Over plain HTTP the header is ignored by browsers and would only mislead.
        headers.append((b"strict-transport-security", HSTS))
    return headers
