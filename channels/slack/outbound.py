"""Slack outbound: a stored message to a Slack customer as chat.postMessage calls, failures as DeliveryError."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.oauth.installation_store.async_installation_store import (
    AsyncInstallationStore,
)
from slack_sdk.web.async_client import AsyncWebClient

from agent.contracts import ChannelTraits, DeliveryError, OutboundMessage, Role
from channels.slack.format import split_text, to_mrkdwn

log = structlog.get_logger(__name__)

CHANNEL = "slack"
# Slack wants its 200 within 3 s, before any turn is done: every answer leaves through the outbox.
TRAITS = ChannelTraits(CHANNEL, style="slack", splits_long_answers=True, threads=True, inline_answer_s=0.0)

# Slack errors that no retry will fix: the message is marked failed at once.
PERMANENT_ERRORS = frozenset(
    {
        "account_inactive", "channel_not_found", "invalid_auth", "is_archived", "msg_too_long",
        "no_text", "not_authed", "not_in_channel", "restricted_action", "team_access_not_granted",
        "token_revoked", "too_many_attachments", "missing_scope", "no_installation",
    }
)


class BotTokens(Protocol):
    """The bot token to act in a workspace with."""

    async def for_team(self, team_id: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class StaticToken:
    """One workspace: the configured bot token, whatever the team."""

    token: str

    async def for_team(self, team_id: str) -> str | None:
        return self.token


@dataclass(frozen=True, slots=True)
class InstalledTokens:
    """Many workspaces: the bot token each one's OAuth install left in the installation store."""

    store: AsyncInstallationStore

    async def for_team(self, team_id: str) -> str | None:
        bot = await self.store.async_find_bot(enterprise_id=None, team_id=team_id)
        return bot.bot_token if bot is not None else None


@dataclass(frozen=True, slots=True)
class SlackPlace:
    """Where a conversation lives in Slack, as its conversation key spells it."""

    team_id: str
    channel_id: str
    thread_ts: str | None = None

    @property
    def key(self) -> str:
        return ":".join(p for p in (self.team_id, self.channel_id, self.thread_ts) if p)

    @classmethod
    def parse(cls, key: str) -> "SlackPlace":
        parts = key.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"not a Slack conversation key: {key!r}")
        return cls(*parts)


# A DM is one conversation, but a customer may write in one of its threads: that message is
# stored as "<ts>@<thread_ts>", so its answer can go back into the thread it came from.
_IN_THREAD = "@"


def stored_id(ts: str, thread_ts: str | None = None) -> str:
    """The id a customer's Slack message is stored (and deduplicated) under."""
    return f"{ts}{_IN_THREAD}{thread_ts}" if thread_ts and thread_ts != ts else ts


def thread_of(stored: str | None) -> str | None:
    """The DM thread a stored customer message was written in, if it was."""
    return (stored or "").partition(_IN_THREAD)[2] or None


def delivery_error(exc: Exception) -> DeliveryError:
    """What a failed Slack call means for the outbox: retry (when), or give up."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = response.status_code
        data = response.data if isinstance(response.data, dict) else {}
        error = str(data.get("error") or f"http_{status}")
        if status == 429 or error == "ratelimited":
            retry_after = _seconds(response.headers.get("Retry-After"))
            return DeliveryError(f"rate limited ({error})", retry_after=retry_after)
        if error in PERMANENT_ERRORS:
            return DeliveryError(error, permanent=True)
        return DeliveryError(error)
    if isinstance(exc, (aiohttp.ClientError, SlackClientError, TimeoutError)):
        return DeliveryError(f"Slack API unreachable: {type(exc).__name__}: {exc}")
    raise exc


def _seconds(value: Any) -> float | None:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None


class SlackOutbound:
    """Sends answers, staff replies and notices to Slack customers; the outbox retries what fails.

    A message longer than `max_chars` goes as several, in order. Pieces already posted are
    remembered per outbox row, so a retry after a failure halfway posts only the rest. In a DM,
    a message answering one written in a thread of the DM goes into that thread.
    """

    name = CHANNEL

    def __init__(self, client: AsyncWebClient, tokens: BotTokens, max_chars: int = 3000) -> None:
        self.client = client
        self.tokens = tokens
        self.max_chars = max_chars
        self._posted: dict[int, int] = {}  # outbox id → pieces already posted

    async def send(self, message: OutboundMessage) -> str | None:
        try:
            place = SlackPlace.parse(message.conversation_key)
        except ValueError as exc:
            raise DeliveryError(str(exc), permanent=True) from None
        token = await self.tokens.for_team(place.team_id)
        if token is None:
            raise DeliveryError(f"no_installation for team {place.team_id}", permanent=True)
        thread_ts = place.thread_ts or thread_of(message.in_reply_to)
        pieces = split_text(to_slack_text(message), self.max_chars)
        done = self._posted.get(message.outbox_id, 0)
        first_ts: str | None = None
        for index, piece in enumerate(pieces[done:], start=done):
            try:
                response = await self.client.chat_postMessage(
                    token=token, channel=place.channel_id, thread_ts=thread_ts, text=piece, mrkdwn=True
                )
            except Exception as exc:  # noqa: BLE001 - turned into a retry decision, or re-raised
                error = delivery_error(exc)
                log.warning("slack_post_failed", piece=index, reason=error.reason)
                if error.permanent:
                    self._posted.pop(message.outbox_id, None)
                else:
                    self._posted[message.outbox_id] = index
                raise error from exc
            first_ts = first_ts or response.get("ts")
        self._posted.pop(message.outbox_id, None)
        return first_ts


def to_slack_text(message: OutboundMessage) -> str:
    text = to_mrkdwn(message.message.text)
    if message.message.role is Role.STAFF and message.message.author:
        return f"*{to_mrkdwn(message.message.author)}:* {text}"
    return text
