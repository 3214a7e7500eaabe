"""A `python` tool: an async function `module:function(arguments, context)` in the same process,
for integrations that are a library call rather than an HTTP endpoint."""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from agent.tools.base import ToolContext, ToolReply
from agent.tools.shaping import only_fields, within

ToolFunction = Callable[[dict[str, Any], ToolContext], Awaitable[Any]]


def load_entry_point(entry_point: str) -> ToolFunction:
    """The function an entry point names; ValueError naming what is missing (at start-up)."""
    module_name, _, function_name = entry_point.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"cannot import {module_name!r}: {error}") from None
    except Exception as error:  # the module itself fails as it loads: said at start-up, not at a call
        raise ValueError(f"importing {module_name!r} failed: {type(error).__name__}: {error}") from error
    function = getattr(module, function_name, None)
    if function is None or not callable(function):
        raise ValueError(f"{module_name!r} has no function {function_name!r}")
    if not inspect.iscoroutinefunction(function):
        # Awaited at each call: a plain function would fail every call instead of start-up.
        raise ValueError(f"{entry_point} is not an async function")
    return function


class PythonTool:
    def __init__(self, function: ToolFunction, returns: Sequence[str] | None = None, max_response_chars: int = 4000) -> None:
        self._function = function
        self._returns = tuple(returns) if returns else None
        self._max_chars = max_response_chars

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolReply:
        # The box times the call and turns an exception into an error the model reads.
        data = await self._function(arguments, context)
        if isinstance(data, ToolReply):
            return data
        size = len(json.dumps(data, default=str))
        return ToolReply(within(only_fields(data, self._returns), self._max_chars), response_bytes=size)
