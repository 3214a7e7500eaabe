"""The terminal channel: `switchboard chat` talks to the bot through the same manager.

Staff answer on the customer's own channel, and a terminal is none they can reach: an
escalation made here is withdrawn at once and the conversation stays with the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable

import click

from agent.contracts import (
    ChannelTraits,
    ConversationService,
    ConversationState,
    HandoffConflict,
    InboundMessage,
    InvalidMessage,
)

CHANNEL = "cli"
TRAITS = ChannelTraits(CHANNEL, style="web", pushable=False)
CUSTOMER = "operator"
QUIT = frozenset({"quit", "exit"})
NO_PERSON_HERE = (
    "[escalated: staff can't reach a conversation in the terminal, so it stays with the bot;"
    " try the web chat to talk to a person]"
)


class TerminalChat:
    """Lines typed in, the bot's answers printed, until Ctrl+D or 'quit'."""

    def __init__(
        self,
        service: ConversationService,
        withdraw: Callable[[str], Awaitable[object]],
        name: str,
        greeting: str,
    ) -> None:
        self.service = service
        self.withdraw = withdraw
        self.name = name
        self.greeting = greeting

    async def run(self) -> None:
        key = f"cli-{uuid.uuid4().hex[:12]}"
        conversation_id = await self.service.open_conversation(CHANNEL, key, CUSTOMER)
        click.secho(f"{self.name}: {self.greeting}", fg="cyan")
        click.echo("(Ctrl+D or 'quit' to leave)")
        while True:
            try:
                text = await asyncio.to_thread(input, "you> ")
            except EOFError:
                return
            if text.strip().lower() in QUIT:
                return
            if text.strip():
                await self._turn(InboundMessage(CHANNEL, CUSTOMER, key, text, conversation_id=conversation_id))

    async def _turn(self, inbound: InboundMessage) -> None:
        try:
            reply = await self.service.handle(inbound)
        except InvalidMessage as exc:
            click.secho(f"! {exc}", fg="red")
            return
        if reply.text:
            click.secho(f"{self.name}: {reply.text}", fg="cyan")
        if reply.state is ConversationState.WAITING:
            with contextlib.suppress(HandoffConflict):  # a person got there first after all
                await self.withdraw(reply.conversation_id)
            click.secho(NO_PERSON_HERE, fg="yellow")
            return
        click.secho(f"[{reply.route} · {reply.model}]" if reply.route else "[no answer]", dim=True)
