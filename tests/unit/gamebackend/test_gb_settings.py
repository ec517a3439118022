"""Settings come from the documented environment variables; a bad one is named."""

from __future__ import annotations

import pytest

from gamebackend.settings import SettingsError, load_settings


def test_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("REDIS_URL", "unix:///tmp/r.sock?db=0")
    monkeypatch.setenv("GAMEBACKEND_VERSION", "v2")
    monkeypatch.setenv("GAMEBACKEND_FAULTS", "errors=0.1")
    monkeypatch.setenv("GAMEBACKEND_ADMIN_KEY", "k")
    settings = load_settings()
    assert (settings.database_url, settings.redis_url) == (
        "postgresql://db/x",
        "unix:///tmp/r.sock?db=0",
    )
    assert (settings.version, settings.faults, settings.admin_key) == ("v2", "errors=0.1", "k")


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAMEBACKEND_DB_POOL_SIZE", "0")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value).startswith("GAMEBACKEND_DB_POOL_SIZE:")
