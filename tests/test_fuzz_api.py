"""Property-based fuzzing of every route in /openapi.json: no input gets a 5xx, every 4xx
is in the error shape.

Schemathesis generates valid and invalid requests from the spec and sends them to a real
`porch serve` (signed in with an API key, so owner routes are reached too).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    from tests.test_server_process import _free_port

    data = tmp_path_factory.mktemp("fuzz")
    port = _free_port()
    env = {
        **os.environ,
        "PORCH_DATA_DIR": str(data),
        "PORCH_LOG_LEVEL": "error",
        "PORCH_DEFAULT_VISITOR_MESSAGES_PER_MINUTE": "100000",
        "PORCH_DEFAULT_CONVERSATIONS_PER_IP_PER_HOUR": "100000",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "porch", "serve", "--port", str(port), "--demo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode()[-3000:] if proc.stderr else "exited")
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    login = httpx.post(
        f"{base}/api/v1/auth/login", json={"email": "demo@porch.local", "password": "porch-demo"}
    )
    key = httpx.post(
        f"{base}/api/v1/api-keys",
        json={"name": "fuzz"},
        cookies=login.cookies,
        headers={"X-CSRF-Token": login.json()["csrf_token"]},
    ).json()["key"]
    yield base, key
    proc.terminate()
    proc.wait(timeout=20)
    errors = proc.stderr.read().decode() if proc.stderr else ""
    assert "Traceback" not in errors, errors[-3000:]


def test_no_input_gets_a_server_error(running: tuple[str, str], tmp_path: Path) -> None:
    base, key = running
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{base}/openapi.json",
            "--checks",
            "not_a_server_error,error_shape",
            "--max-examples",
            "25",
            "--header",
            f"Authorization: Bearer {key}",
            "--request-timeout",
            "10",
            "--continue-on-failure",
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        check=False,
        # tests/security/fuzz_hooks.py adds the error_shape check.
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.security.fuzz_hooks",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        },
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
