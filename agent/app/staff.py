"""Part of the composition root: staff accounts, the handoff, the staff console and unclaimed notices."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import structlog
from aiohttp import web

from agent.app.channels import unreachable
from agent.app.manager import ask_model
from agent.contracts import RateLimiter
from agent.conversation import ConversationManager
from agent.escalation.hours import BusinessHours
from agent.models import Gateway
from agent.settings import Settings
from agent.staff.accounts import StaffAccounts
from agent.staff.handoff import Handoff, HandoffNotices
from agent.staff.model_summary import ModelSummarizer
from agent.store import AccountStore, Database, HandoffStore
from agent.store.outbox import NO_OUTBOX, OutboxRouting
from agent.tasks import while_serving
from channels.staff import ConsoleOptions, StaffConsole
from personas import Persona

log = structlog.get_logger(__name__)


def build_summarizer(settings: Settings, gateway: Gateway) -> ModelSummarizer | None:
    name = settings.escalation.summary_model
    if not name:
        return None
    return ModelSummarizer(ask_model(gateway.models[name], max_tokens=300), timeout_s=settings.escalation.summary_timeout_s)


def build_accounts(settings: Settings, database: Database) -> StaffAccounts:
    return StaffAccounts(AccountStore(database), timedelta(hours=settings.staff.session_hours))


def build_handoff(
    settings: Settings,
    manager: ConversationManager,
    database: Database,
    outbox: OutboxRouting = NO_OUTBOX,
    summarizer: ModelSummarizer | None = None,
) -> Handoff:
    """The staff side shares the manager's locks and event bus: one order of events per conversation."""
    persona = manager.persona
    # An empty text says nothing.
    notices = HandoffNotices(persona.staff_joined, persona.staff_resolved, persona.handed_back, persona.closed)
    return Handoff(
        HandoffStore(database, outbox, silent_channels=unreachable()),
        manager.locks,
        manager.bus,
        settings.limits.max_text_chars,
        summarizer,
        notices,
    )


def build_staff_console(settings: Settings, handoff: Handoff, database: Database, limiter: RateLimiter) -> StaffConsole:
    options = ConsoleOptions(
        canned_responses=[(c.title, c.text) for c in settings.staff.canned_responses],
        secure_cookie=settings.staff.secure_cookie,
        session_recheck_s=settings.staff.session_recheck_s,
        login_attempts=settings.staff.login_attempts,
        login_window_s=settings.staff.login_window_s,
        trusted_proxies=tuple(settings.server.trusted_proxies),
    )
    return StaffConsole(handoff, build_accounts(settings, database), limiter, options)


def unclaimed_notices_ctx(
    settings: Settings, handoff: Handoff, persona: Persona
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A background sweep telling waiting customers when nobody has picked them up yet."""
    escalation = settings.escalation
    hours = escalation.business_hours
    business_hours = BusinessHours(hours.timezone, hours.days) if hours else None
    waited = escalation.unclaimed_after_s
    # Often enough that the notice comes close to the configured wait, never busier than 1/s.
    interval = min(30.0, max(1.0, waited / 4))

    async def sweep() -> None:
        while True:
            try:
                await handoff.notify_unclaimed(waited, persona.unclaimed, persona.after_hours, business_hours)
            except Exception:  # a failed sweep is retried on the next one, not fatal
                log.exception("unclaimed_sweep_failed")
            await asyncio.sleep(interval)

    return while_serving("unclaimed_notices", sweep)
