"""The agent contract over the desk: a ticket's customer, its thread on the agent side,
and an agent's reply that the channel already delivered."""

from __future__ import annotations

from conftest import Chat, handoff
from supportbot.app import build_desk
from supportbot.channels.agent_contract import AgentCore, DeskCore
from supportbot.channels.contract import EngineCore
from supportbot.engine import Engine


def core_of(engine: Engine) -> AgentCore:
    return DeskCore(build_desk(engine))


def test_a_ticket_names_its_customer_and_has_no_thread_yet(engine: Engine, chat: Chat) -> None:
    ref = handoff(chat, "Ma commande 123456789 est bloquée depuis 10 jours")
    contact = core_of(engine).contact(ref)
    assert contact is not None
    assert (contact.customer_channel, contact.customer_chat) == ("test", "alice")
    assert contact.thread_id is None and not contact.customer_unreachable
    assert core_of(engine).contact("SAV-0000-NOPE") is None


def test_the_first_thread_claimed_stays_until_it_is_replaced(engine: Engine, chat: Chat) -> None:
    core = core_of(engine)
    ref = handoff(chat, "Ma commande 123456789 est bloquée depuis 10 jours")
    assert core.claim_thread(ref, 11, replacing=None) == 11
    assert core.claim_thread(ref, 12, replacing=None) == 11  # another worker came second
    assert core.claim_thread(ref, 13, replacing=11) == 13  # the topic was deleted
    found = core.contact_in_thread(13)
    assert found is not None and found.reference == ref
    assert core.contact_in_thread(11) is None


def test_a_reply_the_channel_delivered_is_not_queued_again(engine: Engine, chat: Chat) -> None:
    core, customers = core_of(engine), EngineCore.of(engine)
    ref = handoff(chat, "Ma commande 123456789 est bloquée depuis 10 jours")
    core.reply(ref, "lea", "Copiée depuis le sujet.", delivered=True)
    assert customers.waiting_chats("test") == []
    core.reply(ref, "lea", "Écrite ailleurs.")
    assert customers.waiting_chats("test") == ["alice"]
    assert [body for _, _, _, body in core.show(ref).events][-2:] == [
        "Copiée depuis le sujet.",
        "Écrite ailleurs.",
    ]
