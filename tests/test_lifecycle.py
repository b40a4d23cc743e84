"""Ticket life cycle with a frozen clock: transitions, notifications, SLA pause, jobs, stats."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import Chat, Clock
from supportbot.agents import AgentDesk
from supportbot.app import build_desk
from supportbot.engine import Engine
from supportbot.jobs import Jobs
from supportbot.messages import IncomingFile
from supportbot.stats import compute_stats, group_similar
from supportbot.tickets import InvalidTransition


def human_ticket(
    chat: Chat, need: str = "Ma commande 123456789 est bloquée en production depuis 10 jours"
) -> str:
    chat.say("/agent")
    chat.say(need)
    done = chat.press("confirm")
    return next(w.strip(".,()") for w in done.split() if w.startswith("SAV-"))


def profile_ticket(chat: Chat) -> str:
    """An 'other request' about a profile photo, filed; its reference."""
    chat.press("flow:other-request")
    chat.say("Profil")
    chat.say("Ma photo de profil ne change pas.")
    chat.say("Rien.")
    chat.say("passer")
    return next(w.strip(".,") for w in chat.press("confirm").split() if w.startswith("SAV-"))


def outbox(engine: Engine, user: str = "alice") -> list[str]:
    return [r.text for r in engine.outbox.take("test", user)]


@pytest.fixture
def desk(engine: Engine) -> AgentDesk:
    return build_desk(engine)


def test_each_status_change_reaches_the_customer(
    chat: Chat, engine: Engine, desk: AgentDesk
) -> None:
    ref = human_ticket(chat)
    desk.ask(ref, "Sam", "Pouvez-vous envoyer une photo ?")
    [asked] = outbox(engine)
    assert ref in asked and "informations demandées" in asked and "photo" in asked
    relayed = chat.say("Voici la photo demandée")  # answer in the handoff chat
    assert "transmis au conseiller" in relayed  # said there: no status notice on top
    assert outbox(engine) == []
    desk.propose(ref, "Sam", "Le vendeur renvoie la pièce.")
    [proposed] = engine.outbox.take("test", "alice")
    assert "solution proposée" in proposed.text
    assert [b.payload for b in proposed.buttons] == [f"solution:yes:{ref}", f"solution:no:{ref}"]
    desk.close(ref, "Sam", "Bonne journée")
    closed, rating = engine.outbox.take("test", "alice")
    assert "clôturée" in closed.text
    assert [b.payload for b in rating.buttons][-1] == f"rate:{ref}:5"
    assert "Merci" in chat.press(f"rate:{ref}:4")
    again = chat.press(f"rate:{ref}:1")  # an old star pressed again: the first rating stands
    assert "déjà reçu votre note (4/5)" in again
    view = desk.show(ref)
    kinds = [e[1] for e in view.events]
    assert kinds.count("status") == 4 and kinds.count("rating") == 1


def test_notifications_use_the_customer_language(
    new_chat,
    engine: Engine,  # type: ignore[no-untyped-def]
    desk: AgentDesk,
) -> None:
    eve = new_chat("eve", "en")
    ref = human_ticket(eve, "My order 123456789 has been stuck in production for 10 days")
    desk.ask(ref, "Sam", "Photo please")
    [asked] = outbox(engine, "eve")
    assert "information requested" in asked


def test_forbidden_transition(chat: Chat, desk: AgentDesk) -> None:
    ref = human_ticket(chat)
    desk.close(ref, "Sam")
    with pytest.raises(InvalidTransition):
        desk.ask(ref, "Sam", "trop tard")


def test_an_agent_follows_up_without_going_back_to_received(chat: Chat, desk: AgentDesk) -> None:
    ref = human_ticket(chat)
    desk.propose(ref, "Sam", "Un avoir de 10 €.")
    assert desk.propose(ref, "Sam", "Un avoir de 15 €, finalement.").status == "solution_proposed"
    assert desk.ask(ref, "Sam", "Préférez-vous un remboursement ?").status == "info_requested"
    assert desk.ask(ref, "Sam", "Sur quelle carte ?").status == "info_requested"


def test_words_about_a_proposed_solution_go_back_to_the_agent(
    chat: Chat, engine: Engine, desk: AgentDesk, clock: Clock
) -> None:
    ref = human_ticket(chat)
    desk.propose(ref, "Sam", "Le vendeur a réexpédié.")
    outbox(engine)
    assert "Avec plaisir" in chat.say("merci")  # thanks: a polite word...
    view = desk.show(ref)  # ...and nothing on the ticket (the auto-close still counts)
    assert view.status == "solution_proposed" and view.events[-1][1] == "status"
    assert ref in chat.say("non ça marche pas, le nouveau suivi est invalide")
    assert desk.show(ref).status == "received"  # back with the agent, clock running
    clock.now += timedelta(days=8)
    Jobs(engine.tickets, engine.sessions).tick()
    assert desk.show(ref).status == "received"  # no auto-close: the customer answered


def test_a_question_about_a_proposed_solution_is_the_answer_the_agent_waits_for(
    chat: Chat, engine: Engine, desk: AgentDesk
) -> None:
    ref = human_ticket(chat)
    desk.propose(ref, "Sam", "Le vendeur vous envoie une lampe de remplacement.")
    outbox(engine)
    said = chat.say("hmm c'est possible d'avoir un remboursement plutôt ?")
    assert ref in said and "Délai" not in said  # passed on, not answered by the FAQ
    view = desk.show(ref)
    assert view.status == "received"
    assert any("remboursement plutôt" in str(event) for event in view.events)


def test_customer_accepts_or_rejects_a_solution(
    chat: Chat, engine: Engine, desk: AgentDesk
) -> None:
    ref = human_ticket(chat)
    desk.propose(ref, "Sam", "Remboursement partiel")
    assert "rouverte" in chat.press(f"solution:no:{ref}")
    assert desk.show(ref).status == "received"
    desk.propose(ref, "Sam", "Remboursement total")
    assert "clôture" in chat.press(f"solution:yes:{ref}")
    assert desk.show(ref).status == "closed"


def test_reopen_only_within_the_window(chat: Chat, clock: Clock, desk: AgentDesk) -> None:
    ref = human_ticket(chat)
    desk.close(ref, "Sam")
    clock.now += timedelta(days=8)
    assert "trop longtemps" in chat.press(f"solution:no:{ref}")


def test_forged_ticket_payload_is_refused(chat: Chat, new_chat, desk: AgentDesk) -> None:  # type: ignore[no-untyped-def]
    ref = human_ticket(chat)
    desk.propose(ref, "Sam", "Solution")
    mallory = new_chat("mallory")
    assert "parmi les vôtres" in mallory.press(f"solution:yes:{ref}")
    assert desk.show(ref).status == "solution_proposed"


def test_sla_clock_pauses_while_waiting_on_the_customer(
    chat: Chat, clock: Clock, desk: AgentDesk
) -> None:
    ref = human_ticket(chat)  # Tuesday 24/11 11:00 Paris -> due Thursday 26/11 11:00
    due = desk.show(ref).due_at
    assert due is not None and due.isoformat() == "2026-11-26T10:00:00+00:00"
    desk.ask(ref, "Sam", "Photo ?")
    clock.now += timedelta(days=1)
    desk.ask(ref, "Sam", "Et le numéro de suivi ?")  # a follow-up: the pause goes on
    clock.now += timedelta(days=1)  # Thursday: two business days spent waiting
    chat.say("la voici")
    # 48 business hours were spent waiting: Thursday 11:00 + 48 h -> Monday 30/11 11:00
    new_due = desk.show(ref).due_at
    assert new_due is not None and new_due.isoformat() == "2026-11-30T10:00:00+00:00"


def test_jobs_are_idempotent(chat: Chat, clock: Clock, engine: Engine, desk: AgentDesk) -> None:
    jobs = Jobs(engine.tickets, engine.sessions)
    ref = human_ticket(chat)
    assert jobs.tick() == []
    clock.now += timedelta(hours=42)  # 6 business hours before the due time
    alerts = jobs.tick()
    assert [a.ticket_reference for a in alerts] == [ref]
    assert "proche" in alerts[0].text
    [interim] = outbox(engine)
    assert "forte activité" in interim
    assert jobs.tick() == [] and outbox(engine) == []
    clock.now += timedelta(hours=7)
    [overdue] = jobs.tick()
    assert "dépassée" in overdue.text
    assert jobs.tick() == []


def test_info_reminder_after_three_business_days(
    chat: Chat, clock: Clock, engine: Engine, desk: AgentDesk
) -> None:
    jobs = Jobs(engine.tickets, engine.sessions)
    ref = human_ticket(chat)
    desk.ask(ref, "Sam", "Photo ?")
    outbox(engine)
    clock.now += timedelta(days=2)
    jobs.tick()
    assert outbox(engine) == []
    clock.now += timedelta(days=4)  # Monday: 3 business days have passed (Tue->Fri + Mon)
    jobs.tick()
    [reminder] = outbox(engine)
    assert ref in reminder and "attend toujours" in reminder
    jobs.tick()
    assert outbox(engine) == []


def test_a_follow_up_question_gets_its_own_reminder(
    chat: Chat, clock: Clock, engine: Engine, desk: AgentDesk
) -> None:
    jobs = Jobs(engine.tickets, engine.sessions)
    ref = human_ticket(chat)  # Tuesday
    desk.ask(ref, "Sam", "Photo ?")
    clock.now += timedelta(days=2)  # Thursday
    desk.ask(ref, "Sam", "Et le numéro de suivi ?")  # a follow-up
    outbox(engine)
    clock.now += timedelta(days=4)  # Monday: 3 business days after the first, 2 after this
    jobs.tick()
    assert outbox(engine) == []
    clock.now += timedelta(days=1)  # Tuesday: 3 business days after the follow-up
    jobs.tick()
    [reminder] = outbox(engine)
    assert "attend toujours" in reminder


def test_proposed_solution_closes_after_seven_silent_days(
    chat: Chat, clock: Clock, engine: Engine, desk: AgentDesk
) -> None:
    jobs = Jobs(engine.tickets, engine.sessions)
    ref = human_ticket(chat)
    desk.propose(ref, "Sam", "Un geste commercial")
    clock.now += timedelta(days=6)
    jobs.tick()
    assert desk.show(ref).status == "solution_proposed"
    clock.now += timedelta(days=1, minutes=1)
    jobs.tick()
    jobs.tick()
    assert desk.show(ref).status == "closed"
    assert [e[3] for e in desk.show(ref).events].count("auto_close") == 1


def test_feedback_and_stats_on_a_seeded_store(
    chat: Chat,
    new_chat,
    engine: Engine,  # type: ignore[no-untyped-def]
    clock: Clock,
    desk: AgentDesk,
) -> None:
    chat.say("ou est ma facture")
    assert "fb:down:invoice" in chat.buttons
    chat.press("fb:down:invoice")
    chat.press("faq:withdrawal-right")
    chat.press("fb:up:withdrawal-right")
    bob = new_chat("bob")
    bob.say("combien coutent les frais de port")
    bob.say("combien coute les frais de port ?")
    bob.say("recette de la tarte tatin")
    bob.press("flow:return-refund")
    bob.say("123456789")
    bob.say("annuler")
    ref = human_ticket(chat)
    desk.reply(ref, "Sam", "Je regarde")
    desk.close(ref, "Sam")
    chat.press(f"rate:{ref}:5")
    with engine.sessions() as db:
        stats = compute_stats(db, clock.now)
    assert stats.answered == 2 and stats.tickets_created == 1
    assert stats.deflection == pytest.approx(2 / 3)
    assert stats.unanswered_groups[0][0] == 2 and "port" in stats.unanswered_groups[0][1]
    assert stats.thumbs_down == [("invoice", 1, 0)]
    assert stats.by_category == {"human": 1} and stats.by_status == {"closed": 1}
    assert stats.sla_due == 1 and stats.sla_compliance == 1.0
    assert stats.average_rating == 5
    steps = dict(stats.drop_off["return-refund"])
    assert steps["order_number"] == 1 and steps["received_date"] == 1 and steps["ended"] == 1
    assert "Deflection: 66.7%" in stats.render()


def test_group_similar() -> None:
    groups = group_similar(
        ["frais de port ?", "les frais de port", "carte cadeau", "frais de port"]
    )
    assert sorted(map(len, groups)) == [1, 3]


def test_answer_to_a_request_for_information_lands_on_the_ticket(
    chat: Chat,
    engine: Engine,
    desk: AgentDesk,
    photo,  # type: ignore[no-untyped-def]
) -> None:
    ref = profile_ticket(chat)
    desk.ask(ref, "Sam", "Une capture d'écran ?")
    outbox(engine)
    relayed = chat.send("voici la capture", files=(photo,))
    assert any(getattr(a, "ticket_reference", None) == ref for a in relayed)
    view = desk.show(ref)
    assert view.status == "received"
    assert view.events[-2][3] == "voici la capture"
    assert [a[0] for a in view.attachments] == ["photo.jpg"]
    # the customer goes on in several messages: all of them reach the agent
    chat.send("Bonjour, je précise :")
    chat.send("c'est sur mobile", files=(photo,))
    said = [e[3] for e in desk.show(ref).events if e[1] == "customer_message"]
    assert said[-3:] == ["voici la capture", "Bonjour, je précise :", "c'est sur mobile"]
    # once the ticket is closed, free questions go back to the FAQ
    desk.close(ref, "Sam", "C'est corrigé.")
    assert "Mon compte > Commandes" in chat.say("ou est ma facture")


def test_the_customer_answers_an_agent_reply_in_the_chat(
    chat: Chat, engine: Engine, desk: AgentDesk, clock: Clock
) -> None:
    ref = profile_ticket(chat)
    assert "Mon compte > Commandes" in chat.say("ou est ma facture")  # no agent yet: the FAQ
    desk.reply(ref, "Sam", "Quel navigateur utilisez-vous ?")  # no status change
    outbox(engine)
    assert ref in chat.say("Firefox sur Windows")
    assert desk.show(ref).events[-1][1:] == ("customer_message", "alice", "Firefox sur Windows")
    clock.now += timedelta(days=8)  # the agent has been silent for a week
    assert "Mon compte > Commandes" in chat.say("ou est ma facture")


def test_a_customer_coming_back_on_a_closed_request_reaches_it(
    chat: Chat, engine: Engine, desk: AgentDesk, clock: Clock
) -> None:
    ref = human_ticket(chat)
    desk.close(ref, "Sam", "C'est réglé.")
    outbox(engine)
    assert "Avec plaisir" in chat.say("merci beaucoup !")  # thanks reopen nothing
    assert desk.show(ref).status == "closed" and chat.buttons == []
    # as the closing message asks: quoting the reference reopens it, within the window
    assert ref in chat.say(f"{ref.lower()} j'ai un nouvel élément : le vendeur m'a répondu")
    view = desk.show(ref)
    assert view.status == "received" and view.events[-1][1] == "customer_message"
    desk.close(ref, "Sam")
    clock.now += timedelta(minutes=5)
    desk.reply(ref, "Sam", "Avez-vous reçu le bon de retour ?")  # written after closing
    outbox(engine)
    assert ref in chat.say("toujours pas")  # the answer reaches the ticket
    assert desk.show(ref).events[-1][3] == "toujours pas"
    desk.close(ref, "Sam")
    clock.now += timedelta(days=8)
    assert "trop longtemps" in chat.say(f"{ref} encore un souci")


def test_an_old_closed_request_never_holds_the_customers_messages(
    chat: Chat, engine: Engine, desk: AgentDesk, clock: Clock, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    ref = human_ticket(chat)
    desk.close(ref, "Sam")
    clock.now += timedelta(days=6)
    desk.reply(ref, "Sam", "Un dernier mot : le colis est bien reparti.")  # after closing
    outbox(engine)
    program = tmp_path / "photo.png"
    program.write_bytes(b"MZ" + b"\x00" * 100)
    refused = IncomingFile(name="photo.png", mime="application/octet-stream", size=102)
    assert "n'est pas accepté" in chat.say(files=(refused,))
    assert desk.show(ref).status == "closed"  # a refused file reopens nothing
    clock.now += timedelta(days=2)  # closed 8 days ago: too late to reopen
    assert "Mon compte > Commandes" in chat.say("ou est ma facture")  # the FAQ, not a wall


def test_the_menu_steps_aside_from_the_agent_until_they_write_again(
    chat: Chat, engine: Engine, desk: AgentDesk, clock: Clock
) -> None:
    ref = human_ticket(chat)
    assert ref in chat.say("Et aussi, le colis est lourd")  # to the agent
    assert f"rappelez la référence {ref}" in chat.say("/menu")
    assert "Mon compte > Commandes" in chat.say("ou est ma facture")  # the assistant now
    assert ref in chat.say(f"{ref} : une précision")  # naming the ticket reaches it
    chat.press("menu")
    clock.now += timedelta(minutes=5)
    desk.reply(ref, "Sam", "Quel poids ?")  # the agent writes again...
    outbox(engine)
    assert ref in chat.say("environ 3 kg")  # ...and the answer goes to them
    assert desk.show(ref).events[-1][3] == "environ 3 kg"


def test_the_dispute_file_tells_the_whole_story_and_keeps_notes_inside(
    chat: Chat, engine: Engine, desk: AgentDesk, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from supportbot.export import export_ticket

    ref = human_ticket(chat)
    desk.note(ref, "Sam", "client pressé, vendeur injoignable")
    desk.ask(ref, "Sam", "Avez-vous des photos ?")
    chat.say("Oui :\nle carton était ouvert\net l'objet fendu")
    desk.propose(ref, "Sam", "Un avoir de 15 €.")
    with engine.sessions() as db:
        folder = export_ticket(engine.tickets.get(db, ref), tmp_path, engine.tickets.calendar.tz)
    summary = (folder / "summary.md").read_text(encoding="utf-8")
    assert "- Créé le : 24/11/2026 11:00" in summary  # Paris time, as agents read it
    assert "statut · Sam : received → info_requested · Avez-vous des photos ?" in summary
    assert "info_requested → received" in summary  # the customer's answer moved it back
    assert "message du client · alice : Oui :\n  le carton était ouvert\n  et l'objet" in summary
    assert "client pressé" not in summary  # an internal note stays inside


def test_taking_a_ticket_names_who_handles_it(chat: Chat, desk: AgentDesk) -> None:
    ref = human_ticket(chat)
    assert desk.show(ref).assignee is None
    assert desk.take(ref, "Ann").assignee == "Ann"
    assert desk.take(ref, "Tom").assignee == "Tom"  # a colleague takes over...
    assert desk.show(ref).events[-1][2:] == ("Tom", "taken over from Ann")  # ...and it shows
    assert desk.take(ref, "Tom").events[-1][3] == "taken (already theirs)"


def test_the_agents_deadline_alert_is_in_french_and_true(
    new_chat, engine: Engine, desk: AgentDesk, clock: Clock
) -> None:  # type: ignore[no-untyped-def]
    ref = human_ticket(new_chat("eve", "en"), "My order 123456789 is stuck")
    due = desk.show(ref).due_at
    assert due is not None
    desk.reply(ref, "Sam", "Looking into it.")
    clock.now = due - timedelta(hours=1)
    alerts = [a.text for a in Jobs(engine.tickets, engine.sessions).tick()]
    [near] = [a for a in alerts if "échéance proche" in a]
    assert "jeudi 26 novembre" in near  # the agents' language, not the customer's
    assert "aucune réponse" not in near  # Sam answered


def test_words_can_accept_a_proposal_and_thanks_answer_no_question(
    chat: Chat, engine: Engine, desk: AgentDesk
) -> None:
    ref = human_ticket(chat)
    desk.ask(ref, "Sam", "Pouvez-vous envoyer une photo ?")
    outbox(engine)
    assert "Avec plaisir" in chat.say("merci")
    assert desk.show(ref).status == "info_requested"  # thanks are not the answer
    chat.say("la voici en pièce jointe demain")
    desk.propose(ref, "Sam", "Un avoir de 10 €.")
    outbox(engine)
    assert ref in chat.say("oui ça me va")  # as the "Ça me convient" button
    assert desk.show(ref).status == "closed"


def test_a_yes_is_an_answer_to_the_agent_and_accepts_a_proposal(
    chat: Chat, engine: Engine, desk: AgentDesk, photo
) -> None:  # type: ignore[no-untyped-def]
    ref = human_ticket(chat)
    desk.ask(ref, "Sam", "Confirmez-vous l'adresse 12 rue des Lilas ?")
    outbox(engine)
    assert ref in chat.say("oui")  # the answer goes to the agent...
    view = desk.show(ref)
    assert view.status == "received" and view.events[-2][3] == "oui"  # ...and moves it on
    desk.propose(ref, "Sam", "Un avoir de 10 €.")
    outbox(engine)
    assert ref in chat.say("ok", files=(photo,))  # a file with it is a message, not a yes
    assert desk.show(ref).status == "received"
    desk.propose(ref, "Sam", "Un avoir de 15 €.")
    outbox(engine)
    chat.say("c'est bon ?")  # a question is no yes
    assert desk.show(ref).status == "received"
    desk.propose(ref, "Sam", "Un avoir de 20 €.")
    outbox(engine)
    chat.say("parfait merci")
    assert desk.show(ref).status == "closed"
