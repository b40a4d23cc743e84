"""The channel contract over the engine: keyed events in, a chat's messages read by id."""

from __future__ import annotations

from supportbot.channels.contract import EngineCore
from supportbot.engine import Engine
from supportbot.messages import Inbound


def core_of(engine: Engine) -> EngineCore:
    return EngineCore(engine.handle, engine.sessions, engine.clock)


def ask(core: EngineCore, chat: str, text: str, key: str) -> None:
    assert core.handle(Inbound("web", chat, chat, text=text, language="fr", key=key)) == []


def test_messages_are_read_after_a_cursor_and_acknowledged(engine: Engine) -> None:
    core = core_of(engine)
    ask(core, "ann", "où est ma facture ?", "k1")
    first = core.outgoing("web", "ann")
    assert first and "facture" in first[0].reply.text
    ask(core, "ann", "où est ma facture ?", "k1")  # the same event again: nothing new
    assert core.outgoing("web", "ann", first[-1].id) == []
    ask(core, "ann", "comment retourner un article ?", "k2")
    later = core.outgoing("web", "ann", first[-1].id)
    assert later and later[0].id > first[-1].id
    assert core.acknowledge("web", "ann", first[-1].id) == len(first)
    assert core.acknowledge("web", "ann", first[-1].id) == 0


def test_newer_names_the_chats_with_messages_above_an_id(engine: Engine) -> None:
    core = core_of(engine)
    assert core.newer("web", -1) == (0, set())
    ask(core, "ann", "où est ma facture ?", "a1")
    top, chats = core.newer("web", 0)
    assert chats == {"ann"} and top == core.outgoing("web", "ann")[-1].id
    ask(core, "bob", "où est ma facture ?", "b1")
    assert core.newer("web", top)[1] == {"bob"}
    assert core.newer("terminal", 0) == (0, set())
