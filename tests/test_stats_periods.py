"""`supportbot stats`: first response and time to close in business hours (an agent's words
only, never the bot's, a take or a note), ratings, and the same per day or week."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from typer.testing import CliRunner

from conftest import Chat, Clock, handoff
from supportbot.app import build_desk
from supportbot.cli import app
from supportbot.config import Settings
from supportbot.engine import Engine

NOVEMBER = ["--since", "2026-11-01", "--until", "2026-12-01", "--by", "day"]


def seed(engine: Engine, clock: Clock, new_chat: Callable[..., Chat]) -> None:
    """Three requests on Tuesday 24 November 2026 and what the agents did with them."""
    desk = build_desk(engine)
    start = clock.now  # Tuesday 10:00 UTC
    ana = new_chat("ana")
    first = handoff(ana, "Mon compte est bloqué")
    clock.now = start + timedelta(hours=2)
    second = handoff(new_chat("bob"), "Ma commande 987654321 est en retard")
    clock.now = start + timedelta(hours=4)
    handoff(new_chat("cyd"), "Je veux parler à quelqu'un")  # never answered yet
    clock.now = start + timedelta(hours=5)
    desk.take(second, "max")  # taking it is not an answer
    desk.note(second, "max", "à voir avec le vendeur")  # nor is a note
    clock.now = start + timedelta(days=1)  # Wednesday 10:00: 24 business hours later
    desk.reply(first, "lea", "Bonjour, je débloque votre compte.")
    clock.now = start + timedelta(days=2)
    desk.close(first, "lea")
    ana.press(f"rate:{first}:4")
    clock.now = start + timedelta(days=3, hours=2)  # Friday 12:00: 72 business hours
    desk.ask(second, "max", "Quel transporteur ?")
    new_chat("dan").say("ou est ma facture")  # answered with no ticket


def command_stats(settings: Settings, env: dict[str, str], *args: str) -> Any:
    """What `supportbot stats --json ARGS` prints on the test's store."""
    env["SUPPORTBOT_DATABASE_URL"] = settings.database_url
    result = CliRunner().invoke(app, ["stats", "--json", *args], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_first_response_and_time_to_close_in_business_hours_per_day(
    engine: Engine,
    settings: Settings,
    clock: Clock,
    new_chat: Callable[..., Chat],
    env: dict[str, str],
) -> None:
    seed(engine, clock, new_chat)
    command = command_stats(settings, env, *NOVEMBER)
    assert command["first_response"] == {
        "answered": 2,
        "awaiting": 1,
        "median_hours": 48.0,
        "p90_hours": 72.0,
        "target_hours": 48.0,
        "within_target": 0.5,
    }
    assert command["time_to_close"] == {"closed": 1, "median_hours": 48.0, "p90_hours": 48.0}
    assert command["tickets_closed"] == 1
    assert command["rating_distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}
    days = {b["start"]: b for b in command["series"]}
    assert len(days) == 30 and min(days) == "2026-11-01" and max(days) == "2026-11-30"
    assert sum(b["opened"] for b in days.values()) == 3
    tuesday = days["2026-11-24"]
    assert (tuesday["opened"], tuesday["first_response_median_hours"]) == (3, 48.0)
    assert days["2026-11-26"]["closed"] == 1
    assert days["2026-11-27"]["answered_without_ticket"] == 1
    assert days["2026-11-27"]["deflection"] == 1.0

    weeks = command_stats(
        settings, env, "--since", "2026-11-23", "--until", "2026-12-07", "--by", "week"
    )
    assert [(w["start"], w["opened"], w["closed"]) for w in weeks["series"]] == [
        ("2026-11-23", 3, 1),
        ("2026-11-30", 0, 0),
    ]
    later = command_stats(settings, env, "--since", "2026-11-25")
    assert later["tickets_created"] == 0 and later["tickets_closed"] == 1
    assert later["first_response"]["answered"] == 0 and later["series"] == []
    assert command_stats(settings, env, "--until", "2026-11-24")["tickets_created"] == 0
