"""The public names of each package are deliberate: __all__ lists exactly what is exported."""

from __future__ import annotations

import importlib
import inspect

import pytest


@pytest.mark.parametrize(
    "package",
    [
        "agent", "agent.models", "agent.routing", "agent.store", "agent.escalation", "agent.demo_store", "personas",
        "channels.webchat", "channels.staff", "channels.slack", "channels.twilio.sms", "channels.twilio.voice",
    ],
)
def test_all_matches_the_public_names(package: str) -> None:
    module = importlib.import_module(package)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert sorted(module.__all__) == module.__all__, "keep __all__ sorted"
    assert set(module.__all__) == public
