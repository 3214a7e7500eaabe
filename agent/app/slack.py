"""The Slack part of the composition root: builds the Slack channel from settings (server.py calls it).

Kept beside server.py rather than in it so the Slack wiring reads in one place: which
credentials mean which mode, the bolt app, the outbox sender, the staff channel.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from agent.contracts import ConversationService, HandoffService
from agent.settings import Settings, SlackCredentials, slack_credentials
from agent.store import Database
from agent.store.slack import SlackStore, oauth_stores
from agent.tasks import BackgroundTasks
from channels.slack import (
    InstalledTokens,
    SlackChannel,
    SlackInbound,
    SlackNotices,
    SlackOutbound,
    SlackStaff,
    StaffChannel,
    StaticToken,
)
from channels.slack.authorize import BotIdentity, InstalledBots
from channels.slack.outbound import CHANNEL, BotTokens
from personas import Persona


@dataclass(frozen=True, slots=True)
class SlackParts:
    channel: SlackChannel
    outbound: SlackOutbound
    store: SlackStore
    contexts: list[Callable[[web.Application], AsyncIterator[None]]]


def build_slack(
    settings: Settings,
    database: Database,
    service: ConversationService,
    handoff: HandoffService,
    persona: Persona,
    credentials: SlackCredentials | None = None,
) -> SlackParts | None:
    """The Slack channel, or None when no Slack credentials are in the environment."""
    credentials = credentials or slack_credentials(settings.slack)
    if credentials is None:
        return None
    slack = settings.slack
    # Bolt's client keeps slack_sdk's retry of a dropped connection; the outbox client retries
    # nothing itself, so the outbox alone decides when to try again (and honours Retry-After).
    # Neither holds a token: each call names the workspace's own.
    bolt_client = AsyncWebClient(base_url=slack.api_base_url)
    send_client = AsyncWebClient(base_url=slack.api_base_url, retry_handlers=[])
    tokens: BotTokens
    identity: BotIdentity | None = None
    if credentials.oauth:
        assert credentials.client_id and credentials.client_secret
        installations, states, engine = oauth_stores(settings.database_url, credentials.client_id)
        bolt = AsyncApp(
            signing_secret=credentials.signing_secret,
            client=bolt_client,
            process_before_response=True,
            # Events are authorized from the stored install, without asking Slack on their path.
            authorize=InstalledBots(installations),
            oauth_settings=AsyncOAuthSettings(
                client_id=credentials.client_id,
                client_secret=credentials.client_secret,
                scopes=slack.scopes,
                redirect_uri=slack.redirect_uri,
                authorization_url=slack.authorize_url,
                install_page_rendering_enabled=False,
                installation_store=installations,
                installation_store_bot_only=True,
                state_store=states,
            ),
        )
        tokens = InstalledTokens(installations)
    else:
        assert credentials.bot_token
        engine = None
        # The token is checked (auth.test) at start-up and in the background, never on an event's path.
        identity = BotIdentity(bolt_client, credentials.bot_token)
        bolt = AsyncApp(
            signing_secret=credentials.signing_secret,
            client=bolt_client,
            process_before_response=True,
            authorize=identity,
            # Socket Mode without a signing secret mounts no HTTP endpoint to verify.
            request_verification_enabled=credentials.signing_secret is not None,
        )
        tokens = StaticToken(credentials.bot_token)
    store = SlackStore(database)
    background = BackgroundTasks("slack")
    staff = None
    if slack.staff_channel:
        team = slack.staff_team or ""
        staff = SlackStaff(
            handoff,
            store,
            send_client,
            tokens,
            StaffChannel(slack.staff_channel, team, poll_interval_s=slack.staff_poll_interval_s),
            background,
        )
    channel = SlackChannel(
        bolt,
        SlackInbound(
            service,
            store,
            background,
            settings.limits.max_text_chars,
            SlackNotices(persona.no_text, persona.too_long),
        ),
        background,
        staff,
        signing_secret=credentials.signing_secret,
        app_token=credentials.app_token if slack.socket_mode else None,
    )
    contexts = channel.contexts()
    if identity is not None:
        contexts.insert(0, identity.verify_ctx())
    if engine is not None:
        oauth_engine = engine

        async def slack_oauth_engine_ctx(_app: web.Application) -> AsyncIterator[None]:
            yield
            await oauth_engine.dispose()

        contexts.insert(0, slack_oauth_engine_ctx)
    outbound = SlackOutbound(send_client, tokens, slack.max_message_chars)
    assert outbound.name == CHANNEL
    return SlackParts(channel, outbound, store, contexts)
