"""Live events as plain JSON for the Redis bus, and back to the same objects.

An event's data holds views and enums, not a wire format (each channel renders those itself), so
what crosses processes is tagged: a view is a dict naming its class, an enum names its class
beside its value, a datetime is ISO 8601, a tuple (a message's sources) is kept apart from a
list. A subscriber in another process then gets events equal to the ones a local subscriber gets.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from agent.contracts import ConversationEvent, ConversationState, MessageView, NoteView, Role, Source, StaffMember, StaffRole

# What events carry. A value of any other type is refused when published rather than turned
# into something a subscriber elsewhere could not tell from a plain value.
VIEWS: Mapping[str, type[Any]] = {view.__name__: view for view in (MessageView, NoteView, Source, StaffMember)}
ENUMS: Mapping[str, type[enum.Enum]] = {kind.__name__: kind for kind in (ConversationState, Role, StaffRole)}

VIEW, ENUM, DATETIME, TUPLE = "$view", "$enum", "$datetime", "$tuple"


def encode(event: ConversationEvent) -> dict[str, Any]:
    """The event as plain JSON values."""
    return {"type": event.type, "topic": event.conversation_id, "data": _plain(event.data)}


def decode(payload: Mapping[str, Any]) -> ConversationEvent:
    """The event `encode` made; KeyError, TypeError or ValueError for anything else."""
    data = _value(payload["data"])
    if not isinstance(data, dict):
        raise TypeError("event data is not an object")
    return ConversationEvent(str(payload["type"]), str(payload["topic"]), data)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, enum.Enum):  # before str: the states and roles are str enums
        if ENUMS.get(type(value).__name__) is not type(value):
            raise TypeError(f"an event cannot carry {type(value).__name__}: add it to agent/live/codec.py")
        return {ENUM: type(value).__name__, "value": value.value}
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return {DATETIME: value.isoformat()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, tuple):
        return {TUPLE: [_plain(item) for item in value]}
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if VIEWS.get(type(value).__name__) is type(value):
        fields = {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
        return {VIEW: type(value).__name__, **fields}
    raise TypeError(f"an event cannot carry {type(value).__name__}: add it to agent/live/codec.py")


def _value(plain: Any) -> Any:
    if isinstance(plain, list):
        return [_value(item) for item in plain]
    if not isinstance(plain, dict):
        return plain
    if VIEW in plain:
        return VIEWS[plain[VIEW]](**{key: _value(item) for key, item in plain.items() if key != VIEW})
    if ENUM in plain:
        return ENUMS[plain[ENUM]](plain["value"])
    if DATETIME in plain:
        return datetime.fromisoformat(plain[DATETIME])
    if TUPLE in plain:
        return tuple(_value(item) for item in plain[TUPLE])
    return {key: _value(item) for key, item in plain.items()}
