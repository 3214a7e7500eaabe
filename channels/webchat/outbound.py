"""Web chat outbound: a Reply, history or a live event as the JSON the widget reads."""

from __future__ import annotations

from typing import Any

from agent.contracts import ConversationEvent, ConversationState, MessageView, Reply, Source


def message_json(message: MessageView) -> dict[str, Any]:
    # Where it is stored and the channel's own id for it are not the page's business.
    return {
        "id": message.id,
        "role": message.role.value,
        "text": message.text,
        "author": message.author,
        "created_at": message.created_at.isoformat(),
    }


def source_json(source: Source) -> dict[str, Any]:
    """A passage the answer cites, for the links under it."""
    return {"id": source.id, "title": source.title, "section": source.section, "source": source.source, "url": source.url, "score": source.score}


def reply_json(reply: Reply) -> dict[str, Any]:
    return {
        "message": message_json(reply.inbound),
        "reply": {
            "text": reply.text,
            "route": reply.route,
            "model": reply.model,
            "escalated": reply.escalated,
            "message": message_json(reply.message) if reply.message else None,
            "sources": [source_json(source) for source in reply.sources],
        },
        "state": reply.state.value,
    }


def history_json(messages: list[MessageView], state: ConversationState) -> dict[str, Any]:
    # Each message with what it cites (empty but for a bot answer): a reloaded page shows an
    # earlier answer's sources as the live event showed them, beside the message there.
    return {
        "messages": [{**message_json(m), "sources": [source_json(s) for s in m.sources]} for m in messages],
        "state": state.value,
    }


def event_json(event: ConversationEvent) -> dict[str, Any]:
    """A conversation's live event (message, typing, state, delta, delta_reset) as its socket sends it."""
    return {"type": event.type, **{key: _value_json(value) for key, value in event.data.items()}}


def _value_json(value: Any) -> Any:
    if isinstance(value, MessageView):
        return message_json(value)
    if isinstance(value, ConversationState):
        return value.value
    if isinstance(value, Source):
        return source_json(value)
    if isinstance(value, list):
        return [_value_json(item) for item in value]
    return value
