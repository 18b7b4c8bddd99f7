"""Two `porch serve` processes sharing one PostgreSQL database and one Redis."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.web.browser import ROOT, VENV_BIN, free_port


class Server:
    """`porch serve` on a fixed port; `restart()` brings it back on the same port."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = Path(tempfile.mkdtemp(prefix="porch-rt-"))
        self.env = {
            **os.environ,
            "PORCH_DATA_DIR": str(self.dir),
            "PORCH_PUBLIC_URL": self.url,
            "PORCH_LOG_JSON": "false",
            "PORCH_LOG_LEVEL": "warning",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        porch = VENV_BIN / "porch"
        cmd = [str(porch)] if porch.exists() else [sys.executable, "-m", "porch.cli"]
        log = (self.dir / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [*cmd, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.dir / "server.log").read_text()[-3000:])
            try:
                if httpx.get(self.url + "/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(
            "porch did not get ready: " + (self.dir / "server.log").read_text()[-3000:]
        )

    def kill(self) -> None:
        """Gone at once, as a crash or a network cut: no goodbye frames to anyone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
