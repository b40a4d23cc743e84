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


def test_a_turn_taken_in_comes_with_what_its_chat_holds_and_its_language(engine: Engine) -> None:
    core = core_of(engine)
    first = core.take_in(Inbound("web", "ann", "ann", text="où est ma facture ?", key="t1"), 0)
    assert first.actions == [] and first.language == "fr"
    assert first.said == core.outgoing("web", "ann") and "facture" in first.said[0].reply.text
    english = Inbound("web", "ann", "ann", text="how do I get my invoice?", key="t2")
    after = first.said[-1].id
    second = core.take_in(english, after)
    assert second.language == "en" and second.said == core.outgoing("web", "ann", after)
    assert core.take_in(english, after) == second  # the same event again: nothing new
    asked = core.take_in(Inbound("web", "ann", "ann", text="/forget", key="t3"), after)
    assert asked.said and asked.said[-1].reply.buttons
    yes = Inbound("web", "ann", "ann", text="Yes", payload="forget:yes", key="t4")
    erased = core.take_in(yes, asked.said[-1].id)
    assert erased.said is None and erased.language is None  # its conversation is gone


def test_news_reads_every_chat_of_a_channel_above_an_id(engine: Engine) -> None:
    core = core_of(engine)
    assert core.news("web", 0).messages == [] and core.news("web", 0).top == 0
    ask(core, "ann", "où est ma facture ?", "n1")
    ask(core, "bob", "comment retourner un article ?", "n2")
    ann, bob = core.outgoing("web", "ann"), core.outgoing("web", "bob")
    news = core.news("web", 0)
    assert news.messages == [("ann", m) for m in ann] + [("bob", m) for m in bob]
    assert news.top == bob[-1].id
    assert core.news("web", ann[-1].id).messages == [("bob", m) for m in bob]
    assert core.news("terminal", 0).messages == [] and core.news("terminal", 0).top == news.top


def test_acknowledgements_of_several_chats_are_counted_each(engine: Engine) -> None:
    core = core_of(engine)
    ask(core, "ann", "où est ma facture ?", "a1")
    ask(core, "bob", "où est ma facture ?", "b1")
    ann, bob = core.outgoing("web", "ann"), core.outgoing("web", "bob")
    shown = [("ann", ann[-1].id), ("bob", bob[0].id), ("nobody", 10**6)]
    assert core.acknowledge_all("web", shown) == [len(ann), 1, 0]
    assert core.acknowledge_all("web", shown) == [0, 0, 0]
    assert core.acknowledge("web", "bob", bob[-1].id) == len(bob) - 1
