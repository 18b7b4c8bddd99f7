"""`porch action` on SQLite, in-process: import drafts from a YAML file, list them, test one
against a loopback API (exit 0) and a failing one (exit 1), and read the call log."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from porch import cli
from porch.observability import logging as porch_logging
from tests.actions.target import Target

SPEC = """
openapi: 3.0.3
info: {title: Orders, version: "1"}
servers:
  - url: "BASE"
paths:
  /orders/{orderId}:
    get:
      operationId: getOrder
      summary: Look up an order
      parameters:
        - {name: orderId, in: path, required: true, schema: {type: string}}
        - {name: qty, in: query, required: true, schema: {type: integer}}
  /fail:
    get:
      operationId: checkFailing
      summary: Always fails
"""


@pytest.fixture
def porch(tmp_path: Path) -> Iterator[CliRunner]:
    # The loopback target is a private address: this server allows them outright.
    env: dict[str, str | None] = {
        "PORCH_DATA_DIR": str(tmp_path / "data"),
        "PORCH_DATABASE_URL": None,
        "PORCH_REDIS_URL": None,
        "PORCH_CRAWL_ALLOW_PRIVATE_NETWORKS": "true",
        "PORCH_LOG_LEVEL": "warning",
    }
    yield CliRunner(env=env)
    # The commands sent logs to the runner's stderr, which is closed now.
    porch_logging.configure("warning", json=False)


def invoke(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(cli.app, list(args), catch_exceptions=False)


def ok(runner: CliRunner, *args: str) -> str:
    result = invoke(runner, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_import_list_test_and_calls(porch: CliRunner, tmp_path: Path) -> None:
    ok(porch, "migrate")
    ok(porch, "user", "create", "cli@example.com", "--password", "correct horse")
    made = ok(porch, "widget", "create", "cli@example.com", "Shop")
    wid = re.search(r"created widget (\S+)", made)
    assert wid is not None
    widget = wid.group(1)
    assert ok(porch, "action", "list", "--widget", widget).strip() == "no actions"

    with Target() as target:
        spec = tmp_path / "orders.yaml"
        spec.write_text(SPEC.replace("BASE", target.base))
        imported = ok(porch, "action", "import", "--widget", widget, str(spec))
        assert "2 drafts created, disabled" in imported
        assert f"get_order  GET {target.base}/orders/{{{{orderId}}}}?qty={{{{qty}}}}" in imported

        listed = json.loads(ok(porch, "action", "list", "--widget", widget, "--format", "json"))
        by_slug = {a["slug"]: a for a in listed["actions"]}
        assert set(by_slug) == {"get_order", "check_failing"}
        assert not any(a["enabled"] for a in listed["actions"])
        text = ok(porch, "action", "list", "--widget", widget)
        assert re.search(r"get_order\s+GET\s+read\s+disabled\s+v1", text), text

        order = by_slug["get_order"]["id"]
        ran = ok(porch, "action", "test", order, "--arg", "orderId=A123", "--arg", "qty=2",
                 "--format", "json")  # fmt: skip
        out = json.loads(ran)
        assert out["status"] == 200 and out["error_class"] is None
        (seen,) = target.seen("/orders/A123")
        assert seen.query == {"qty": ["2"]}

        failing = invoke(porch, "action", "test", by_slug["check_failing"]["id"])
        assert failing.exit_code == 1, failing.output
        assert "outcome   failed: http_5xx" in failing.output
        assert "status    500" in failing.output

        bad_arg = invoke(porch, "action", "test", order, "--arg", "qty=two", "--arg", "orderId=A1")
        assert bad_arg.exit_code == 1 and "invalid_arguments" in bad_arg.output
        assert len(target.seen("/orders/")) == 1  # an invalid argument sends nothing

    failed = ok(porch, "action", "calls", "--widget", widget, "--failed")
    lines = failed.strip().splitlines()
    assert len(lines) == 2 and all("FAILED" in line for line in lines), failed
    every = json.loads(ok(porch, "action", "calls", "--widget", widget, "--format", "json"))
    assert [c["trigger"] for c in every["calls"]] == ["test", "test", "test"]
    assert [c["state"] for c in every["calls"]] == ["failed", "failed", "succeeded"]
    only = ok(porch, "action", "calls", "--widget", widget, "--action", order)
    assert len(only.strip().splitlines()) == 2


def test_bad_input_is_a_clear_message(porch: CliRunner, tmp_path: Path) -> None:
    ok(porch, "migrate")
    nowhere = invoke(porch, "action", "list", "--widget", "not-an-id")
    assert nowhere.exit_code == 2 and "not a widget id" in nowhere.output
    missing = invoke(porch, "action", "calls", "--widget", "01a24d56-3e3f-707b-bf94-5f6b3f5f94a6")
    assert missing.exit_code == 2 and "no widget" in missing.output
    fmt = invoke(porch, "action", "test", "01a24d56-3e3f-707b-bf94-5f6b3f5f94a6", "--format", "x")
    assert fmt.exit_code == 2 and "json or text" in fmt.output
    ok(porch, "user", "create", "cli@example.com", "--password", "correct horse")
    widget = re.findall(
        r"created widget (\S+)", ok(porch, "widget", "create", "cli@example.com", "W")
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("openapi: 2.0\n")
    refused = invoke(porch, "action", "import", "--widget", widget[0], str(bad))
    assert refused.exit_code == 2 and "openapi_invalid" in refused.output
