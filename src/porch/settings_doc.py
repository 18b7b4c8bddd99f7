"""Render docs/configuration.md from the Settings class: `python -m porch.settings_doc`."""

from __future__ import annotations

import ast
import inspect
from typing import Any

from pydantic_core import PydanticUndefined

from porch.settings import Settings


def _comments() -> dict[str, str]:
    """The comment lines written above each field in settings.py: the field's documentation."""
    source = inspect.getsource(Settings)
    lines = source.splitlines()
    notes: dict[str, str] = {}
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            text: list[str] = []
            i = node.lineno - 2
            while i >= 0 and lines[i].strip().startswith("#"):
                text.insert(0, lines[i].strip().lstrip("# ").strip())
                i -= 1
            notes[node.target.id] = " ".join(text)
    return notes


def _default(value: Any) -> str:
    if value is PydanticUndefined or value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"`{value}`"


def render() -> str:
    notes = _comments()
    out = [
        "# Configuration",
        "",
        "Generated from `src/porch/settings.py` by `make docs`; a test fails when it is stale.",
        "",
        "Every setting is an environment variable (or a line in `.env`). Invalid values stop",
        "start-up with a message that names the variable.",
        "",
        "| variable | default | what it does |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        if default == {}:
            default = None
        env = f"`PORCH_{name.upper()}`"
        if name == "llm_api_key":
            env += " (or `OPENAI_API_KEY`, `ANTHROPIC_API_KEY`)"
        note = notes.get(name, "").replace("|", "\\|")
        out.append(f"| {env} | {_default(default)} | {note} |")
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
