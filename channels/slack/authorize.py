"""Authorizing Slack events without calling Slack, so an unreachable Web API loses no message.

Bolt's own authorization asks Slack (`auth.test`) while it handles an event: with the Web API
down (an outage, DNS, a proxy) a correctly signed event would get a 500 before the message is
stored. Here events are authorized from what is already known. One workspace: the configured
token, and the bot's ids from an `auth.test` made at start-up and retried in the background
until Slack answers. Many workspaces: the bot that the OAuth install stored (its token and ids).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from agent.tasks import while_serving

log = structlog.get_logger(__name__)


# auth.test errors that mean the token itself is refused (an operator must act), not an outage.
REFUSED_TOKEN = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission"})


class BotIdentity(AsyncAuthorize):
    """One workspace's bot: the configured token, and who it is once `auth.test` has said so."""

    def __init__(self, client: AsyncWebClient, token: str, backoff_base_s: float = 1.0, backoff_max_s: float = 60.0) -> None:
        super().__init__()
        self.client = client
        self.token = token
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.bot_user_id: str | None = None
        self.bot_id: str | None = None

    async def __call__(
        self, *, context: Any, enterprise_id: str | None, team_id: str | None, user_id: str | None, **_actor: Any
    ) -> AuthorizeResult:
        # Until auth.test has answered, the bot's ids are unknown; inbound then reads the bot
        # user id from the event's own `authorizations`.
        return AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, bot_token=self.token,
            bot_user_id=self.bot_user_id, bot_id=self.bot_id, user_id=user_id,
        )

    async def verify(self) -> None:
        """Ask Slack who the token is, until it answers; never on an event's path."""
        delay = self.backoff_base_s
        while True:
            try:
                answer = await self.client.auth_test(token=self.token)
            except asyncio.CancelledError:
                raise
            except SlackApiError as exc:
                error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
                if error in REFUSED_TOKEN:  # Slack answered and refused the token: say so, keep trying
                    log.error("slack_token_rejected", error=error, retry_in_s=delay)
                else:
                    log.warning("slack_api_unavailable", step="auth.test", status=exc.response.status_code, retry_in_s=delay)
            except Exception as exc:  # noqa: BLE001 - unreachable: events are still taken meanwhile
                log.warning("slack_api_unreachable", step="auth.test", error=f"{type(exc).__name__}: {exc}", retry_in_s=delay)
            else:
                self.bot_user_id, self.bot_id = answer.get("user_id"), answer.get("bot_id")
                log.info("slack_token_verified", team_id=answer.get("team_id"), bot_user_id=self.bot_user_id)
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max_s)

    def verify_ctx(self) -> Callable[[object], AsyncIterator[None]]:
        """A cleanup context: the token is checked in the background from start-up until shutdown."""
        return while_serving("slack_token_check", self.verify)


class InstalledBots(AsyncAuthorize):
    """Many workspaces: an event is authorized by the bot its workspace's OAuth install stored.

    The install already asked Slack who the bot is (the stored bot has its user and bot ids),
    so, unlike bolt's installation-store authorization, no `auth.test` runs per event. A
    workspace without an install gets None (bolt answers it with a 200 asking to reinstall).
    """

    def __init__(self, store: AsyncInstallationStore) -> None:
        super().__init__()
        self.store = store

    async def __call__(
        self, *, context: Any, enterprise_id: str | None, team_id: str | None, user_id: str | None, **_actor: Any
    ) -> AuthorizeResult | None:
        bot = await self.store.async_find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=context.is_enterprise_install
        )
        if bot is None or not bot.bot_token:
            return None
        return AuthorizeResult(
            enterprise_id=bot.enterprise_id, team_id=bot.team_id, bot_token=bot.bot_token,
            bot_user_id=bot.bot_user_id, bot_id=bot.bot_id, bot_scopes=bot.bot_scopes, user_id=user_id,
        )
