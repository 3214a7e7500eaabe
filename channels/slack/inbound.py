"""Slack inbound: a verified event to an InboundMessage, stored before Slack gets its 200.

The signature and timestamp are checked (app.py) before bolt parses anything, and the event is
authorized without calling Slack (authorize.py), so a listener runs even while the Web API is
unreachable. A customer's message is stored (`accept`) inside the listener, so Slack's
acknowledgement means it is durable; the turn runs after the acknowledgement, and its answer
leaves through the outbox.
The message's `ts` is its id for dedupe (with the thread, for a message in a thread of a DM),
so Slack's retries and the same message arriving as both `message` and `app_mention` never run
a second turn. A note about a message that cannot be taken is claimed in the store first, so
it too goes out once per message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from slack_sdk.web.async_client import AsyncWebClient

from agent.contracts import (
    ConversationNotFound,
    ConversationService,
    InboundMessage,
    InvalidMessage,
)
from agent.tasks import BackgroundTasks
from agent.text import TOO_LONG, checked_text
from channels.slack.outbound import CHANNEL, TRAITS, SlackPlace, stored_id

log = structlog.get_logger(__name__)

# Message subtypes that are a person writing; the rest (edits, joins, bots) are not turns.
PERSON_SUBTYPES = (None, "file_share", "thread_broadcast")
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)\|([^>]+)>|<((?:https?|mailto):[^>]+)>")


class InboundLedger(Protocol):
    """What the customer side asks the store (agent.store.slack.SlackStore)."""

    async def has_conversation(self, channel: str, conversation_key: str) -> bool: ...

    async def claim_note(self, message_key: str) -> bool:
        """True the first time a note about this message is to be told; False for Slack's retries."""
        ...


def without_nul(text: str) -> str:
    """Text without NUL characters: PostgreSQL cannot store them, and refusing the message would
    only make Slack retry it forever."""
    return text.replace("\x00", "")


