"""Settings: one YAML file plus environment overrides; secrets only from the environment.

`schema` holds the keys with their defaults and checks, `loading` reads the file, and
`environment` everything the process takes from its environment (precedence is described there).
"""

from agent.settings.environment import PUBLIC_URL_ENV, SlackCredentials, slack_credentials
from agent.settings.errors import ConfigError
from agent.settings.loading import DEFAULT_CONFIG, load_settings, load_settings_merged
from agent.settings.schema import (
    PACKAGE_DIR,
    RETRYABLE,
    ROUTES,
    BUILTIN_TOOLS,
    BreakerSettings,
    BusinessHoursSettings,
    CannedResponse,
    CheckSettings,
    ClientRateSettings,
    DatabaseSettings,
    DemoStoreSettings,
    DeploymentSettings,
    EscalationSettings,
    KnowledgeSettings,
    KnowledgeSource,
    LimitSettings,
    LogSettings,
    ModelSettings,
    OutboxSettings,
    PositiveFloat,
    PriceSettings,
    RateLimitSettings,
    RecoverySettings,
    RedisSettings,
    RelaySettings,
    RetrievalSettings,
    RetrySettings,
    RouteCacheSettings,
    RoutePolicy,
    RoutingSettings,
    ServerSettings,
    Settings,
    SlackSettings,
    SmsSettings,
    StaffSettings,
    ToolSettings,
    TwilioSettings,
    VerificationSettings,
    VoiceSettings,
)

__all__ = [
    "BUILTIN_TOOLS", "DEFAULT_CONFIG", "DemoStoreSettings", "ToolSettings", "VerificationSettings", "PACKAGE_DIR", "PUBLIC_URL_ENV", "RETRYABLE", "ROUTES",
    "BreakerSettings", "BusinessHoursSettings", "CannedResponse", "CheckSettings", "ClientRateSettings",
    "ConfigError", "DatabaseSettings", "DeploymentSettings", "EscalationSettings", "KnowledgeSettings",
    "KnowledgeSource", "RetrievalSettings",
    "LimitSettings", "LogSettings", "ModelSettings", "OutboxSettings", "PositiveFloat", "PriceSettings",
    "RateLimitSettings", "RecoverySettings", "RedisSettings", "RelaySettings", "RetrySettings",
    "RouteCacheSettings", "RoutePolicy", "RoutingSettings", "ServerSettings", "Settings", "SlackCredentials",
    "SlackSettings", "SmsSettings", "StaffSettings", "TwilioSettings", "VoiceSettings",
    "load_settings", "load_settings_merged", "slack_credentials",
]  # fmt: skip
