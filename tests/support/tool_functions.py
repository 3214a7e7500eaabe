"""Python tools for the tests: async functions `module:function(arguments, context)` as a
deployment's integration would declare them (`kind: python`)."""

from __future__ import annotations

import asyncio
from typing import Any

from agent.tools import ToolContext


async def loyalty_points(arguments: dict[str, Any], context: ToolContext) -> dict[str, Any]:
    """The customer's points, as a library call would return them (more fields than a model sees)."""
    return {"customer": context.customer, "points": 1250, "tier": "gold", "ledger_row": 88231, "member": arguments["member"]}


async def broken(arguments: dict[str, Any], context: ToolContext) -> dict[str, Any]:
    raise RuntimeError("the ledger is down")


async def hangs(arguments: dict[str, Any], context: ToolContext) -> dict[str, Any]:
    await asyncio.sleep(3600)
    return {}


def not_async(arguments: dict[str, Any], context: ToolContext) -> dict[str, Any]:
    return {"points": 0}
