"""Which Slack credentials mean which mode, and clear errors for combinations that cannot work."""

from __future__ import annotations

import pytest

from agent.settings import ConfigError, SlackSettings, slack_credentials

SIGNED = {"SLACK_SIGNING_SECRET": "s"}


def test_slack_is_off_without_credentials() -> None:
    assert slack_credentials(SlackSettings(), {}) is None
    assert slack_credentials(SlackSettings(), SIGNED) is None  # a secret alone does nothing


def test_one_workspace_oauth_and_socket_mode() -> None:
    single = slack_credentials(SlackSettings(), {**SIGNED, "SLACK_BOT_TOKEN": "xoxb"})
    assert single is not None and single.bot_token == "xoxb" and not single.oauth
    oauth = slack_credentials(SlackSettings(), {**SIGNED, "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c"})
    assert oauth is not None and oauth.oauth and oauth.bot_token is None
    socket = slack_credentials(SlackSettings(socket_mode=True), {"SLACK_BOT_TOKEN": "xoxb", "SLACK_APP_TOKEN": "xapp"})
    assert socket is not None and socket.app_token == "xapp" and socket.signing_secret is None


def test_variable_names_are_configurable() -> None:
    settings = SlackSettings(bot_token_env="ACME_SLACK_BOT", signing_secret_env="ACME_SLACK_SIGNING")
    found = slack_credentials(settings, {"ACME_SLACK_BOT": "xoxb", "ACME_SLACK_SIGNING": "s"})
    assert found is not None and found.bot_token == "xoxb"


@pytest.mark.parametrize(
    ("settings", "environ", "key"),
    [
        (SlackSettings(), {"SLACK_BOT_TOKEN": "xoxb"}, "slack.signing_secret_env: SLACK_SIGNING_SECRET"),
        (SlackSettings(), {**SIGNED, "SLACK_CLIENT_ID": "1.2"}, "slack.client_secret_env: SLACK_CLIENT_SECRET"),
        (SlackSettings(), {**SIGNED, "SLACK_CLIENT_SECRET": "c"}, "slack.client_id_env: SLACK_CLIENT_ID"),
        (SlackSettings(), {**SIGNED, "SLACK_BOT_TOKEN": "x", "SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "c"}, "slack.bot_token_env"),
        (SlackSettings(socket_mode=True), {"SLACK_BOT_TOKEN": "xoxb"}, "slack.socket_mode"),
        (SlackSettings(socket_mode=True), {"SLACK_APP_TOKEN": "xapp"}, "slack.bot_token_env"),
        (SlackSettings(staff_channel="C1"), {}, "slack.staff_channel"),
        (SlackSettings(staff_channel="C1"), {**SIGNED, "SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "c"}, "slack.staff_team"),
    ],
)
def test_combinations_that_cannot_work_name_the_key(settings: SlackSettings, environ: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        slack_credentials(settings, environ)


def test_a_typo_in_the_slack_section_fails_start_up(make_settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="slack.staff_chanel"):
        make_settings(slack={"staff_chanel": "C1"})


def test_the_shipped_manifest_asks_for_the_scopes_and_events_the_channel_uses() -> None:
    from pathlib import Path

    import yaml

    manifest = yaml.safe_load((Path(__file__).parents[3] / "channels" / "slack" / "manifest.yaml").read_text())
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(SlackSettings().scopes)
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.channels", "message.groups", "message.im"}
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert settings["interactivity"]["is_enabled"] and settings["interactivity"]["request_url"].endswith("/slack/events")
