"""Settings: one YAML file plus environment overrides; secrets only from the environment.

Precedence, highest first: environment variables (`SWITCHBOARD_…`, nested with `__`, e.g.
`SWITCHBOARD_DATABASE__URL`), then the YAML file, then the defaults below.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_CONFIG = PACKAGE_DIR / "default.yaml"
ROUTES = ("support", "sales", "lookup")
# The public base URL's short environment name (SWITCHBOARD_SERVER__PUBLIC_URL works too).
PUBLIC_URL_ENV = "SWITCHBOARD_PUBLIC_URL"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the offending key."""


class _Strict(BaseModel):
    # A typo in a key should fail start-up, not be silently ignored.
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    public_url: str | None = None


class DatabaseSettings(_Strict):
    # None means the embedded SQLite file in data_dir.
    url: str | None = None
    echo: bool = False


class LogSettings(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class LimitSettings(_Strict):
    max_text_chars: Annotated[int, Field(gt=0)] = 4000
    history_turns: Annotated[int, Field(ge=0)] = 10


class KnowledgeSettings(_Strict):
    """The local model's sources; relative paths are resolved against the package."""

    articles: Path = Path("demo/knowledge.yaml")
    orders: Path = Path("demo/orders.yaml")
    catalog: Path = Path("demo/catalog.yaml")


class RoutingSettings(_Strict):
    intents_file: Path = Path("demo/intents.yaml")
    default_route: str = "support"
    # Below this classifier confidence a turn is unknown: it stays on the current route.
    confidence_threshold: Annotated[float, Field(ge=0, le=1)] = 0.2
    # A short message in an ongoing conversation needs this much to change its route.
    follow_up_threshold: Annotated[float, Field(ge=0, le=1)] = 0.5
    follow_up_max_words: Annotated[int, Field(ge=0)] = 4
    # What an unknown turn gets: the route's models as usual, or a clarifying question.
    unknown_action: Literal["route", "clarify"] = "route"
    # A model (from `models`) asked to name the intent of turns the classifier cannot place.
    model_tier: str | None = None


class ModelSettings(_Strict):
    provider: Literal["local", "openai"]
    model: str | None = None
    base_url: str | None = None
    # The name of the environment variable holding the key, never the key itself.
    api_key_env: str | None = None
    timeout_s: Annotated[float, Field(gt=0)] = 30.0
    max_tokens: Annotated[int, Field(gt=0)] = 512
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.3

    @model_validator(mode="after")
    def _remote_needs_url(self) -> "ModelSettings":
        if self.provider == "openai" and not self.base_url:
            raise ValueError("provider 'openai' needs base_url")
        return self


class RoutePolicy(_Strict):
    chain: Annotated[list[str], Field(min_length=1)]


class BusinessHoursSettings(_Strict):
    timezone: str = "UTC"
    days: dict[str, str] = {}  # mon..sun -> "09:00-17:00"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {zone!r}") from exc
        return zone

    @field_validator("days")
    @classmethod
    def _spans(cls, days: dict[str, str]) -> dict[str, str]:
        from datetime import time

        for day, span in days.items():
            if day.lower()[:3] not in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
                raise ValueError(f"unknown day {day!r}")
            try:
                opens, closes = (time.fromisoformat(part.strip()) for part in span.split("-"))
            except ValueError as exc:
                raise ValueError(f"{day}: expected HH:MM-HH:MM, not {span!r}") from exc
            if not opens < closes:
                raise ValueError(f"{day}: {span!r} closes before it opens")
        return days


class EscalationSettings(_Strict):
    intents: list[str] = ["human_handoff"]
    phrases: list[str] = []
    on_chain_exhausted: bool = True
    # Hand over after this many turns in a row the router could not place (0: never).
    unknown_streak: Annotated[int, Field(ge=0)] = 3
    # Hand over when the frustration score (shouting, "!!", negative words, repeating oneself)
    # reaches this (0: never).
    frustration_threshold: Annotated[float, Field(ge=0, le=1)] = 0.7
    # Topics that always go to a person: topic name -> phrases.
    sensitive_topics: dict[str, list[str]] = {}
    # Hand over instead of sending, word for word, an answer the bot just gave.
    on_repeat: bool = True
    # Tell a waiting customer when nobody has claimed the conversation after this long (0: never).
    unclaimed_after_s: Annotated[float, Field(ge=0)] = 300
    # When people answer; outside them the customer gets the persona's after-hours wording.
    business_hours: "BusinessHoursSettings | None" = None
    # New escalations are POSTed here, signed with the secret in this environment variable.
    # A model name: it writes the handoff summary staff read first (extractive without one).
    summary_model: str | None = None
    summary_timeout_s: Annotated[float, Field(gt=0)] = 8.0
    webhook_url: str | None = None
    webhook_secret_env: str = "SWITCHBOARD_WEBHOOK_SECRET"


class CannedResponse(_Strict):
    title: Annotated[str, Field(min_length=1, max_length=80)]
    text: Annotated[str, Field(min_length=1)]


class StaffSettings(_Strict):
    """The staff console: sign-in sessions and the replies staff can insert with one click."""

    session_hours: Annotated[float, Field(gt=0)] = 12
    # Send the session cookie over HTTPS only; turn on behind TLS.
    secure_cookie: bool = False
    # An open console socket re-checks its sign-in this often (a logout in another process).
    session_recheck_s: Annotated[float, Field(gt=0)] = 60
    canned_responses: list[CannedResponse] = []


class OutboxSettings(_Strict):
    """Delivery to channels that are sent to (Slack, SMS): how often to look, how to retry."""

    poll_interval_s: Annotated[float, Field(gt=0)] = 1.0
    max_attempts: Annotated[int, Field(ge=1)] = 10
    backoff_base_s: Annotated[float, Field(gt=0)] = 1.0
    backoff_max_s: Annotated[float, Field(gt=0)] = 300.0
    # A sender that crashed mid-send gives its rows back after this long.
    lease_s: Annotated[float, Field(gt=0)] = 60.0


class SmsSettings(_Strict):
    """SMS through Twilio: POST /twilio/sms."""

    enabled: bool = True
    # Where REST sends come from: a Messaging Service, else this number, else the number the customer texted.
    messaging_service_sid: str | None = None
    from_number: str | None = None
    # A turn ready within this long is answered inline as TwiML; a later one goes through the outbox.
    inline_deadline_s: Annotated[float, Field(gt=0, le=12)] = 5.0
    # Most segments one SMS may take; a longer answer is split into several, at sentence ends.
    segment_budget: Annotated[int, Field(ge=1, le=10)] = 3
    opt_out_keywords: list[str] = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"]
    opt_in_keywords: list[str] = ["START", "UNSTOP", "YES"]
    help_keywords: list[str] = ["HELP", "INFO"]


class RelaySettings(_Strict):
    """Twilio ConversationRelay: streaming voice over a WebSocket instead of the <Gather> loop."""

    enabled: bool = False
    # wss://…/twilio/relay; derived from server.public_url when unset.
    url: str | None = None
    voice: str | None = None
    tts_provider: str | None = None


class VoiceSettings(_Strict):
    """Voice calls through Twilio: POST /twilio/voice and its follow-ups."""

    enabled: bool = True
    language: str = "en-US"
    say_voice: str | None = None  # a <Say> voice, e.g. Polly.Joanna-Neural
    speech_timeout: str = "auto"  # seconds of silence that end speech, or "auto"
    speech_model: str | None = None
    hints: list[str] = []
    input_timeout_s: Annotated[int, Field(ge=1, le=60)] = 5
    num_digits: Annotated[int, Field(ge=1, le=20)] | None = 1
    reprompts: Annotated[int, Field(ge=0, le=5)] = 2
    # A turn not answered by then gets the filler and a <Redirect>; each wait stays this short.
    turn_deadline_s: Annotated[float, Field(gt=0, le=12)] = 8.0
    max_wait_s: Annotated[float, Field(gt=0)] = 45.0
    filler_text: str = "One moment while I check that."
    reprompt_text: str = "Are you still there? Tell me what you need, or press 0 to talk to a person."
    goodbye_text: str = "I didn't hear anything, so I'll end the call now. Thanks for calling. Goodbye."
    transfer_text: str = "Connecting you to a member of our team now. Please hold."
    # Where a transfer goes: a staff number to <Dial>, or a queue to <Enqueue> (not both).
    transfer_number: str | None = None
    transfer_queue: str | None = None
    relay: RelaySettings = RelaySettings()

    @model_validator(mode="after")
    def _one_transfer_target(self) -> "VoiceSettings":
        if self.transfer_number and self.transfer_queue:
            raise ValueError("set transfer_number or transfer_queue, not both")
        return self


class TwilioSettings(_Strict):
    """SMS and voice through Twilio: on when both credential variables are set."""

    account_sid_env: str = "TWILIO_ACCOUNT_SID"
    auth_token_env: str = "TWILIO_AUTH_TOKEN"
    api_base_url: str = "https://api.twilio.com"
    request_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    sms: SmsSettings = SmsSettings()
    voice: VoiceSettings = VoiceSettings()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SWITCHBOARD_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Path("data")
    secret_key: str | None = None
    persona: str = "demo"
    turn_timeout_s: Annotated[float, Field(gt=0)] = 30.0
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    log: LogSettings = LogSettings()
    limits: LimitSettings = LimitSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    routing: RoutingSettings = RoutingSettings()
    models: dict[str, ModelSettings] = {"local": ModelSettings(provider="local")}
    routes: dict[str, RoutePolicy] = {r: RoutePolicy(chain=["local"]) for r in ROUTES}
    escalation: EscalationSettings = EscalationSettings()
    staff: StaffSettings = StaffSettings()
    outbox: OutboxSettings = OutboxSettings()
    twilio: TwilioSettings = TwilioSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives as init kwargs; the environment wins over it.
        return env_settings, init_settings

    @field_validator("routes")
    @classmethod
    def _known_routes(cls, routes: dict[str, RoutePolicy]) -> dict[str, RoutePolicy]:
        missing = [r for r in ROUTES if r not in routes]
        if missing:
            raise ValueError(f"every route needs a policy; missing: {', '.join(missing)}")
        return routes

    @model_validator(mode="after")
    def _chains_name_known_models(self) -> "Settings":
        for route, policy in self.routes.items():
            for i, name in enumerate(policy.chain):
                if name not in self.models:
                    raise ValueError(f"routes.{route}.chain.{i}: unknown model {name!r}")
        if self.routing.model_tier and self.routing.model_tier not in self.models:
            raise ValueError(f"routing.model_tier: unknown model {self.routing.model_tier!r}")
        summary_model = self.escalation.summary_model
        if summary_model and summary_model not in self.models:
            raise ValueError(f"escalation.summary_model: unknown model {summary_model!r}")
        if self.routing.default_route not in self.routes:
            raise ValueError(f"routing.default_route: unknown route {self.routing.default_route!r}")
        return self

    @model_validator(mode="after")
    def _public_url_alias(self) -> "Settings":
        # SWITCHBOARD_PUBLIC_URL is the short name; SWITCHBOARD_SERVER__PUBLIC_URL (or the file) wins.
        if not self.server.public_url and os.environ.get(PUBLIC_URL_ENV):
            self.server.public_url = os.environ[PUBLIC_URL_ENV]
        if self.server.public_url and not self.server.public_url.startswith(("https://", "http://")):
            raise ValueError(f"server.public_url: expected an http(s) URL, not {self.server.public_url!r}")
        relay = self.twilio.voice.relay
        if relay.url and not relay.url.startswith(("wss://", "ws://")):
            raise ValueError(f"twilio.voice.relay.url: expected a wss:// URL, not {relay.url!r}")
        return self

    def twilio_credentials(self) -> tuple[str, str] | None:
        """(account sid, auth token) from the environment, or None: Twilio stays off."""
        sid = os.environ.get(self.twilio.account_sid_env)
        token = os.environ.get(self.twilio.auth_token_env)
        return (sid, token) if sid and token else None

    def relay_url(self) -> str | None:
        """The ConversationRelay WebSocket URL, when relay is on."""
        relay = self.twilio.voice.relay
        if not relay.enabled:
            return None
        if relay.url:
            return relay.url
        if not self.server.public_url:
            raise ConfigError("twilio.voice.relay.enabled needs twilio.voice.relay.url or server.public_url")
        base = self.server.public_url.rstrip("/").replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return base + "/twilio/relay"

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite+aiosqlite:///{self.data_dir / 'switchboard.db'}"

    @property
    def is_embedded_database(self) -> bool:
        return self.database_url.startswith("sqlite")

    def resolve(self, path: Path) -> Path:
        """A path from the config: absolute, or relative to the package."""
        return path if path.is_absolute() else PACKAGE_DIR / path

    def ensure_secret_key(self) -> str:
        """The key that signs web chat tokens: from the environment, else kept in data_dir."""
        if self.secret_key:
            return self.secret_key
        key_file = self.data_dir / "secret_key"
        if not key_file.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(32))
            key_file.chmod(0o600)
        self.secret_key = key_file.read_text().strip()
        return self.secret_key


def _format_error(error: ValidationError, source: Path) -> str:
    lines = [f"invalid configuration in {source}:"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read the YAML file (argument, then $SWITCHBOARD_CONFIG, then the shipped default)."""
    source = Path(path or os.environ.get("SWITCHBOARD_CONFIG") or DEFAULT_CONFIG)
    try:
        data = yaml.safe_load(source.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {source}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration {source} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"configuration {source} must be a mapping of keys")
    data.update(overrides)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, source)) from exc
