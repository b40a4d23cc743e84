"""The business-hours clock: which time counts towards a support deadline.

Business days are Monday to Friday minus French public holidays (``holidays``,
country FR). By default the whole business day counts, so "48 business hours"
from Friday 17:00 ends on Tuesday 17:00; optional opening hours narrow each
day to a window. Arithmetic runs on local wall-clock time in the configured
zone, so a daylight-saving change (always on a Sunday in France) shifts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str = "Europe/Paris"
    country: str = "FR"
    subdivision: str | None = None
    opening: tuple[time, time] | None = None
    workdays: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        return holidays.country_holidays(self.country, subdiv=self.subdivision, language="fr")

    def is_business_day(self, day: date) -> bool:
        return day.weekday() in self.workdays and day not in self._holidays

    def holiday_name(self, day: date) -> str | None:
        name = self._holidays.get(day)
        return str(name) if name else None

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        """The counted part of ``day`` as naive local datetimes, or None."""
        if not self.is_business_day(day):
            return None
        if self.opening is None:
            start = datetime.combine(day, time.min)
            return start, start + _DAY
        return datetime.combine(day, self.opening[0]), datetime.combine(day, self.opening[1])

    def _local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("BusinessCalendar needs aware datetimes")
        return moment.astimezone(self.tz).replace(tzinfo=None)

    def _aware(self, wall: datetime) -> datetime:
        return wall.replace(tzinfo=self.tz)

    def add(self, start: datetime, hours: float) -> datetime:
        """The moment ``hours`` business hours after ``start`` (aware, in the zone)."""
        if hours < 0:
            raise ValueError("hours must be positive")
        remaining = timedelta(hours=hours)
        cursor = self._local(start)
        day = cursor.date()
        for _ in range(3660):
            window = self._window(day)
            if window is not None:
                begin = max(window[0], cursor)
                if begin < window[1]:
                    available = window[1] - begin
                    if remaining <= available:
                        return self._aware(begin + remaining)
                    remaining -= available
            day += _DAY
            cursor = datetime.combine(day, time.min)
        raise ValueError("deadline is more than ten years away")

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two moments (zero when ``end`` is before ``start``)."""
        a, b = self._local(start), self._local(end)
        total = timedelta()
        day = a.date()
        while day <= b.date():
            window = self._window(day)
            if window is not None:
                lo, hi = max(window[0], a), min(window[1], b)
                if hi > lo:
                    total += hi - lo
            day += _DAY
        return total
