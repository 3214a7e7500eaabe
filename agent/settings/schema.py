"""The settings' schema: every key with its type, default and checks, and what follows from them.

The values come from agent.settings.loading (the file) and agent.settings.environment (the
overrides and secrets); nothing here reads either.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from agent.escalation.hours import DAYS, parse_span
from agent.settings import environment
from agent.settings.errors import ConfigError

# The package's directory: relative paths in the configuration are resolved against it.
PACKAGE_DIR = Path(__file__).resolve().parents[1]
ROUTES = ("support", "sales", "lookup")


class _Strict(BaseModel):
    # A typo in a key should fail start-up, not be silently ignored.
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    public_url: str | None = None
    # GET /api/metrics/models and GET /metrics need this variable's value as a bearer token (off while unset).
    metrics_token_env: str = "SWITCHBOARD_METRICS_TOKEN"
    # Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For is believed.
    trusted_proxies: list[str] = []
    # A request body must have arrived within this long (a trickling client holds a connection).
    body_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    # Open web chat sockets in this process: from one client address, and in all.
    max_sockets_per_address: Annotated[int, Field(ge=1)] = 20
    max_sockets: Annotated[int, Field(ge=1)] = 2000

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            ipaddress.ip_network(proxy, strict=False)  # ValueError names the bad entry
        return proxies


class DatabaseSettings(_Strict):
    # None means the embedded SQLite file in data_dir.
    url: str | None = None
    echo: bool = False


class LogSettings(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class LimitSettings(_Strict):
    max_text_chars: Annotated[int, Field(gt=0)] = 4000
    # How many earlier messages a model sees; `history_turns`, its first name, is still read.
    history_messages: Annotated[int, Field(ge=0, validation_alias=AliasChoices("history_messages", "history_turns"))] = 10


class ClientRateSettings(_Strict):
    """How fast one client may use the web chat API, per `window_s`; counted in Redis when it is set."""

    enabled: bool = True
    window_s: Annotated[float, Field(gt=0)] = 60.0
    conversations_per_address: Annotated[int, Field(ge=1)] = 20
    messages_per_address: Annotated[int, Field(ge=1)] = 120
    messages_per_conversation: Annotated[int, Field(ge=1)] = 30


class KnowledgeSource(_Strict):
    """A file or folder of documents; relative paths are resolved against the package."""

    path: Path
    collection: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")] = "default"


class RetrievalSettings(_Strict):
    """How many passages a turn retrieves, and how relevant they must be to reach a model."""

    collections: list[str] = []  # none named: every collection
    k: Annotated[int, Field(ge=0, le=20)] = 3  # 0 turns retrieval off for the route
    # BM25 below this is a match on a stray word; below `min_coverage` of the question's weight
    # matched, the passage answers some other question. Either way the models hear "no reference".
    min_score: Annotated[float, Field(ge=0)] = 2.0
    min_coverage: Annotated[float, Field(ge=0, le=1)] = 0.2
    # How many of the question's words a passage must hold (a one-word question: that word).
    min_words: Annotated[int, Field(ge=1)] = 2


class KnowledgeSettings(_Strict):
    """The business's documents, ingested into the database at start-up when they changed
    (`switchboard kb ingest` does the same by hand), and the local model's product catalog."""

    sources: list[KnowledgeSource] = [
        KnowledgeSource(path=Path("demo/knowledge/help"), collection="help"),
        KnowledgeSource(path=Path("demo/knowledge/policies"), collection="policies"),
    ]
    retrieval: RetrievalSettings = RetrievalSettings()
    # Search by meaning as well as words (the `semantic` extra's all-MiniLM-L6-v2): a question
    # sharing no word with its answer is found. Without the extra, words alone, said at start-up.
    semantic: bool = False
    # With `semantic`, a passage the words do not find (below `min_score` or `min_coverage`) is
    # still an answer when its cosine similarity to the question reaches this. On the demo help
    # center an off-topic question's nearest chunk comes to 0.1-0.5 ("a good restaurant in
    # Portland": 0.495, the store-hours page), a paraphrase BM25 misses ("my sleeping bag lost its
    # puff": 0.515, down care) above.
    min_similarity: Annotated[float, Field(ge=0, le=1)] = 0.5
    catalog: Path = Path("demo/catalog.yaml")  # the local model's products


