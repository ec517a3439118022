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


def test_idempotency_retention_defaults_to_a_day_and_reads_its_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for suffix in ("RETENTION", "PRUNE_INTERVAL", "PRUNE_BATCH"):
        monkeypatch.delenv(f"GAMEBACKEND_IDEMPOTENCY_{suffix}", raising=False)
    defaults = load_settings()
    assert defaults.idempotency_retention == 86_400
    assert defaults.idempotency_prune_interval > 0 and defaults.idempotency_prune_batch > 0
    monkeypatch.setenv("GAMEBACKEND_IDEMPOTENCY_RETENTION", "3600")
    monkeypatch.setenv("GAMEBACKEND_IDEMPOTENCY_PRUNE_INTERVAL", "0")
    monkeypatch.setenv("GAMEBACKEND_IDEMPOTENCY_PRUNE_BATCH", "50")
    settings = load_settings()
    assert (
        settings.idempotency_retention,
        settings.idempotency_prune_interval,
        settings.idempotency_prune_batch,
    ) == (3600, 0, 50)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GAMEBACKEND_IDEMPOTENCY_RETENTION", "59"),
        ("GAMEBACKEND_IDEMPOTENCY_PRUNE_INTERVAL", "-1"),
        ("GAMEBACKEND_IDEMPOTENCY_PRUNE_BATCH", "0"),
    ],
)
def test_bad_retention_values_name_their_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value).startswith(f"{name}:")


def test_access_log_is_off_unless_asked_and_names_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ACCESS_LOG", raising=False)
    monkeypatch.delenv("GAMEBACKEND_ACCESS_LOG", raising=False)
    assert load_settings().access_log == "off"
    monkeypatch.setenv("ACCESS_LOG", "stdout")
    assert load_settings().access_log == "stdout"
    monkeypatch.setenv("ACCESS_LOG", "file")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value).startswith("ACCESS_LOG:")
