"""What a visitor downloads: the loader, and everything before their first message, gzipped.

Budgets (issue: the widget visitors meet): loader under 8 KB, everything before the first
message under 40 KB, both compressed. Prints each file and the totals against the budgets.

    PYTHONPATH=src python bench/widget_sizes.py
"""

from __future__ import annotations

import gzip
import re

from porch.web import assets, pages

LOADER_BUDGET = 8 * 1024
FIRST_MESSAGE_BUDGET = 40 * 1024


def gz(body: bytes) -> int:
    return len(gzip.compress(body, compresslevel=9, mtime=0))


def sizes() -> list[tuple[str, int]]:
    """(file, gzipped bytes) of the loader, the chat page and each file the page loads."""
    public = b'{"widget_id":"00000000-0000-4000-8000-000000000000","title":"Acme Support",'
    public += b'"subtitle":"We usually answer at once","greeting":"Hi!","theme":{},"features":{}}'
    page = pages.chat_page(public, ("*",), locale="en", root_path="").body
    names = re.findall(rb"/static/([\w.-]+)\?v=", bytes(page))
    loader = gz(assets.WIDGET_JS.body)
    rows = [("widget.js (loader)", loader), ("chat page /w/{id}", gz(bytes(page)))]
    for name in names:
        asset = assets.get(name.decode())
        assert asset is not None
        rows.append((name.decode(), gz(asset.body)))
    return rows


def main() -> None:
    rows = sizes()
    loader = rows[0][1]
    total = sum(size for _, size in rows)
    for name, size in rows:
        print(f"{name:24} {size / 1024:6.1f} KB gz")
    print(
        f"{'loader':24} {loader / 1024:6.1f} KB gz  budget 8 KB  ratio {loader / LOADER_BUDGET:.2f}"
    )
    print(
        f"{'before first message':24} {total / 1024:6.1f} KB gz  budget 40 KB  "
        f"ratio {total / FIRST_MESSAGE_BUDGET:.2f}"
    )


if __name__ == "__main__":
    main()
