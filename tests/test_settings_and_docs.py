"""Settings validation names the variable; docs/configuration.md stays in step with the class."""

from __future__ import annotations

from pathlib import Path

import pytest

from porch.settings import SettingsError, load_settings
from porch.settings_doc import render


def test_invalid_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORCH_DATABASE_URL", "mysql://x")
    monkeypatch.setenv("PORCH_MAX_BODY_BYTES", "lots")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "PORCH_DATABASE_URL" in str(err.value) and "PORCH_MAX_BODY_BYTES" in str(err.value)


def test_provider_needs_a_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORCH_LLM_PROVIDER", "openai")
    with pytest.raises(SettingsError, match="PORCH_LLM_MODEL"):
        load_settings()


def test_api_key_read_from_vendor_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PORCH_LLM_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai-var")
    key = load_settings().llm_api_key
    assert key is not None and key.get_secret_value() == "sk-from-openai-var"


def test_postgres_scheme_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORCH_DATABASE_URL", "postgres://u@h/db")
    assert load_settings().resolved_database_url == "postgresql+asyncpg://u@h/db"


def test_secret_key_generated_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORCH_DATA_DIR", str(tmp_path))
    first = load_settings().secret
    assert len(first) > 40 and load_settings().secret == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_configuration_doc_is_current(repo_root: Path) -> None:
    current = (repo_root / "docs" / "configuration.md").read_text()
    assert current == render(), "docs/configuration.md is stale: run `make docs`"