BUILTIN_TOOLS = ("search_knowledge", "escalate_to_human", "verify_customer")
TOOL_NAME = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"


class ToolSettings(_Strict):
    """One tool a route's models may call: an HTTP endpoint of the business, or a Python function.

    `url`, `headers` and `query` may hold `{parameter}` (from the model's arguments, URL-encoded
    in the URL), `{customer}` (the verified customer) and `${VARIABLE}` (from the environment:
    secrets never sit in the file). The parameters are JSON Schema, one schema per argument.
    """

    kind: Literal["http", "python"]
    description: str = ""
    # http
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str | None = None
    headers: dict[str, str] = {}
    # python: an async function `module:function(arguments, context)`
    entry_point: Annotated[str, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")] | None = None
    parameters: dict[str, dict[str, Any]] = {}
    required: list[str] | None = None  # default: every parameter
    returns: list[str] | None = None  # the response's fields a model sees (default: all of them)
    max_response_chars: Annotated[int, Field(ge=100, le=100_000)] = 4000
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 3.0
    requires_verified_customer: bool = False
    # Changes something: run only after the customer's explicit yes to `confirm_text`, whose
    # `{fields}` come from the arguments and from `preview`'s result (a read-only tool called with them).
    confirm: bool = False
    confirm_text: str | None = None
    preview: str | None = None
    # Offered only when preview's answer has one of these values in each field ({status: [processing]}):
    # a shipped order is not offered for cancellation, and the model hears why.
    confirm_only_if: dict[str, list[str]] = {}
    redact: list[str] = []  # arguments stored as "[redacted]" (secrets in headers never are stored)

    @model_validator(mode="after")
    def _kind_has_its_target(self) -> "ToolSettings":
        if self.kind == "http" and not self.url:
            raise ValueError("an http tool needs a url")
        if self.kind == "python" and not self.entry_point:
            raise ValueError("a python tool needs an entry_point (module:function)")
        unknown = [name for name in self.required or [] if name not in self.parameters]
        if unknown:
            raise ValueError(f"required names unknown parameters: {', '.join(unknown)}")
        return self


class VerificationSettings(_Strict):
    """How `verify_customer` proves who the customer is: `tool` (one of `tools`, not offered to
    models) answers `{"verified": true, "customer": ...}` for proof the business accepts.
    On a channel in `trusted_channels` (slack, sms, voice) the channel's own user id is proof enough."""

    tool: str | None = None
    trusted_channels: list[str] = []
    max_attempts: Annotated[int, Field(ge=1)] = 3  # failed proofs per conversation before a person


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


PositiveFloat = Annotated[float, Field(gt=0)]
RETRYABLE = Literal["timeout", "rate_limited", "server_error", "connection_error", "bad_response"]


class RetrySettings(_Strict):
    """Retries of one model before the route moves on: exponential backoff with jitter, or the
    provider's Retry-After when it gives one (skipped if longer than max_retry_after_s)."""

    retries: Annotated[int, Field(ge=0, le=10)] = 1
    backoff_s: PositiveFloat = 0.2
    backoff_max_s: PositiveFloat = 2.0
    max_retry_after_s: Annotated[float, Field(ge=0)] = 5.0
    on: list[RETRYABLE] = ["rate_limited", "server_error"]


class BreakerSettings(_Strict):
    """Open after `failures` failures within `window_s`; probe once after `cooldown_s`."""

    failures: Annotated[int, Field(ge=1)] = 5
    window_s: PositiveFloat = 30.0
    cooldown_s: PositiveFloat = 15.0


class RateLimitSettings(_Strict):
    rpm: Annotated[int, Field(gt=0)] | None = None
    tpm: Annotated[int, Field(gt=0)] | None = None
    queue: Annotated[int, Field(ge=0)] = 8  # calls that may wait for the limit at once
    queue_wait_s: Annotated[float, Field(ge=0)] = 1.0  # longer than this: refused, the route moves on


class PriceSettings(_Strict):
    """USD per million tokens; overrides the genai-prices table for this model."""

    input_per_mtok: Annotated[float, Field(ge=0)]
    output_per_mtok: Annotated[float, Field(ge=0)]
    cached_input_per_mtok: Annotated[float, Field(ge=0)] | None = None
    cache_write_per_mtok: Annotated[float, Field(ge=0)] | None = None


class DeploymentSettings(_Strict):
    """One more place the same model is served; unset keys come from the model."""

    base_url: str | None = None
    api_key_env: str | None = None
    model: str | None = None
    weight: PositiveFloat = 1.0
    rpm: Annotated[int, Field(gt=0)] | None = None
    tpm: Annotated[int, Field(gt=0)] | None = None


class ModelSettings(_Strict):
    provider: Literal["local", "openai", "anthropic", "gemini"]
    model: str | None = None
    base_url: str | None = None
    # The name of the environment variable holding the key, never the key itself.
    api_key_env: str | None = None
    api_key_header: str | None = None  # e.g. "api-key" for Azure OpenAI
    headers: dict[str, str] = {}
    query: dict[str, str] = {}  # e.g. {api-version: "2024-10-21"} for Azure OpenAI
    timeout_s: PositiveFloat = 30.0  # the whole call
    connect_timeout_s: PositiveFloat = 5.0
    first_token_timeout_s: PositiveFloat | None = None
    max_tokens: Annotated[int, Field(gt=0)] = 512
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.3
    retries: RetrySettings = RetrySettings()
    breaker: BreakerSettings = BreakerSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    deployments: list[DeploymentSettings] = []  # several: balanced by weight
    price: PriceSettings | None = None
    price_as: str | None = None  # the model's name in the price table, if not `model`

    @model_validator(mode="after")
    def _remote_needs_url(self) -> "ModelSettings":
        if self.provider == "openai" and not self.base_url and not (self.deployments and all(d.base_url for d in self.deployments)):
            raise ValueError("provider 'openai' needs base_url")
        return self


class CheckSettings(_Strict):
    """What sends a cascade on to its next model."""

    refusal: bool = True
    dont_know: bool = True
    empty: bool = True
    cut_off: bool = True
    min_confidence: Annotated[float, Field(ge=0, le=1)] | None = None
    phrases: list[str] = []


class RouteCacheSettings(_Strict):
    enabled: bool = False
    ttl_s: PositiveFloat = 300.0
    max_entries: Annotated[int, Field(gt=0)] = 1000


class RoutePolicy(_Strict):
    chain: Annotated[list[str], Field(min_length=1)]  # the route's models, in order
    strategy: Literal["chain", "cascade", "parallel"] = "chain"
    checks: CheckSettings = CheckSettings()
    judge: str | None = None  # parallel: a model that picks the best answer
    # Prompts carry one customer's details (orders, account): never cached.
    personal: bool = False
    cache: RouteCacheSettings = RouteCacheSettings()
    # What the route's models answer from; unset, `knowledge.retrieval` applies.
    knowledge: RetrievalSettings | None = None
    # The tools its models may call (names under `tools`, or built-in), and how many rounds of
    # tool calls a turn may take before the model must answer with what it has.
    tools: list[str] = []
    max_tool_steps: Annotated[int, Field(ge=1, le=10)] = 4


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
        for day, span in days.items():
            if day.lower()[:3] not in DAYS:
                raise ValueError(f"unknown day {day!r}")
            try:
                parse_span(span)
            except ValueError as exc:
                raise ValueError(f"{day}: {exc} (write HH:MM-HH:MM, 24:00 for midnight)") from exc
        return days


class EscalationSettings(_Strict):
    intents: list[str] = ["human_handoff"]
    phrases: list[str] = []
    # Intents that ask what the bot is: answered, and never escalated by `phrases`.
    identity_intents: list[str] = ["bot_identity"]
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
    # Failed sign-ins allowed per username (four times as many per address) within the window.
    login_attempts: Annotated[int, Field(ge=1)] = 5
    login_window_s: Annotated[float, Field(gt=0)] = 900
    canned_responses: list[CannedResponse] = []


class RedisSettings(_Strict):
    """Several server processes: live events and per-conversation locks shared through Redis."""

    url: str | None = None  # e.g. redis://127.0.0.1:6379/0; null: one process, in-memory
    prefix: Annotated[str, Field(min_length=1)] = "switchboard"  # keys and channels start with it
    lock_lease_s: Annotated[float, Field(gt=0)] = 15.0


class OutboxSettings(_Strict):
    """Delivery to channels that are sent to (Slack, SMS): how often to look, how to retry."""

    poll_interval_s: Annotated[float, Field(gt=0)] = 1.0
    max_attempts: Annotated[int, Field(ge=1)] = 10
    backoff_base_s: Annotated[float, Field(gt=0)] = 1.0
    backoff_max_s: Annotated[float, Field(gt=0)] = 300.0
    # A sender that crashed mid-send gives its rows back after this long.
    lease_s: Annotated[float, Field(gt=0)] = 60.0


class RecoverySettings(_Strict):
    """Messages stored but never answered (a process stopped in between): answered at start-up,
    and by a sweep for those another process left behind."""

    max_age_s: Annotated[float, Field(gt=0)] = 3600.0  # older: an apology and a person, not a late answer
    orphaned_after_s: Annotated[float, Field(gt=0)] | None = None  # default: turn_timeout_s + 30
    concurrency: Annotated[int, Field(ge=1)] = 8  # conversations answered at once


class SlackSettings(_Strict):
    """The Slack channel. Off unless its secrets are in the environment (never in this file):
    a signing secret with a bot token (one workspace) or with OAuth client credentials (any
    workspace that installs the app), or an app token with a bot token (Socket Mode)."""

    signing_secret_env: str = "SLACK_SIGNING_SECRET"
    bot_token_env: str = "SLACK_BOT_TOKEN"
    app_token_env: str = "SLACK_APP_TOKEN"
    client_id_env: str = "SLACK_CLIENT_ID"
    client_secret_env: str = "SLACK_CLIENT_SECRET"
    # Receive events over a WebSocket the app opens (no public URL needed); needs the app token.
    socket_mode: bool = False
    api_base_url: str = "https://slack.com/api/"
    authorize_url: str = "https://slack.com/oauth/v2/authorize"
    # OAuth: the scopes a workspace grants on install, and where Slack sends the browser back.
    scopes: list[str] = [
        "app_mentions:read", "channels:history", "chat:write", "groups:history", "im:history", "im:read", "im:write",
    ]
    redirect_uri: str | None = None
    # Escalations are posted to this channel id (C…), with Claim / Resolve / Hand back buttons.
    staff_channel: str | None = None
    # With OAuth: the workspace (T…) the staff channel is in, whose installation posts there.
    staff_team: str | None = None
    # One Slack message holds at most this much; longer answers are split at paragraphs or sentences.
    max_message_chars: Annotated[int, Field(ge=200, le=3000)] = 3000
    # How often the staff channel is brought up to date without a nudge (retries after an outage).
    staff_poll_interval_s: Annotated[float, Field(gt=0)] = 5.0


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
    still_waiting_text: str = "Still checking, thanks for waiting."
    lost_text: str = "Sorry, I lost track of that. Could you say it again?"
    transfer_text: str = "Connecting you to a member of our team now. Please hold."
    # Said when there is nowhere to transfer to, and when a dialled transfer is not answered.
    callback_text: str = (
        "I've passed this to our team, and someone will call you back at this number. Thanks for calling. Goodbye."
    )
    unavailable_text: str = "Sorry, nobody could take your call just now. Someone from our team will call you back. Goodbye."
    # Where a transfer goes: a staff number to <Dial>, or a queue to <Enqueue> (not both).
    transfer_number: str | None = None
    transfer_queue: str | None = None
    # How long a dialled staff number rings before the caller hears unavailable_text.
    transfer_timeout_s: Annotated[int, Field(ge=5, le=600)] = 30
    relay: RelaySettings = RelaySettings()

    @model_validator(mode="after")
    def _one_transfer_target(self) -> "VoiceSettings":
        if self.transfer_number and self.transfer_queue:
            raise ValueError("set transfer_number or transfer_queue, not both")
        return self


class DemoStoreSettings(_Strict):
    """The demo's order and catalog API (`switchboard demo-store`): served by `serve` itself on a
    loopback port when `serve` is true, its URL then `${DEMO_STORE_URL}` for the tools."""

    serve: bool = False
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 0  # 0: any free port
    orders: Path = Path("demo/orders.yaml")
    catalog: Path = Path("demo/catalog.yaml")


class TwilioSettings(_Strict):
    """SMS and voice through Twilio: on when both credential variables are set."""

    account_sid_env: str = "TWILIO_ACCOUNT_SID"
    auth_token_env: str = "TWILIO_AUTH_TOKEN"
    api_base_url: str = "https://api.twilio.com"
    request_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    sms: SmsSettings = SmsSettings()
    voice: VoiceSettings = VoiceSettings()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(**environment.OVERRIDES, extra="forbid")

    data_dir: Path = Path("data")
    secret_key: str | None = None
    persona: str = "demo"
    turn_timeout_s: Annotated[float, Field(gt=0)] = 30.0
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    log: LogSettings = LogSettings()
    limits: LimitSettings = LimitSettings()
    rate_limits: ClientRateSettings = ClientRateSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    routing: RoutingSettings = RoutingSettings()
    models: dict[str, ModelSettings] = {"local": ModelSettings(provider="local")}
    routes: dict[str, RoutePolicy] = {r: RoutePolicy(chain=["local"]) for r in ROUTES}
    escalation: EscalationSettings = EscalationSettings()
    staff: StaffSettings = StaffSettings()
    outbox: OutboxSettings = OutboxSettings()
    recovery: RecoverySettings = RecoverySettings()
    redis: RedisSettings = RedisSettings()
    slack: SlackSettings = SlackSettings()
    twilio: TwilioSettings = TwilioSettings()
    tools: dict[Annotated[str, Field(pattern=TOOL_NAME)], ToolSettings] = {}
    verification: VerificationSettings = VerificationSettings()
    demo_store: DemoStoreSettings = DemoStoreSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives as init kwargs; the environment (environment.OVERRIDES) wins over it.
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
            if policy.judge and policy.judge not in self.models:
                raise ValueError(f"routes.{route}.judge: unknown model {policy.judge!r}")
            if policy.judge and policy.strategy != "parallel":
                raise ValueError(f"routes.{route}.judge: only the parallel strategy has a judge")
            if policy.personal and policy.cache.enabled:
                raise ValueError(f"routes.{route}.cache: a route marked personal is never cached")
        if self.routing.model_tier and self.routing.model_tier not in self.models:
            raise ValueError(f"routing.model_tier: unknown model {self.routing.model_tier!r}")
        summary_model = self.escalation.summary_model
        if summary_model and summary_model not in self.models:
            raise ValueError(f"escalation.summary_model: unknown model {summary_model!r}")
        for name, tool in self.tools.items():
            if name in BUILTIN_TOOLS:
                raise ValueError(f"tools.{name}: a built-in tool's name")
            if tool.preview and tool.preview not in self.tools:
                raise ValueError(f"tools.{name}.preview: unknown tool {tool.preview!r}")
            if tool.confirm_only_if and not tool.preview:
                raise ValueError(f"tools.{name}.confirm_only_if: needs a preview to read the fields from")
        for route, policy in self.routes.items():
            for i, name in enumerate(policy.tools):
                if name not in self.tools and name not in BUILTIN_TOOLS:
                    raise ValueError(f"routes.{route}.tools.{i}: unknown tool {name!r}")
                if name == "verify_customer" and not self.verification.tool:
                    raise ValueError(f"routes.{route}.tools.{i}: verify_customer needs verification.tool")
        if self.verification.tool and self.verification.tool not in self.tools:
            raise ValueError(f"verification.tool: unknown tool {self.verification.tool!r}")
        if self.routing.default_route not in self.routes:
            raise ValueError(f"routing.default_route: unknown route {self.routing.default_route!r}")
        return self

    @model_validator(mode="after")
    def _public_url_alias(self) -> "Settings":
        short = environment.public_url_override()
        if short:
            self.server.public_url = short
        if self.server.public_url and not self.server.public_url.startswith(("https://", "http://")):
            raise ValueError(f"server.public_url: expected an http(s) URL, not {self.server.public_url!r}")
        relay = self.twilio.voice.relay
        if relay.url and not relay.url.startswith(("wss://", "ws://")):
            raise ValueError(f"twilio.voice.relay.url: expected a wss:// URL, not {relay.url!r}")
        return self

    def twilio_credentials(self) -> tuple[str, str] | None:
        """(account sid, auth token) from the environment, or None: Twilio stays off."""
        return environment.twilio_credentials(self.twilio)

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
        return environment.ensure_secret_key(self)
