"""GDPR rights and abuse limits: /mydata, /forget, retention, rate limits."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from conftest import Chat, Clock
from supportbot.app import build_desk
from supportbot.engine import Engine
from supportbot.jobs import Jobs, JobSettings
from supportbot.messages import Document
from supportbot.outbox import Notice
from supportbot.store import Customer, UnansweredQuestion
from supportbot.tickets import CustomerErased


def file_request(chat: Chat, photo) -> str:  # type: ignore[no-untyped-def]
    chat.press("flow:other-request")
    chat.say("Profil vendeur")
    chat.say("Mon adresse alice@example.com apparaît publiquement.")
    chat.say("Rien pour l'instant.")
    chat.say(files=(photo,))
    chat.say("terminé")
    done = chat.press("confirm")
    return next(w.strip(".,") for w in done.split() if w.startswith("SAV-"))


def test_mydata_exports_everything_about_the_customer(chat: Chat, photo) -> None:  # type: ignore[no-untyped-def]
    ref = file_request(chat, photo)
    [document] = chat.send("/mydata")
    assert isinstance(document, Document) and document.name.endswith(".json")
    data = json.loads(document.data)
    assert data["customer"]["name"] == "alice"
    [ticket] = data["tickets"]
    assert ticket["reference"] == ref
    assert "alice@example.com" in ticket["fields"]["description"]
    assert ticket["attachments"][0]["name"] == "photo.jpg"


def test_forget_after_confirmation(chat: Chat, engine: Engine, photo) -> None:  # type: ignore[no-untyped-def]
    ref = file_request(chat, photo)
    with engine.sessions() as db:
        stored = Path(engine.tickets.get(db, ref).attachments[0].path or "")
    assert stored.is_file()
    assert "définitif" in chat.say("/forget")
    assert "rien n'a été effacé" in chat.press("forget:no")
    assert "effacées" in chat.press("forget:yes")
    assert not stored.exists()
    view = build_desk(engine).show(ref)
    assert view.customer.startswith("erased-")
    assert "description" not in view.fields
    assert all("alice@example.com" not in e[3] for e in view.events)
    assert view.attachments == ()
    # the same person writing again is a new customer with no history
    assert "aucune demande" in chat.say("/tickets")
    # an agent cannot write to someone who is gone; closing still works, silently
    for write in (build_desk(engine).reply, build_desk(engine).ask, build_desk(engine).propose):
        with pytest.raises(CustomerErased):
            write(ref, "lea", "Bonjour ?")
    build_desk(engine).close(ref, "lea")
    assert engine.outbox.take("test", "alice") == []


def test_retention_anonymises_old_closed_tickets(
    chat: Chat, clock: Clock, engine: Engine, photo
) -> None:  # type: ignore[no-untyped-def]
    ref = file_request(chat, photo)
    build_desk(engine).close(ref, "Sam", "Réglé")
    jobs = Jobs(engine.tickets, engine.sessions, JobSettings(retention_days=30))
    jobs.tick()
    assert "description" in build_desk(engine).show(ref).fields
    clock.now += timedelta(days=31)
    jobs.tick()
    view = build_desk(engine).show(ref)
    assert "description" not in view.fields and view.attachments == ()


def test_message_rate_limit(chat: Chat, clock: Clock) -> None:
    for _ in range(20):
        chat.say("ou est ma facture")
    assert "très vite" in chat.say("ou est ma facture")
    clock.now += timedelta(minutes=1, seconds=1)
    assert "Mon compte > Commandes" in chat.say("ou est ma facture")


def test_ticket_creation_limit(chat: Chat, clock: Clock) -> None:
    for i in range(5):
        chat.press("flow:human-agent")
        chat.say(f"Besoin d'aide numéro {i}")
        assert "SAV-" in chat.press("confirm")
        clock.now += timedelta(minutes=5)
    chat.press("flow:human-agent")
    chat.say("Encore une demande")
    assert "maximum" in chat.press("confirm")
    clock.now += timedelta(days=1)
    assert "SAV-" in chat.press("confirm")  # the summary was kept: nothing to retype


def test_unanswered_questions_are_kept_without_personal_data(chat: Chat, engine: Engine) -> None:
    chat.say("mon mail alice@example.com et mon tel 06 12 34 56 78, cmd 123456789, et la meteo ?")
    with engine.sessions() as db:
        [kept] = db.query(UnansweredQuestion).all()
    assert "alice@example.com" not in kept.text and "06 12" not in kept.text
    assert "123456789" not in kept.text and "<email>" in kept.text


def test_a_database_error_never_shows_what_was_written(engine: Engine) -> None:
    row = {"channel": "test", "external_id": "bob", "name": "bob.martin@example.com"}
    with engine.sessions.begin() as db:
        db.execute(insert(Customer), [row])
    with pytest.raises(IntegrityError) as raised, engine.sessions.begin() as db:
        db.execute(insert(Customer), [row])  # the same customer twice: refused
    assert "bob.martin@example.com" not in str(raised.value)  # what logs would carry


def test_forget_keeps_a_file_another_customer_sent_too(  # type: ignore[no-untyped-def]
    chat: Chat, new_chat: Callable[..., Chat], engine: Engine, photo
) -> None:
    file_request(chat, photo)
    bob = new_chat("bob")
    bob_ref = file_request(bob, photo)  # the very same photo: one stored copy
    carol = new_chat("carol")
    carol.press("flow:other-request")
    carol.say("Profil vendeur")
    carol.say("Une photo de mon profil.")
    carol.say("Rien pour l'instant.")
    carol.say(files=(photo,))  # carol is still in her flow: the file is hers too
    with engine.sessions() as db:
        stored = Path(engine.tickets.get(db, bob_ref).attachments[0].path or "")
    chat.send("/forget")
    chat.press("forget:yes")
    assert stored.is_file()  # bob's ticket still has its photo
    bob.send("/forget")
    bob.press("forget:yes")
    assert stored.is_file()  # carol's request in progress still needs it
    carol.say("terminé")
    assert "SAV-" in carol.press("confirm")
    carol.send("/forget")
    carol.press("forget:yes")
    assert not stored.exists()  # nobody needs it any more


def test_a_card_number_never_reaches_a_ticket(chat: Chat, engine: Engine) -> None:
    chat.say("/agent")
    warned = chat.say("ma CB 4970 1012 3456 7890 a été débitée deux fois")
    assert "masqué le numéro de carte" in warned and "•••• 7890" in warned
    ref = next(w.strip(".,()") for w in chat.press("confirm").split() if w.startswith("SAV-"))
    assert "masqué" in chat.say("l'autre carte : 4111111111111111")
    events = " ".join(e[3] for e in build_desk(engine).show(ref).events)
    assert "•••• 7890" in events and "•••• 1111" in events
    assert "4970 1012" not in events and "4111111111111111" not in events
    assert "masqué" not in chat.say("ma commande 123456789 et le suivi 12345678901234")


def test_forget_can_be_confirmed_in_words(chat: Chat, new_chat) -> None:  # type: ignore[no-untyped-def]
    chat.say("/forget")
    assert "rien n'a été effacé" in chat.say("non")
    chat.say("/forget")
    assert "Mon compte > Commandes" in chat.say("ou est ma facture")  # not an answer to it
    assert "effacées" not in chat.say("oui")  # the question is no longer pending
    chat.say("/forget")
    chat.say("/start")  # another command in between: the question is no longer pending
    assert "effacées" not in chat.say("oui")
    chat.say("/forget")
    assert "effacées" in chat.say("oui, effacez tout")


def test_a_yes_in_a_flow_answers_the_flow_not_a_forgotten_forget(chat: Chat) -> None:
    chat.press("flow:dispute")
    chat.say("123456789")  # "Avez-vous déjà écrit au vendeur ?" (yes/no)
    chat.say("/forget")
    answered = chat.say("oui")
    assert "effacées" not in answered and "?" in answered  # the flow's next question


def test_agent_notices_nobody_took_do_not_outlive_retention(
    chat: Chat, clock: Clock, engine: Engine, photo
) -> None:  # type: ignore[no-untyped-def]
    file_request(chat, photo)
    jobs = Jobs(engine.tickets, engine.sessions, JobSettings(retention_days=30))
    clock.now += timedelta(hours=42)  # the deadline nears: an alert waits for the agents
    jobs.tick()
    assert ["proche" in _text(n) for _, n in _waiting(engine)] == [True]
    clock.now += timedelta(days=31)  # no agent group ever took it
    jobs.tick()
    assert ["proche" in _text(n) for _, n in _waiting(engine)] == [False]  # the new alert


def _text(notice: Notice) -> str:
    return getattr(notice.action, "text", "")


def _waiting(engine: Engine) -> list[tuple[int, Notice]]:
    outbox, found = engine.outbox, []
    for chat in outbox.notice_chats():
        while claimed := outbox.claim_notice(chat):
            found.append(claimed)
            outbox.release(claimed[0])
            break
    return found
