"""The import rules in pyproject.toml hold: no cycles, no upward imports, no domain importing
another's routes. The same check runs in `make lint`; here it makes `make test` fail too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_import_contracts_are_kept(repo_root: Path) -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(repo_root / "src")}
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
