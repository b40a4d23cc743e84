"""The business-hours clock on the edges: weekends, French holidays, DST, opening hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from supportbot.calendar import BusinessCalendar

PARIS = ZoneInfo("Europe/Paris")
CAL = BusinessCalendar()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        ("2026-11-27T17:00", 48, "2026-12-01T17:00"),  # Friday -> Tuesday
        ("2026-12-24T10:00", 48, "2026-12-29T10:00"),  # Christmas + weekend
        ("2026-11-28T11:00", 48, "2026-12-02T00:00"),  # opened on Saturday: clock starts Monday
        ("2026-04-03T12:00", 48, "2026-04-08T12:00"),  # Easter Monday 6 April 2026
        ("2026-05-13T09:00", 48, "2026-05-18T09:00"),  # Ascension Thursday 14 May 2026
        ("2026-05-22T09:00", 24, "2026-05-26T09:00"),  # Whit Monday 25 May 2026
        ("2027-03-26T10:00", 48, "2027-03-31T10:00"),  # Easter Monday 29 March 2027
        ("2027-05-05T10:00", 24, "2027-05-07T10:00"),  # Ascension 6 May 2027
        ("2027-05-14T10:00", 24, "2027-05-18T10:00"),  # Whit Monday 17 May 2027
        ("2026-03-27T12:00", 48, "2026-03-31T12:00"),  # DST change Sunday 29 March
        ("2026-10-23T12:00", 48, "2026-10-27T12:00"),  # DST change Sunday 25 October
    ],
)
def test_deadlines(start: str, hours: float, due: str) -> None:
    assert CAL.add(at(start), hours) == at(due)


def test_holidays_are_not_business_days() -> None:
    assert not CAL.is_business_day(at("2026-12-25T00:00").date())
    assert not CAL.is_business_day(at("2026-07-14T00:00").date())
    assert CAL.is_business_day(at("2026-12-24T00:00").date())


def test_opening_hours() -> None:
    cal = BusinessCalendar(opening=(time(9), time(18)))
    # Friday 17:00 -> 1 h left Friday, 9 h Monday, 9 h Tuesday ... 48 h = 1 + 9*5 + 2
    assert cal.add(at("2026-11-27T17:00"), 48) == at("2026-12-07T11:00")
    assert cal.add(at("2026-11-27T20:00"), 1) == at("2026-11-30T10:00")


def test_elapsed_counts_only_business_time() -> None:
    assert CAL.elapsed(at("2026-11-27T17:00"), at("2026-12-01T17:00")) == timedelta(hours=48)
    assert CAL.elapsed(at("2026-12-01T17:00"), at("2026-11-27T17:00")) == timedelta(0)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        CAL.add(datetime(2026, 11, 27, 17), 48)