def plain_text(text: str, bot_user_id: str | None = None) -> str:
    """Slack's encoded text as a person wrote it: mentions of the bot gone, links and entities plain."""
    text = without_nul(text)
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", "", text)
    text = _MENTION.sub(lambda m: "@" + m.group(0)[2:-1].split("|")[-1], text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(1) else m.group(3), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


@dataclass(frozen=True, slots=True)
class CustomerEvent:
    """A person's message to the app, before we know whether it belongs to a conversation."""

    place: SlackPlace
    user_id: str
    text: str
    ts: str
    files: int
    kind: str  # dm | mention | thread
    dm_thread_ts: str | None = None  # the DM thread it was written in; the DM is still one conversation

    @property
    def reply_thread_ts(self) -> str | None:
        """Where an answer to it goes: the conversation's thread, or the DM thread it came from."""
        return self.place.thread_ts or self.dm_thread_ts

    def inbound(self) -> InboundMessage:
        return InboundMessage(
            channel=CHANNEL,
            channel_user_id=self.user_id,
            conversation_key=self.place.key,
            text=self.text,
            provider_message_id=stored_id(self.ts, self.dm_thread_ts),
            metadata={"slack_kind": self.kind, "files": self.files},
        )


def parse_event(event: dict[str, Any], team_id: str | None, bot_user_id: str | None) -> CustomerEvent | None:
    """A DM, an @mention or a reply in a thread, as a CustomerEvent; None for what is not a person writing."""
    if event.get("bot_id") or event.get("subtype") not in PERSON_SUBTYPES:
        return None
    user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    team = team_id or event.get("team")
    if not (isinstance(user, str) and isinstance(channel, str) and isinstance(ts, str) and team):
        return None
    if user == bot_user_id:
        return None
    text = plain_text(str(event.get("text") or ""), bot_user_id)
    files = len(event.get("files") or [])
    dm_thread_ts = None
    if event.get("type") == "app_mention":
        place, kind = SlackPlace(team, channel, event.get("thread_ts") or ts), "mention"
    elif event.get("channel_type") == "im":
        place, kind = SlackPlace(team, channel), "dm"
        dm_thread_ts = event.get("thread_ts") if event.get("thread_ts") != ts else None
    elif event.get("thread_ts"):
        place, kind = SlackPlace(team, channel, event["thread_ts"]), "thread"
    else:
        return None  # a channel message that does not mention the app
    return CustomerEvent(place, user, text, ts, files, kind, dm_thread_ts)


def bot_user_id(body: dict[str, Any], context: Any) -> str | None:
    """The app's bot user: as authorization knows it, or (before auth.test has answered) as the
    signed event itself names it in `authorizations`."""
    known = context.get("bot_user_id")
    if known:
        return str(known)
    for authorization in body.get("authorizations") or []:
        if isinstance(authorization, dict) and authorization.get("is_bot") and isinstance(authorization.get("user_id"), str):
            return str(authorization["user_id"])
    return None


@dataclass(frozen=True, slots=True)
class SlackNotices:
    """What a customer is told when a message cannot be taken (the persona's wording); empty says nothing."""

    files_only: str
    too_long: str


class SlackInbound:
    """The customer side: DMs, @mentions, and replies in threads the app answered in."""

    def __init__(
        self,
        service: ConversationService,
        conversations: InboundLedger,
        background: BackgroundTasks,
        max_text_chars: int,
        notices: SlackNotices,
    ) -> None:
        self.service = service
        self.conversations = conversations
        self.background = background
        self.max_text_chars = max_text_chars
        self.notices = notices

    async def on_event(
        self, event: dict[str, Any], body: dict[str, Any], context: Any, client: AsyncWebClient, request: Any
    ) -> None:
        parsed = parse_event(event, body.get("team_id") or context.get("team_id"), bot_user_id(body, context))
        if parsed is None:
            return
        with structlog.contextvars.bound_contextvars(channel=CHANNEL, slack_ts=parsed.ts, slack_kind=parsed.kind):
            if parsed.kind == "thread" and not await self.conversations.has_conversation(CHANNEL, parsed.place.key):
                return  # a thread the app was never asked into
            if not parsed.text:
                if parsed.files:
                    await self._note_once(client, parsed, self.notices.files_only)
                return
            try:
                checked_text(parsed.text, self.max_text_chars)
            except InvalidMessage as exc:
                if exc.reason == TOO_LONG:
                    await self._note_once(client, parsed, self.notices.too_long)
                else:
                    log.warning("slack_message_refused", reason=str(exc))
                return
            inbound = parsed.inbound()
            try:
                # Durable before the acknowledgement; the answer leaves through the outbox.
                taken = await self.service.take(inbound, TRAITS.inline_answer_s)
            except (InvalidMessage, ConversationNotFound) as exc:
                log.warning("slack_message_refused", reason=str(exc))
                return
            retry = (request.headers.get("x-slack-retry-num") or [None])[0]
            log.info("slack_message_stored", message_id=taken.message.id, slack_retry=retry)

    async def _note_once(self, client: AsyncWebClient, parsed: CustomerEvent, text: str) -> None:
        """A polite word about a message we cannot take, once per message: claimed in the store
        before Slack's acknowledgement, so none of Slack's retries of the event tells it again."""
        if not text:
            return
        if await self.conversations.claim_note(f"{parsed.place.key}:{stored_id(parsed.ts, parsed.dm_thread_ts)}"):
            self.background.spawn(self._note(client, parsed, text), "slack_note")
        else:
            log.info("slack_note_already_told")

    async def _note(self, client: AsyncWebClient, parsed: CustomerEvent, text: str) -> None:
        """Best effort: nothing of the customer's is lost when it fails."""
        try:
            await client.chat_postMessage(channel=parsed.place.channel_id, thread_ts=parsed.reply_thread_ts, text=text)
        except Exception as exc:  # noqa: BLE001 - a courtesy, not a delivery
            log.warning("slack_note_failed", error=str(exc))
