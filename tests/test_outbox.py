"""Messages for customers wait in the store until delivered: in order, never lost, once (only
the one a sender was sending when it died can go twice)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from conftest import Chat, Clock
from supportbot.app import build_desk
from supportbot.engine import Engine
from supportbot.jobs import Jobs
from supportbot.messages import Inbound, Reply
from supportbot.store import OutboxMessage, Ticket


def handed_off(chat: Chat) -> str:
    chat.press("flow:human-agent")
    chat.say("Une question sur ma commande")
    done = chat.press("confirm")
    return next(w.strip(".,()") for w in done.split() if w.startswith("SAV-"))


def test_a_claimed_message_is_not_given_to_a_second_sender(chat: Chat, engine: Engine) -> None:
    ref = handed_off(chat)
    build_desk(engine).reply(ref, "lea", "Bonjour !")
    first = engine.outbox.claim_next("test", "alice")
    assert first is not None and first[1].text == f"[{ref}] Bonjour !"
    assert engine.outbox.claim_next("test", "alice") is None  # another worker sweeping now
    engine.outbox.mark_delivered([first[0]])
    assert engine.outbox.take("test", "alice") == []


def test_a_sender_that_dies_before_confirming_leaves_it_to_be_sent_again(
    chat: Chat, engine: Engine, clock: Clock
) -> None:
    ref = handed_off(chat)
    build_desk(engine).reply(ref, "lea", "Votre colis est reparti.")
    assert engine.outbox.claim_next("test", "alice") is not None  # ... then the sender dies
    clock.now += timedelta(minutes=3)  # the claim lapses
    again = engine.outbox.claim_next("test", "alice")
    assert again is not None and "reparti" in again[1].text
    engine.outbox.mark_delivered([again[0]])
    clock.now += timedelta(minutes=3)
    assert engine.outbox.claim_next("test", "alice") is None


def test_a_reply_waits_for_a_customer_who_is_away(chat: Chat, engine: Engine) -> None:
    ref = handed_off(chat)
    build_desk(engine).reply(ref, "lea", "Je reviens vers vous demain.")
    # nobody reads the outbox for a while; the customer comes back later
    assert [r.text for r in engine.outbox.take("test", "alice")] == [
        f"[{ref}] Je reviens vers vous demain."
    ]


def test_a_sender_killed_half_way_loses_nothing_and_repeats_nothing_confirmed(
    chat: Chat, engine: Engine, clock: Clock
) -> None:
    ref = handed_off(chat)
    desk = build_desk(engine)
    for words in ("Premier message.", "Deuxième message.", "Troisième message."):
        desk.reply(ref, "lea", words)
    shown: list[str] = []

    def killed_on_the_second(reply: Reply) -> None:
        if shown:
            raise KeyboardInterrupt  # the process dies while sending the second one
        shown.append(reply.text)

    with pytest.raises(KeyboardInterrupt):
        engine.outbox.deliver("test", "alice", killed_on_the_second)
    # Another sender now: the message in flight holds the queue (order) until its claim lapses.
    assert engine.outbox.take("test", "alice") == []
    clock.now += timedelta(minutes=3)  # the claim lapses; a new sender starts
    engine.outbox.deliver("test", "alice", lambda reply: shown.append(reply.text))
    assert shown == [
        f"[{ref}] Premier message.",
        f"[{ref}] Deuxième message.",
        f"[{ref}] Troisième message.",
    ]


def test_a_failed_send_gives_the_message_back_at_once(chat: Chat, engine: Engine) -> None:
    ref = handed_off(chat)
    build_desk(engine).reply(ref, "lea", "Bonjour !")

    def network_down(reply: Reply) -> None:
        raise ConnectionError("no route to host")

    with pytest.raises(ConnectionError):
        engine.outbox.deliver("test", "alice", network_down)
    assert [r.text for r in engine.outbox.take("test", "alice")] == [f"[{ref}] Bonjour !"]


def keyed(text: str, key: str) -> Inbound:
    return Inbound("test", "alice", "alice", text=text, language="fr", key=key)


def test_a_keyed_event_is_applied_once_and_its_replies_wait_in_the_outbox(
    chat: Chat, engine: Engine
) -> None:
    chat.press("flow:human-agent")
    need = keyed("Ma commande 123456789 est en retard", "update:7")
    assert engine.handle(need) == []  # the replies are queued with the turn, not returned
    summary = engine.outbox.take("test", "alice")
    assert len(summary) == 1 and summary[0].text.startswith("Récapitulatif")

    # The channel crashed before noting the update handled, and delivers it again.
    assert engine.handle(need) == []
    assert engine.outbox.take("test", "alice") == []  # applied once, queued once

    confirm = Inbound("test", "alice", "alice", payload="confirm", key="update:8")
    engine.handle(confirm)
    engine.handle(confirm)
    done = [r.text for r in engine.outbox.take("test", "alice")]
    assert done[0].startswith("Votre demande est enregistrée") and len(done) == 2
    assert not engine.outbox.take("test", "alice")
    with engine.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Ticket)) == 1


def test_a_restarted_only_sender_takes_back_the_claims_of_the_process_it_replaces(
    chat: Chat, engine: Engine
) -> None:
    ref = handed_off(chat)
    desk = build_desk(engine)
    desk.reply(ref, "lea", "Premier message.")
    desk.reply(ref, "lea", "Second message.")
    claimed = engine.outbox.claim_next("test", "alice")
    assert claimed is not None
    with engine.sessions.begin() as db:  # held by a process that was killed while sending
        db.get_one(OutboxMessage, claimed[0]).claimed_by = "gone:1234:0"
    assert engine.outbox.claim_next("test", "alice") is None  # its claim still runs

    assert engine.outbox.release_orphans("test") == 1
    assert [r.text for r in engine.outbox.take("test", "alice")] == [
        f"[{ref}] Premier message.",
        f"[{ref}] Second message.",
    ]


def test_a_sender_keeps_its_own_claims_when_releasing_orphans(chat: Chat, engine: Engine) -> None:
    ref = handed_off(chat)
    build_desk(engine).reply(ref, "lea", "En cours d'envoi.")
    assert engine.outbox.claim_next("test", "alice") is not None  # this process, sending
    assert engine.outbox.release_orphans("test") == 0
    assert engine.outbox.claim_next("test", "alice") is None


def test_a_keyed_turn_s_reply_comes_before_the_notices_it_caused(
    chat: Chat, engine: Engine
) -> None:
    ref = handed_off(chat)
    build_desk(engine).propose(ref, "lea", "Un avoir de 10 €.")
    engine.outbox.take("test", "alice")
    engine.handle(Inbound("test", "alice", "alice", payload=f"solution:yes:{ref}", key="u:9"))
    texts = [r.text for r in engine.outbox.take("test", "alice")]
    assert texts[0].startswith("Merci") and "Comment évaluez-vous" in texts[-1], texts


def test_delivered_messages_are_not_kept_forever(chat: Chat, engine: Engine, clock: Clock) -> None:
    ref = handed_off(chat)
    build_desk(engine).reply(ref, "lea", "Votre adresse : 12 rue des Lilas.")
    build_desk(engine).reply(ref, "lea", "Pas encore lu.")
    first = engine.outbox.claim_next("test", "alice")
    assert first is not None
    engine.outbox.mark_delivered([first[0]])  # the second one is never read
    clock.now += timedelta(days=31)
    Jobs(engine.tickets, engine.sessions).tick()
    with engine.sessions() as db:
        left = db.scalars(select(OutboxMessage.text)).all()
    assert f"[{ref}] Pas encore lu." in left  # the undelivered one waits on
    assert not any("Lilas" in t for t in left)  # the delivered one is gone
