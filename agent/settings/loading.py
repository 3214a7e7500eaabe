"""Loading the settings: the YAML file, the caller's overrides, and errors that name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agent.settings import environment
from agent.settings.errors import ConfigError
from agent.settings.schema import PACKAGE_DIR, Settings

DEFAULT_CONFIG = PACKAGE_DIR / "default.yaml"


def _format_error(error: ValidationError, source: Path) -> str:
    lines = [f"invalid configuration in {source}:"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read the YAML file (argument, then $SWITCHBOARD_CONFIG, then the shipped default)."""
    source = Path(path or environment.config_path() or DEFAULT_CONFIG)
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
