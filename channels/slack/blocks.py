"""Block Kit for the staff channel: an escalation with its summary, state and buttons."""

from __future__ import annotations

from typing import Any

from agent.contracts import ConversationDetail, MessageView, Role, StaffMember
from channels.slack.format import escape, to_mrkdwn

CLAIM = "switchboard_claim"
RESOLVE = "switchboard_resolve"
HAND_BACK = "switchboard_hand_back"
ACTIONS = (CLAIM, RESOLVE, HAND_BACK)

Block = dict[str, Any]
SECTION_LIMIT = 3000  # Slack's limit on a section's text


def _section(text: str) -> Block:
    if len(text) > SECTION_LIMIT:
        text = text[: SECTION_LIMIT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(action_id: str, label: str, conversation_id: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": conversation_id,
    }
    if style:
        button["style"] = style
    return button


def status_line(status: str, holder: StaffMember | None) -> str:
    name = escape(holder.display_name) if holder else "someone"
    return {
        "open": ":hourglass_flowing_sand: Waiting for someone to claim it",
        "claimed": f":raising_hand: Claimed by *{name}*; they answer in this thread",
        "resolved": f":white_check_mark: Resolved by *{name}*",
        "handed_back": f":robot_face: Handed back to the bot by *{name}*",
    }.get(status, status)


def escalation_blocks(detail: ConversationDetail, status: str, holder: StaffMember | None) -> tuple[str, list[Block]]:
    """The fallback text and blocks of an escalation's staff-channel message."""
    current = detail.escalations[-1] if detail.escalations else None
    reason = current.reason.replace("_", " ") if current else "escalated"
    headline = f"A {detail.channel} customer needs a person ({reason})"
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
        _section(to_mrkdwn(detail.summary) if detail.summary else "_No summary._"),
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"Conversation `{detail.conversation_id}` · {escape(detail.channel)}"}
            ],
        },
        _section(status_line(status, holder)),
    ]
    buttons = []
    if status == "open":
        buttons.append(_button(CLAIM, "Claim", detail.conversation_id, "primary"))
    if status == "claimed":
        buttons.append(_button(RESOLVE, "Resolve", detail.conversation_id, "primary"))
        buttons.append(_button(HAND_BACK, "Hand back to the bot", detail.conversation_id))
    if buttons:
        blocks.append({"type": "actions", "block_id": "switchboard_handoff", "elements": buttons})
    return f"{headline}. {status_line(status, holder)}", blocks


def mirrored_text(message: MessageView) -> str:
    """A conversation's message as the staff thread shows it."""
    text = to_mrkdwn(message.text)
    if message.role is Role.CUSTOMER:
        return f"*Customer:* {text}"
    if message.role is Role.STAFF:
        return f"*{escape(message.author or 'Staff')}* (console): {text}"
    return f"_Told the customer:_ {text}"
