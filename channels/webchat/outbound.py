"""Web chat outbound: a Reply, history or an event as the JSON the widget reads."""

from __future__ import annotations

from typing import Any

from agent.contracts import ConversationState, MessageView, Reply


def reply_json(reply: Reply) -> dict[str, Any]:
    return {
        "message": reply.inbound.to_json(),
        "reply": {
            "text": reply.text,
            "route": reply.route,
            "model": reply.model,
            "escalated": reply.escalated,
            "message": reply.message.to_json() if reply.message else None,
            "sources": [source.as_dict() for source in reply.sources],
        },
        "state": reply.state.value,
    }


def history_json(messages: list[MessageView], state: ConversationState) -> dict[str, Any]:
    return {"messages": [m.to_json() for m in messages], "state": state.value}
