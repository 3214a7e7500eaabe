"""The one error of the settings: the configuration cannot be used."""

from __future__ import annotations


class ConfigError(Exception):
    """The configuration cannot be used; the message names the offending key."""
