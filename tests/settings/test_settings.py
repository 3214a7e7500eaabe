"""Settings: the YAML file, environment overrides and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.settings import ConfigError, load_settings, load_settings_merged


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_the_shipped_config_runs_on_embedded_defaults() -> None:
    settings = load_settings()
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.is_embedded_database
    assert all(policy.chain == ["local"] for policy in settings.routes.values())
    assert settings.server.port == 8080


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "server:\n  port: 9000\nlimits:\n  max_text_chars: 100\n")
    monkeypatch.setenv("SWITCHBOARD_SERVER__PORT", "9100")
    monkeypatch.setenv("SWITCHBOARD_DATABASE__URL", "postgresql+asyncpg://u@db/x")
    settings = load_settings(path)
    assert settings.server.port == 9100
    assert settings.limits.max_text_chars == 100  # untouched keys keep the file's value
    assert settings.database_url == "postgresql+asyncpg://u@db/x" and not settings.is_embedded_database


def test_changes_merge_into_the_file_key_by_key() -> None:
    changes = {"tools": {"lookup_order": {"url": "http://127.0.0.1:9/{order_id}"}}, "escalation": {"phrases": ["a manager"]}}
    settings = load_settings_merged(None, changes)
    shipped = load_settings()
    assert settings.tools["lookup_order"].url == "http://127.0.0.1:9/{order_id}"
    assert settings.tools["lookup_order"].timeout_s == shipped.tools["lookup_order"].timeout_s  # kept from the file
    assert settings.tools["cancel_order"] == shipped.tools["cancel_order"]
    assert settings.escalation.phrases == ["a manager"]  # a list replaces the file's
    assert settings.escalation.intents == shipped.escalation.intents
    with pytest.raises(ConfigError, match=r"with the changes merged in:\n  tools.lookup_order.timeout_s: Input should be greater than 0"):
        load_settings_merged(None, {"tools": {"lookup_order": {"timeout_s": -1}}})


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_CONFIG", str(write(tmp_path, "persona: demo\nserver: {port: 7001}\n")))
    assert load_settings().server.port == 7001


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("server:\n  port: lots\n", "server.port"),
        ("limits:\n  max_text_chars: -1\n", "limits.max_text_chars"),
        ("servr:\n  port: 1\n", "servr"),
        ("routes:\n  support: {chain: [nope]}\n  sales: {chain: [local]}\n  lookup: {chain: [local]}\n", "routes.support.chain.0"),
        ("routes:\n  support: {chain: [local]}\n", "missing: sales, lookup"),
        ("models:\n  gpt: {provider: martian}\n", "models.gpt.provider"),
        ("models:\n  gpt: {provider: openai}\n", "models.gpt"),
        ("models:\n  gpt: {provider: openai, base_url: 'http://x', timeout_s: -2}\n", "models.gpt.timeout_s"),
        ("escalation:\n  business_hours: {timezone: Mars/Base}\n", "escalation.business_hours.timezone"),
        ("escalation:\n  business_hours: {days: {mon: '17:00-17:00'}}\n", "escalation.business_hours.days"),
    ],
)
def test_an_invalid_file_names_the_key(tmp_path: Path, text: str, names: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text))
    assert names in str(error.value)
    assert str(tmp_path / "config.yaml") in str(error.value)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(write(tmp_path, "server: [unclosed\n"))
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(write(tmp_path, "- a list\n"))


def test_the_secret_key_is_made_once_and_kept(tmp_path: Path) -> None:
    settings = load_settings(data_dir=str(tmp_path))
    key = settings.ensure_secret_key()
    assert len(key) > 30
    assert load_settings(data_dir=str(tmp_path)).ensure_secret_key() == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_with_redis_the_secret_key_must_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each process would otherwise make its own key, and refuse the others' visitor tokens.
    monkeypatch.delenv("SWITCHBOARD_SECRET_KEY", raising=False)
    settings = load_settings(data_dir=str(tmp_path), redis={"url": "redis://127.0.0.1:6379/0"})
    with pytest.raises(ConfigError, match="SWITCHBOARD_SECRET_KEY") as error:
        settings.ensure_secret_key()
    assert "several server processes" in str(error.value)
    assert not (tmp_path / "secret_key").exists()
    monkeypatch.setenv("SWITCHBOARD_SECRET_KEY", "one-key-for-every-process")
    shared = load_settings(data_dir=str(tmp_path), redis={"url": "redis://127.0.0.1:6379/0"})
    assert shared.ensure_secret_key() == "one-key-for-every-process"


@pytest.mark.parametrize("key", ["history_messages", "history_turns"])
def test_history_is_counted_in_messages_under_either_name(tmp_path: Path, key: str) -> None:
    settings = load_settings(write(tmp_path, f"limits:\n  {key}: 4\n"))
    assert settings.limits.history_messages == 4
