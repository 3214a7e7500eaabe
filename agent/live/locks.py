"""A fair line per conversation, so its turns run one at a time, in the order messages were stored.

A message's place in the line is its stored id (a ticket, as in Rasa's ticket lock store). The
place is taken in two steps, because the id only exists once the message is saved:

1. `arrive` before the save: "a message for this conversation is being stored";
2. `Place.queue(message_id)` after it: the arrival becomes a ticket at that id.

`Place.reached()` returns once the place is first in line *and* no arrival that began before the
place was queued is still being saved: such an arrival may yet get a smaller id, and two saves
that finish in one order and resume their coroutines in the other must not swap turns. Work
without a message (a staff action, a conversation ending) queues after everyone in line.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol


class Place(Protocol):
    """One caller's place in a conversation's line; `leave` frees it, whatever state it is in."""

    async def queue(self, order: int | None = None) -> None:
        """Join the line at `order` (a stored message id), or after everyone in it when None."""
        ...

    async def reached(self) -> None:
        """Wait until it is this place's turn."""
        ...

    async def leave(self) -> None: ...


class ConversationLocks(Protocol):
    async def arrive(self, conversation_id: str) -> Place:
        """Say that a message for this conversation is about to be stored."""
        ...

    def hold(self, conversation_id: str) -> AbstractAsyncContextManager[None]:
        """Run after everything already in line (for work that stores no customer message)."""
        ...

    async def is_queued(self, conversation_id: str, order: int) -> bool:
        """Whether someone alive holds a place at `order` (a message waiting for its turn)."""
        ...


@asynccontextmanager
async def hold_after_line(locks: ConversationLocks, conversation_id: str) -> AsyncIterator[None]:
    place = await locks.arrive(conversation_id)
    try:
        await place.queue(None)
        await place.reached()
        yield
    finally:
        await place.leave()


@dataclass(eq=False)
class _Line:
    arrivals: int = 0
    saving: set[int] = field(default_factory=set)  # arrival numbers whose save is in flight
    queued: dict[_LocalPlace, tuple[float, int]] = field(default_factory=dict)  # place -> (order, tie)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    users: int = 0


class _LocalPlace:
    def __init__(self, owner: InProcessLocks, conversation_id: str, line: _Line) -> None:
        self._owner = owner
        self._conversation_id = conversation_id
        self._line = line
        line.arrivals += 1
        self._arrival: int | None = line.arrivals
        line.saving.add(line.arrivals)
        self._horizon = 0
        self._left = False

    async def queue(self, order: int | None = None) -> None:
        line = self._line
        if self._arrival is not None:
            line.saving.discard(self._arrival)
            self._arrival = None
        if order is None:
            last = max((o for o, _ in line.queued.values()), default=0.0)
            position = last + 0.001
        else:
            position = float(order)
        line.queued[self] = (position, next(self._owner._ties))
        self._horizon = line.arrivals
        await self._notify()

    async def reached(self) -> None:
        line = self._line
        async with line.changed:
            await line.changed.wait_for(self._is_first)

    def _is_first(self) -> bool:
        line = self._line
        mine = line.queued[self]
        if any(n <= self._horizon for n in line.saving):
            return False
        return all(other >= mine for other in line.queued.values())

    async def leave(self) -> None:
        if self._left:
            return
        self._left = True
        line = self._line
        if self._arrival is not None:
            line.saving.discard(self._arrival)
        line.queued.pop(self, None)
        await self._notify()
        self._owner._release(self._conversation_id)

    async def _notify(self) -> None:
        async with self._line.changed:
            self._line.changed.notify_all()


class InProcessLocks:
    """Lines kept in memory for one process; a line exists only while someone is in it."""

    def __init__(self) -> None:
        self._lines: dict[str, _Line] = {}
        self._ties = itertools.count()

    async def arrive(self, conversation_id: str) -> Place:
        line = self._lines.get(conversation_id)
        if line is None:
            line = self._lines[conversation_id] = _Line()
        line.users += 1
        return _LocalPlace(self, conversation_id, line)

    def hold(self, conversation_id: str) -> AbstractAsyncContextManager[None]:
        return hold_after_line(self, conversation_id)

    async def is_queued(self, conversation_id: str, order: int) -> bool:
        line = self._lines.get(conversation_id)
        return line is not None and any(position == order for position, _ in line.queued.values())

    def _release(self, conversation_id: str) -> None:
        line = self._lines[conversation_id]
        line.users -= 1
        if line.users == 0:
            del self._lines[conversation_id]

    def __len__(self) -> int:
        return len(self._lines)
