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
    # The trained classifier: linear (any install) or semantic (the `semantic` extra to train;
    # without it, training falls back to linear with a warning).
    classifier: Literal["linear", "semantic"] = "linear"
    # The semantic classifier's confidence is a probability on its own scale: its own threshold.
    semantic_threshold: Annotated[float, Field(ge=0, le=1)] = 0.3


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
    canned_responses: list[CannedResponse] = []


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
        if self.routing.default_route not in self.routes:
            raise ValueError(f"routing.default_route: unknown route {self.routing.default_route!r}")
        return self

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
