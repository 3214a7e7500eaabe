"""The turn's side of tools: who the customer is for them, and the change waiting for a yes.

A change a model asked for (`confirm: true`) was not run: the customer was asked. Their next
message settles it before anything else reads it: an explicit yes runs exactly what they were
asked about, and the route's models then tell them how it went; anything else leaves it undone.
"""

from __future__ import annotations

import re

import structlog

from agent.contracts import Role
from agent.conversation.context import TurnContext
from agent.conversation.parts import TurnParts
from agent.models import ChatMessage, ToolCall
from agent.routing import Intent
from agent.consent import is_yes
from agent.tools import ToolContext

log = structlog.get_logger(__name__)

DECLINED = "Alright, I've left it as it is. Is there anything else I can help with?"
_NO = re.compile(r"^\s*(no|nope|nah|no thanks|no thank you|don'?t|do not|cancel|never ?mind|leave it|stop)\b", re.IGNORECASE)
CONFIRM_INTENT, DECLINE_INTENT = "confirm_action", "decline_action"


def tool_context(turn: TurnContext, parts: TurnParts, route: str) -> ToolContext:
    """The turn's tools' view: the route's allow-list, the verified customer, the customer's words."""
    conversation = turn.conversation
    assert conversation is not None
    customer = conversation.verified_customer
    if customer is None and conversation.channel in parts.settings.trusted_channels:
        customer = f"{conversation.channel}:{conversation.channel_user_id}"
    words = " ".join(m.text for m in turn.recent if m.role is Role.CUSTOMER)
    return ToolContext(
        conversation_id=turn.conversation_id,
        channel=conversation.channel,
        channel_user_id=conversation.channel_user_id,
        route=route,
        allowed=parts.settings.route_tools.get(route, frozenset()),
        customer=customer,
        customer_words=words,
        verify_failures=conversation.verify_failures,
        passages=list(turn.passages),
    )


async def settle_pending(turn: TurnContext, parts: TurnParts) -> None:
    """Run the waiting change on an explicit yes; otherwise drop it (a plain no is answered here)."""
    conversation = turn.conversation
    assert conversation is not None
    action = conversation.pending_action
    if action is None or parts.tools is None:
        return
    route = action.route or parts.router.default_route
    turn.pending = None  # settled by this message, whatever it says
    if is_yes(turn.message.text):
        turn.tools = tool_context(turn, parts, route)
        done = await parts.tools.run_confirmed(action, turn.tools)
        turn.tool_calls.append(done.record)
        call = ToolCall(done.call_id, done.name, done.arguments)
        turn.tool_messages = [
            ChatMessage("assistant", "", tool_calls=(call,)),
            ChatMessage("tool", done.content, tool_call_id=done.call_id, name=done.name),
        ]
        turn.intent = Intent(route, CONFIRM_INTENT, 1.0, "confirmation", 0.0)
        log.info("action_confirmed", tool=action.tool, outcome=done.record.outcome.value)
        return
    turn.tool_calls.append(parts.tools.declined(action))
    log.info("action_declined", tool=action.tool)
    if _NO.match(turn.message.text) and len(turn.message.text.split()) <= 6:
        turn.intent = Intent(route, DECLINE_INTENT, 1.0, "confirmation", 0.0)
        turn.reply_text = DECLINED
