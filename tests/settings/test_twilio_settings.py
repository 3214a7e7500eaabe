"""The twilio: settings: off without credentials, the public URL's short variable, clear errors."""

from __future__ import annotations

import pytest

from agent.settings import ConfigError, load_settings


def test_twilio_is_off_unless_both_credentials_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    assert load_settings().twilio_credentials() is None
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC123")
    assert load_settings().twilio_credentials() is None
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret")
    assert load_settings().twilio_credentials() == ("AC123", "secret")


def test_the_credential_variables_are_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_TWILIO_SID", "AC9")
    monkeypatch.setenv("SHOP_TWILIO_TOKEN", "t")
    settings = load_settings(twilio={"account_sid_env": "SHOP_TWILIO_SID", "auth_token_env": "SHOP_TWILIO_TOKEN"})
    assert settings.twilio_credentials() == ("AC9", "t")


def test_the_public_url_comes_from_either_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_PUBLIC_URL", "https://chat.example.com")
    assert load_settings().server.public_url == "https://chat.example.com"
    # The variable wins over the file, as every variable does.
    assert load_settings(server={"public_url": "https://file.example.com"}).server.public_url == "https://chat.example.com"
    monkeypatch.setenv("SWITCHBOARD_SERVER__PUBLIC_URL", "https://other.example.com")
    assert load_settings().server.public_url == "https://other.example.com"


def test_the_relay_url_is_derived_from_the_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWITCHBOARD_PUBLIC_URL", raising=False)
    on = {"voice": {"relay": {"enabled": True}}}
    settings = load_settings(server={"public_url": "https://chat.example.com/"}, twilio=on)
    assert settings.relay_url() == "wss://chat.example.com/twilio/relay"
    assert load_settings(server={"public_url": "https://chat.example.com"}).relay_url() is None
    with pytest.raises(ConfigError, match="relay"):
        load_settings(twilio=on).relay_url()


@pytest.mark.parametrize(
    ("twilio", "key"),
    [
        ({"voice": {"transfer_number": "+15550001", "transfer_queue": "support"}}, "twilio.voice"),
        ({"sms": {"inline_deadline_s": 14}}, "twilio.sms.inline_deadline_s"),
        ({"voice": {"turn_deadline_s": 20}}, "twilio.voice.turn_deadline_s"),
        ({"sms": {"segment_budget": 0}}, "twilio.sms.segment_budget"),
        ({"sms": {"from_nubmer": "+1555"}}, "twilio.sms.from_nubmer"),
    ],
)
def test_invalid_twilio_settings_name_the_key(twilio: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_settings(twilio=twilio)


def test_a_public_url_must_be_http() -> None:
    with pytest.raises(ConfigError, match="public_url"):
        load_settings(server={"public_url": "chat.example.com"})
