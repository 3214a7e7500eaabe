"""Business hours: whether a person can be expected to answer now."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIDNIGHT = time(0, 0)


def parse_span(span: str) -> tuple[time, time]:
    """"09:00-17:00" → (09:00, 17:00). "24:00" closes at midnight; a span that closes at or
    before it opens ("22:00-06:00") runs past midnight into the next day."""
    parts = [part.strip() for part in span.split("-")]
    if len(parts) != 2:
        raise ValueError(f"expected HH:MM-HH:MM, not {span!r}")
    opens = time.fromisoformat(parts[0])
    closes = MIDNIGHT if parts[1] == "24:00" else time.fromisoformat(parts[1])
    if opens == closes and parts[1] != "24:00" and opens != MIDNIGHT:
        raise ValueError(f"{span!r} opens and closes at the same time")
    return opens, closes


class BusinessHours:
    """Opening hours per weekday ("09:00-17:00"), in one time zone; a missing day is closed."""

    def __init__(self, timezone: str, days: Mapping[str, str]) -> None:
        self.zone = ZoneInfo(timezone)
        self._days: dict[int, tuple[time, time]] = {
            DAYS.index(day.lower()[:3]): parse_span(span) for day, span in days.items()
        }

    def open_at(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        now = local.time()
        today = self._days.get(local.weekday())
        if today is not None:
            opens, closes = today
            if opens <= now and (closes <= opens or now < closes):
                return True
        # Yesterday's span may run past midnight into this morning.
        yesterday = self._days.get((local - timedelta(days=1)).weekday())
        return yesterday is not None and yesterday[1] <= yesterday[0] and now < yesterday[1]
