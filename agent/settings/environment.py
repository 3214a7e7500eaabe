"""What the process takes from its environment, in one place: overrides, secrets, and the one file kept.

Precedence, highest first: environment variables (`SWITCHBOARD_…`, nested with `__`, e.g.
`SWITCHBOARD_DATABASE__URL`), then the YAML file, then the schema's defaults. The overrides are
read by pydantic-settings under OVERRIDES; every other variable is read by a function below, which
the rest of the project calls instead of reading the environment itself (a test scans for that).
The file names the variable that holds each secret, never the secret itself.

Side effects: none on the environment. `ensure_secret_key` may create `data_dir` and write
`data_dir/secret_key` (mode 0600), and stores the key on the settings it is given.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel
from pydantic_settings import SettingsConfigDict

from agent.settings.errors import ConfigError

if TYPE_CHECKING:
    from agent.settings.schema import EscalationSettings, ServerSettings, Settings, SlackSettings, TwilioSettings

# Any key, from the environment: SWITCHBOARD_SERVER__PORT=9000 sets server.port.
OVERRIDES = SettingsConfigDict(env_prefix="SWITCHBOARD_", env_nested_delimiter="__")
# The configuration file, when no path is given.
CONFIG_ENV = "SWITCHBOARD_CONFIG"
# The public base URL's short environment name (SWITCHBOARD_SERVER__PUBLIC_URL works too).
PUBLIC_URL_ENV = "SWITCHBOARD_PUBLIC_URL"
PUBLIC_URL_LONG_ENV = "SWITCHBOARD_SERVER__PUBLIC_URL"


def config_path() -> str | None:
    """The configuration file named by $SWITCHBOARD_CONFIG, if any."""
    return os.environ.get(CONFIG_ENV)


def public_url_override() -> str | None:
    """SWITCHBOARD_PUBLIC_URL, the short name of SWITCHBOARD_SERVER__PUBLIC_URL, when it applies.

    Like every variable it wins over the file; the long name, when both are set, wins over it.
    """
    if os.environ.get(PUBLIC_URL_ENV) and not os.environ.get(PUBLIC_URL_LONG_ENV):
        return os.environ[PUBLIC_URL_ENV]
    return None


def api_key(model: str, env: str | None, key: str) -> str | None:
    """A model's API key from the variable its `key` (api_key_env, deployments.N.api_key_env) names.

    None when it names none; ConfigError when the named variable is not set.
    """
    if not env:
        return None
    value = os.environ.get(env)
    if not value:
        raise ConfigError(f"models.{model}.{key}: environment variable {env} is not set")
    return value


def tool_variable(name: str) -> str | None:
    """A variable a tool's URL or headers name as `${NAME}` (its secrets among them); None when unset or empty."""
    return os.environ.get(name) or None


def metrics_token(server: ServerSettings) -> str | None:
    """The bearer token for the models' metrics, or None: the endpoint stays off."""
    return os.environ.get(server.metrics_token_env) or None


def webhook_secret(escalation: EscalationSettings) -> str:
    """The secret that signs the escalation webhook; ConfigError when its variable is not set."""
    secret = os.environ.get(escalation.webhook_secret_env)
    if not secret:
        raise ConfigError(f"escalation.webhook_url is set but the secret variable {escalation.webhook_secret_env} is not")
    return secret


def twilio_credentials(twilio: TwilioSettings) -> tuple[str, str] | None:
    """(account sid, auth token) from the environment, or None: Twilio stays off."""
    sid = os.environ.get(twilio.account_sid_env)
    token = os.environ.get(twilio.auth_token_env)
    return (sid, token) if sid and token else None


class SlackCredentials(BaseModel):
    """The Slack secrets found in the environment, checked for a usable combination."""

    signing_secret: str | None = None
    bot_token: str | None = None
    app_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None

    @property
    def oauth(self) -> bool:
        return self.client_id is not None


def slack_credentials(slack: SlackSettings, environ: Mapping[str, str] | None = None) -> SlackCredentials | None:
    """The Slack secrets from the environment, or None when Slack is off; ConfigError names a bad combination."""
    env = os.environ if environ is None else environ

    def read(key: str) -> str | None:
        return env.get(getattr(slack, key)) or None

    found = SlackCredentials(
        signing_secret=read("signing_secret_env"),
        bot_token=read("bot_token_env"),
        app_token=read("app_token_env"),
        client_id=read("client_id_env"),
        client_secret=read("client_secret_env"),
    )
    if not (found.bot_token or found.client_id or found.client_secret or slack.socket_mode):
        if slack.staff_channel:
            raise ConfigError(f"slack.staff_channel is set but Slack is off: set {slack.bot_token_env} (and its secrets)")
        return None
    if bool(found.client_id) != bool(found.client_secret):
        missing = slack.client_secret_env if found.client_id else slack.client_id_env
        raise ConfigError(f"slack.{'client_secret_env' if found.client_id else 'client_id_env'}: {missing} is not set")
    if found.oauth and found.bot_token:
        raise ConfigError(
            f"slack.bot_token_env: {slack.bot_token_env} and {slack.client_id_env} are both set; "
            "use a bot token for one workspace or OAuth for many, not both"
        )
    if slack.socket_mode:
        if not found.app_token:
            raise ConfigError(f"slack.socket_mode: true needs the app-level token in {slack.app_token_env}")
        if found.oauth:
            raise ConfigError("slack.socket_mode: Socket Mode works with a bot token, not with OAuth installs")
    elif not found.signing_secret:
        raise ConfigError(f"slack.signing_secret_env: {slack.signing_secret_env} is not set (events cannot be verified)")
    if not found.oauth and not found.bot_token:
        raise ConfigError(f"slack.bot_token_env: {slack.bot_token_env} is not set")
    if found.oauth and slack.staff_channel and not slack.staff_team:
        raise ConfigError("slack.staff_team: with OAuth installs, name the workspace (T…) of slack.staff_channel")
    return found


def ensure_secret_key(settings: Settings) -> str:
    """The key that signs web chat tokens: from the environment, else kept in data_dir.

    With Redis, several processes serve one visitor, each on its own data_dir perhaps: a
    key generated by one would make its tokens unreadable to the others.
    """
    if settings.secret_key:
        return settings.secret_key
    if settings.redis.url:
        raise ConfigError(
            "redis.url is set, so several server processes may serve the same visitors, and they must "
            "all sign visitor tokens with one key: set SWITCHBOARD_SECRET_KEY to the same secret for each"
        )
    key_file: Path = settings.data_dir / "secret_key"
    if not key_file.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(32))
        key_file.chmod(0o600)
    settings.secret_key = key_file.read_text().strip()
    return settings.secret_key
