"""The HTTP API does not change by accident: the OpenAPI document equals the recorded one.

tests/fixtures/openapi.json is the document as it was recorded. A deliberate API change
rewrites it (`PORCH_RECORD_OPENAPI=1 pytest tests/test_openapi.py`) and shows up in review
as a diff of that file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from porch.app import create_app
from porch.settings import Settings

FIXTURE = Path(__file__).parent / "fixtures" / "openapi.json"
# Two response models share a class name (MemberList), so pydantic names their schemas after
# their modules; a module that moved renames its schema, not its shape. Recorded -> current.
MOVED_SCHEMAS = {
    "porch__chat__inbox_schemas__MemberList": "porch__chat__inbox__schemas__MemberList",
}


def _renamed(document: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(document)
    for old, new in MOVED_SCHEMAS.items():
        text = text.replace(old, new)
    return dict(json.loads(text))


def _document(tmp_path: Path) -> dict[str, Any]:
    app = create_app(Settings(data_dir=tmp_path, log_json=False, log_level="warning"))
    return json.loads(json.dumps(app.openapi()))


def test_openapi_document_is_unchanged(tmp_path: Path) -> None:
    current = _document(tmp_path)
    if os.environ.get("PORCH_RECORD_OPENAPI"):
        FIXTURE.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    recorded = _renamed(json.loads(FIXTURE.read_text()))
    assert sorted(current["paths"]) == sorted(recorded["paths"])
    for path, operations in recorded["paths"].items():
        assert sorted(current["paths"][path]) == sorted(operations), path
        for method, operation in operations.items():
            assert current["paths"][path][method] == operation, f"{method.upper()} {path}"
    assert current["components"] == recorded["components"]
    assert current == recorded
