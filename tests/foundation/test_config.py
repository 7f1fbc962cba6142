"""Configuration from the environment: the data directory, the key and the budget."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from sora2_widgets._config import budget_from_env, data_dir, resolve_key


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET", "SORA2_WIDGETS_BUDGET", "SORA2_WIDGETS_HOME"):
        monkeypatch.delenv(name, raising=False)


def test_data_dir_defaults_to_the_home_folder_and_follows_the_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert data_dir() == Path.home() / ".sora2_widgets"
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "ledger"))
    assert data_dir() == tmp_path / "ledger"


def test_the_key_argument_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAL_KEY", "env-key")
    resolved = resolve_key(" arg-key ")
    assert resolved is not None
    assert resolved.secret.get_secret_value() == "arg-key"
    assert resolved.source == "the key= argument"
    assert "arg-key" not in repr(resolved)


def test_fal_key_then_the_id_secret_pair_then_none_for_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_key() is None
    monkeypatch.setenv("FAL_KEY_ID", "id")
    assert resolve_key() is None  # half a pair is no key
    monkeypatch.setenv("FAL_KEY_SECRET", "secret")
    pair = resolve_key()
    assert pair is not None and pair.secret.get_secret_value() == "id:secret"
    monkeypatch.setenv("FAL_KEY", "whole")
    whole = resolve_key()
    assert whole is not None and whole.secret.get_secret_value() == "whole"
    assert whole.source == "the FAL_KEY environment variable"


def test_a_blank_key_argument_means_no_key_and_a_secretstr_is_accepted() -> None:
    assert resolve_key("   ") is None
    resolved = resolve_key(SecretStr("k"))
    assert resolved is not None and resolved.secret.get_secret_value() == "k"


def test_budget_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert budget_from_env() is None
    monkeypatch.setenv("SORA2_WIDGETS_BUDGET", "12.50")
    assert budget_from_env() == Decimal("12.50")
    monkeypatch.setenv("SORA2_WIDGETS_BUDGET", "abc")
    with pytest.raises(ValueError, match="SORA2_WIDGETS_BUDGET must be an amount in USD"):
        budget_from_env()
    monkeypatch.setenv("SORA2_WIDGETS_BUDGET", "-1")
    with pytest.raises(ValueError, match="must not be negative"):
        budget_from_env()
