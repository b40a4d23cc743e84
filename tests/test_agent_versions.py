"""An agent action may name the ticket version it was meant for: refused once the ticket moved
on, while a retry of an action already applied is still answered as done."""

from __future__ import annotations

import pytest

from conftest import Chat
from supportbot.agents import TicketChanged
from supportbot.app import build_desk
from supportbot.engine import Engine
from supportbot.tickets import REFERENCE


def test_a_stale_version_is_refused_and_an_applied_key_stays_a_retry(
    engine: Engine, chat: Chat
) -> None:
    chat.say("/agent")
    chat.say("Je n'arrive pas à changer l'adresse de livraison")
    found = REFERENCE.search(chat.press("confirm"))
    assert found is not None
    desk = build_desk(engine)
    seen = desk.show(found.group()).version
    assert seen > 0

    replied = desk.reply(found.group(), "lea", "Bonjour !", key="k1", version=seen)
    assert replied.version > seen and not replied.repeated
    again = desk.reply(found.group(), "lea", "Bonjour !", key="k1", version=seen)
    assert again.repeated  # the same form sent twice: done once, not "changed"

    with pytest.raises(TicketChanged, match="changed since it was opened"):
        desk.note(found.group(), "max", "vu", key="k2", version=seen)
    assert desk.show(found.group()).version == replied.version  # nothing written
    desk.note(found.group(), "max", "vu", key="k2", version=replied.version)
