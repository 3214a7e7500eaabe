"""Loading the settings: the YAML file, the caller's overrides, and errors that name the key."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agent.settings import environment
from agent.settings.errors import ConfigError
from agent.settings.schema import PACKAGE_DIR, Settings

DEFAULT_CONFIG = PACKAGE_DIR / "default.yaml"


def _format_error(error: ValidationError, source: str | Path) -> str:
    lines = [f"invalid configuration in {source}:"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read the YAML file (argument, then $SWITCHBOARD_CONFIG, then the shipped default)."""
    source = _source(path)
    data = _read(source)
    data.update(overrides)
    return _validated(data, source)


def load_settings_merged(path: str | Path | None, changes: Mapping[str, Any], **overrides: Any) -> Settings:
    """The same file with `changes` merged into it key by key: a mapping merges into the file's
    mapping, anything else (a list, a value) replaces what the file has there."""
    source = _source(path)
    data = merged(_read(source), changes)
    data.update(overrides)
    return _validated(data, f"{source} with the changes merged in")


def merged(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def _source(path: str | Path | None) -> Path:
    return Path(path or environment.config_path() or DEFAULT_CONFIG)


def _read(source: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(source.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {source}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration {source} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"configuration {source} must be a mapping of keys")
    return data


def _validated(data: dict[str, Any], source: str | Path) -> Settings:
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, source)) from exc
