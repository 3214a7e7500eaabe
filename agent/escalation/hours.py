"""Business hours: whether a person can be expected to answer now."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BusinessHours:
    """Opening hours per weekday ("09:00-17:00"), in one time zone; a missing day is closed."""

    def __init__(self, timezone: str, days: Mapping[str, str]) -> None:
        self.zone = ZoneInfo(timezone)
        self._days: dict[int, tuple[time, time]] = {}
        for day, span in days.items():
            opens, closes = (time.fromisoformat(part.strip()) for part in span.split("-"))
            self._days[DAYS.index(day.lower()[:3])] = (opens, closes)

    def open_at(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        span = self._days.get(local.weekday())
        return span is not None and span[0] <= local.time() < span[1]
