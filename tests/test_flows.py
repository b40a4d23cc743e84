"""Every catalog flow end to end through the engine, with refusals, back, skip, cancel, resume."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from conftest import Chat, Clock
from supportbot.app import build_desk, build_engine
from supportbot.config import Settings
from supportbot.content import Content
from supportbot.engine import Engine
from supportbot.messages import IncomingFile, Reply
from supportbot.routing import Router
from supportbot.store import Ticket
from supportbot.tickets import TicketService


def tickets(engine: Engine) -> list[Ticket]:
    with engine.sessions() as db:
        rows = list(engine.tickets.search(db))
        for t in rows:
            _ = (t.attachments, t.events, t.customer)
        return rows


def reference_in(text: str) -> str:
    return next(w.strip(".,") for w in text.split() if w.startswith("SAV-"))


def test_order_problem_damaged_parcel_to_ticket(chat: Chat, engine: Engine, photo) -> None:  # type: ignore[no-untyped-def]
    assert "numéro de commande" in chat.say("Mon colis est arrivé cassé").lower()
    noted = chat.say("n° 123 456 789")  # "cassé" already answered "what is the problem"
    assert "J'ai noté « Type de problème » : Article abîmé" in noted and "Quand" in noted
    assert "Quel est le problème" in chat.say("question précédente")  # back on the noted question
    assert "choice:damaged" in chat.buttons
    chat.press("choice:damaged")  # the customer confirms it
    chat.say("hier")
    assert "skip" in chat.buttons  # tracking is optional
    chat.say("passer")
    chat.say("La figurine est arrivée cassée en deux dans un carton écrasé.")
    assert "skip" not in chat.buttons  # photos are required for a damaged item
    assert "au moins 1" in chat.say("terminé")
    chat.say(files=(photo,))
    assert "adresse e-mail" in chat.say("terminé")  # optional: to be told of each step
    summary = chat.say("passer")
    assert "Récapitulatif" in summary and "123456789" in summary and "Article abîmé" in summary
    done = chat.press("confirm")
    ref = reference_in(done)
    [ticket] = tickets(engine)
    assert ticket.reference == ref
    assert ticket.order_number == "123456789"
    assert ticket.fields["problem_kind"] == "damaged"
    assert ticket.fields["order_date"] == "2026-11-23"
    assert "tracking" not in ticket.fields
    assert len(ticket.attachments) == 1 and ticket.attachments[0].checksum
    assert ticket.status == "received" and ticket.category == "order"
    assert chat.agent_notes and chat.agent_notes[0].ticket_reference == ref


def test_answers_people_give_that_are_not_the_expected_shape(chat: Chat, photo) -> None:  # type: ignore[no-untyped-def]
    assert "Aucune demande n'est en cours" in chat.say("back")  # nothing to go back to
    chat.press("flow:order-problem")
    kept = chat.say(files=(photo,))  # a file where a number is expected: kept for later
    assert "je garde ce fichier" in kept and "numéro de commande" in kept
    chat.say("c'est la commande 123456789")
    chat.press("choice:damaged")
    chat.say("hier")
    assert "skip" in chat.buttons
    # "pas de suivi" at the optional tracking step: skipped, not "invalid tracking number"
    assert "Décrivez le problème" in chat.say("pas de suivi")
    chat.say("La figurine est arrivée cassée en deux.")
    expected = chat.say("voici")  # text where files are expected: the kinds, in words
    assert "les photos (JPEG" in expected


def test_late_parcel_points_to_delivery_page_first(chat: Chat) -> None:
    chat.press("flow:order-problem")
    chat.say("123456789")
    assert "Livraison et expédition" in chat.press("choice:late")


def test_refusals_re_ask_the_same_question(chat: Chat) -> None:
    chat.press("flow:order-problem")
    refusal = chat.say("12")
    assert "6 à 12 chiffres" in refusal and "numéro de commande" in refusal.lower()
    chat.say("123456789")
    assert "Je n'ai pas reconnu ce choix" in chat.say("banane")
    chat.press("choice:other")
    assert "futur" in chat.say("demain")
    assert "deux ans" in chat.say("01/01/2020")
    assert "pas compris cette date" in chat.say("42")
    assert "suivi" in chat.say("12/11")
    assert "ne semble pas valide" in chat.say("AB")


def test_a_question_asked_in_a_flow_is_answered_then_the_flow_goes_on(chat: Chat) -> None:
    chat.press("flow:order-problem")
    answer = chat.say("c quoi le délai de rétractation ?")
    assert "14 jours" in answer  # the FAQ answer...
    assert "Reprenons votre demande" in answer and "numéro de commande" in answer.lower()
    assert "Quel est le problème" in chat.say("123456789")  # ...and the same step goes on
    assert "Je n'ai pas reconnu ce choix" in chat.say("banane")  # not a question: asked again


def test_a_question_on_another_topic_at_a_description_is_answered_not_recorded(
    chat: Chat, engine: Engine
) -> None:
    chat.press("flow:gdpr-request")
    chat.say("suppression")
    assert "quelles données" in chat.say("marie.dupont@example.org")
    answer = chat.say("attendez, avant que tout disparaisse : je télécharge où mes factures ?")
    assert "Mon compte > Commandes" in answer  # the invoice answer...
    assert "Reprenons votre demande" in answer and "quelles données" in answer  # ...asked again
    chat.say("Je veux que mon compte et toutes mes données soient effacés.")
    summary = chat.say("")
    assert "toutes mes données" in summary and "factures" not in summary


def test_a_description_that_ends_with_a_question_is_still_the_description(chat: Chat) -> None:
    chat.press("flow:order-problem")
    chat.say("123456789")
    chat.say("abîmé")
    chat.say("hier")
    assert "décrivez" in chat.say("pas de suivi").lower()
    told = "le carton était écrasé et la figurine est en morceaux, que dois-je faire ?"
    assert "photos" in chat.say(told).lower()  # recorded: the next question comes


def test_back_goes_to_previous_question_and_a_new_answer_replaces_it(chat: Chat) -> None:
    chat.press("flow:return-refund")
    chat.say("123456789")
    back = chat.say("question précédente")
    assert "numéro de commande" in back.lower()
    chat.say("987654321")
    chat.say("hier")
    chat.press("choice:changed_mind")
    chat.say("passer")  # photos
    chat.say("passer")  # return tracking
    summary = chat.say("passer")  # description
    assert "987654321" in summary and "123456789" not in summary


def test_correcting_one_answer_from_the_summary_keeps_the_others(chat: Chat) -> None:
    for line in ("qqn s'est connecté à mon compte", "a@b.fr", "hier soir"):
        chat.say(line)
    assert "Récapitulatif" in chat.say("j'ai reçu une alerte de connexion")
    chat.say("question précédente")
    back = chat.say("question précédente")
    assert "Réponse actuelle : 23/11/2026 20:00" in back and "keep" in chat.buttons
    assert "Réponse actuelle : a@b.fr" in chat.say("question précédente")
    summary = chat.say("emma@gmail.com")  # the one to fix: the rest is still there
    assert "Récapitulatif" in summary and "emma@gmail.com" in summary
    assert "alerte de connexion" in summary and "a@b.fr" not in summary
    chat.say("question précédente")
    assert "Récapitulatif" in chat.press("keep")  # kept as it was


def test_cancel_at_any_time_creates_nothing(chat: Chat, engine: Engine) -> None:
    chat.press("flow:dispute")
    chat.say("123456789")
    assert "annulé" in chat.say("annuler")
    assert tickets(engine) == []
    # and the bot answers questions again
    assert "Mon compte > Commandes" in chat.say("ou est ma facture")


def test_cannot_skip_a_required_question(chat: Chat) -> None:
    chat.press("flow:gdpr-request")
    assert "nécessaire" in chat.say("passer")


@pytest.mark.parametrize(
    ("days", "verdict", "phrase"),
    [
        (0, "legal", "reçu l'article aujourd'hui : vous êtes dans le délai légal"),
        (1, "legal", "reçu l'article hier"),
        (
            14,
            "legal",
            "il y a 14 jours : vous êtes dans le délai légal de rétractation de 14 jours",
        ),
        (15, "commercial", "fenêtre commerciale de 30 jours"),
        (30, "commercial", "fenêtre commerciale de 30 jours"),
        (31, "expired", "au-delà"),
    ],
)
def test_return_eligibility_edges(
    chat: Chat, clock: Clock, days: int, verdict: str, phrase: str
) -> None:
    received = (clock.now - timedelta(days=days)).strftime("%d/%m/%Y")
    chat.press("flow:return-refund")
    chat.say("123456789")
    notice = chat.say(received)
    assert phrase in notice
    chat.press("choice:changed_mind")
    chat.say("passer")
    chat.say("passer")
    chat.say("passer")
    chat.press("confirm")
    [ticket] = tickets(chat.engine)
    assert ticket.fields["eligibility"] == verdict


def test_return_beyond_window_can_still_be_filed(chat: Chat, engine: Engine) -> None:
    chat.press("flow:return-refund")
    chat.say("123456789")
    chat.say("01/09/2026")
    chat.press("choice:defect")
    assert "nécessaire" in chat.say("passer")  # photos required for a defect


def test_dispute_without_contacting_seller_ends_without_ticket(chat: Chat, engine: Engine) -> None:
    chat.press("flow:dispute")
    chat.say("123456789")
    advice = chat.press("choice:no")
    assert "vendeur" in advice and "messagerie" in advice
    assert tickets(engine) == []


def test_dispute_complete_names_address_and_mediator(chat: Chat, engine: Engine, photo) -> None:  # type: ignore[no-untyped-def]
    chat.press("flow:dispute")
    chat.say("123456789")
    chat.say("oui")
    chat.say("12/11")
    chat.say("J'ai écrit trois fois au vendeur, il refuse tout remboursement malgré les photos.")
    chat.say(files=(photo,))
    chat.say("terminé")
    chat.say("passer")
    done = chat.press("confirm")
    assert "info@3dworksprints.fr" in done and "CM2C" in done
    assert len(tickets(engine)) == 1


def test_seller_still_has_time_gives_exact_return_moment(chat: Chat, engine: Engine) -> None:
    # Tuesday 24/11/2026 11:00 Paris; last message Monday 23/11 18:00 -> Wednesday 25/11 18:00
    chat.press("flow:seller-unresponsive")
    chat.say("123456789")
    answer = chat.say("hier à 18h")
    assert "mercredi 25 novembre 2026 à 18:00" in answer
    assert tickets(engine) == []


def test_seller_silent_long_enough_creates_ticket(chat: Chat, engine: Engine, photo) -> None:  # type: ignore[no-untyped-def]
    chat.press("flow:seller-unresponsive")
    chat.say("123456789")
    chat.say("16/11/2026 10:00")
    chat.say(files=(photo,))
    chat.say("terminé")
    acknowledged = chat.press("confirm")
    assert "sous 48 h ouvrées, avant le" in acknowledged  # the page's promise, said
    [ticket] = tickets(engine)
    assert ticket.category == "seller"


def test_one_day_said_twice_at_a_date_and_time_question_is_that_day(chat: Chat) -> None:
    # Tuesday 24/11/2026: "lundi dernier" and "le 23 novembre" are one day
    chat.press("flow:seller-unresponsive")
    chat.say("123456789")
    answer = chat.say("lundi dernier, le 23 novembre vers 18h")
    assert "mercredi 25 novembre 2026 à 18:00" in answer


def test_files_sent_early_answer_their_question(chat: Chat, photo: IncomingFile) -> None:
    """A photo sent before its question is there when it comes: said, and "skip" or
    "nothing else" moves on, as "done" does."""
    chat.say("ma commande 123456789 est arrivée cassée")
    assert "je garde ce fichier" in chat.say(files=(photo,)).lower()
    chat.say("le 20/11")
    chat.say("passer")
    asked = chat.say("le vase est fendu en deux")
    assert "J'ai déjà 1 fichier(s) de votre part" in asked
    assert "E-mail" in chat.say("passer") or "e-mail" in chat.last[-1].text


def test_account_security_advice_first_and_high_priority(chat: Chat, engine: Engine) -> None:
    intro = chat.press("flow:account-security")
    assert "mot de passe" in intro and "double authentification" in intro
    assert "mail" in chat.say("pas une adresse")
    chat.say("alice@example.com")
    chat.say("hier soir")
    chat.say("Quelqu'un s'est connecté depuis un autre pays et a changé mon adresse.")
    chat.press("confirm")
    [ticket] = tickets(engine)
    assert ticket.priority == "high" and ticket.fields["email"] == "alice@example.com"


def test_gdpr_request_is_due_in_one_month(chat: Chat, engine: Engine, clock: Clock) -> None:
    chat.press("flow:gdpr-request")
    chat.say("supprimer mes données")
    chat.say("alice@example.com")
    chat.say("Je souhaite la suppression de toutes mes données personnelles.")
    acknowledged = chat.press("confirm")
    assert "sous un mois (délai légal du RGPD)" in acknowledged
    [ticket] = tickets(engine)
    assert ticket.fields["request_kind"] == "erasure"
    assert ticket.due_at is not None
    assert ticket.due_at.astimezone(clock.now.tzinfo).date().isoformat() == "2026-12-24"


def test_other_request_and_human_agent(chat: Chat, engine: Engine) -> None:
    chat.press("flow:other-request")
    chat.say("Question sur mon profil vendeur")
    chat.say("Je ne peux pas modifier ma photo de profil depuis hier.")
    chat.say("J'ai vidé le cache et essayé un autre navigateur.")
    chat.say("passer")
    chat.press("confirm")
    answer = chat.say("/agent")
    assert "phrase" in answer.lower() or "besoin" in answer.lower()
    chat.say("Je veux parler à quelqu'un de mon dossier")
    handoff = chat.press("confirm")
    assert "conseiller" in handoff
    relayed = chat.say("vous êtes là ?")
    assert "transmis" in relayed
    categories = sorted(t.category for t in tickets(engine))
    assert categories == ["human", "other"]


def test_second_request_on_same_order_goes_onto_open_ticket(chat: Chat, engine: Engine) -> None:
    for _ in range(2):
        chat.press("flow:return-refund")
        chat.say("123456789")
        chat.say("hier")
        chat.press("choice:changed_mind")
        chat.say("passer")
        chat.say("passer")
        chat.say("passer")
        last = chat.press("confirm")
    assert "déjà une demande ouverte" in last
    [ticket] = tickets(engine)
    assert [e.kind for e in ticket.events] == ["created", "merged"]
    merged = build_desk(engine).show(ticket.reference).events[-1][3]
    assert "reason: changed_mind" in merged  # the agent sees what the customer answered


def test_resume_after_restart_with_same_database(
    settings: Settings, clock: Clock, content: Content, matcher: Router
) -> None:
    first = Chat(build_engine(settings, clock=clock, content=content, matcher=matcher))
    first.press("flow:order-problem")
    first.say("123456789")
    # the process dies; a new engine starts on the same database
    second = Chat(build_engine(settings, clock=clock, content=content, matcher=matcher))
    again = second.say("/start")
    assert "Reprenons" in again and "problème" in again.lower()
    assert "choice:damaged" in second.buttons
    assert "quand avez-vous passé cette commande" in second.press("choice:damaged").lower()


def test_choice_by_number_and_by_words(chat: Chat) -> None:
    chat.press("flow:order-problem")
    chat.say("123456789")
    assert "commande" in chat.say("2").lower()  # second choice: damaged -> next is order date
    chat.say("question précédente")
    assert "quand" in chat.say("pas recu").lower()


def test_file_kind_and_size_are_checked(chat: Chat, tmp_path, photo) -> None:  # type: ignore[no-untyped-def]
    chat.press("flow:other-request")
    chat.say("Sujet de test")
    chat.say("Une description suffisamment longue.")
    chat.say("Rien encore.")
    voice = IncomingFile(name="note.ogg", mime="audio/ogg", size=1000)
    refused = chat.say(files=(voice,))
    assert "n'est pas accepté" in refused and "les photos (JPEG" in refused
    big = IncomingFile(name="big.jpg", mime="image/jpeg", size=25 * 1024 * 1024)
    assert "trop lourd" in chat.say(files=(big,))
    assert "1/" in chat.say(files=(photo,))
    again = chat.say(files=(photo,))  # the same photo sent twice
    assert "déjà joint" in again and "2/" not in again


def test_ticket_due_in_business_hours(engine: Engine) -> None:
    assert isinstance(engine.tickets, TicketService)
    start = datetime.fromisoformat("2026-12-24T10:00:00+01:00")
    assert engine.tickets.calendar.add(start, 48).isoformat() == "2026-12-29T10:00:00+01:00"


def test_new_chat_helper(new_chat: Callable[..., Chat]) -> None:
    bob = new_chat("bob")
    assert "Bonjour bob" in bob.say("/start")


@pytest.mark.parametrize(
    "asks", ["je veux parler a un humain", "/agent", "payload:flow:human-agent"]
)
def test_asking_for_a_person_mid_flow_hands_over_what_was_said(
    chat: Chat, engine: Engine, asks: str
) -> None:
    chat.say("probleme commande")
    chat.say("123456789")
    said = (
        chat.press(asks.removeprefix("payload:")) if asks.startswith("payload:") else chat.say(asks)
    )
    assert "Je vous passe à un conseiller" in said
    assert "Problème avec une commande · Numéro de commande : 123456789" in said
    done = chat.press("confirm")
    ref = reference_in(done)
    assert "Je transmets à un conseiller" in done
    view = build_desk(engine).show(ref)
    assert view.category == "human" and view.order_number == "123456789"


def test_a_request_for_a_person_knows_the_order_it_names(chat: Chat, engine: Engine) -> None:
    chat.say("/agent")
    chat.say("Ma commande 123 456 789 est bloquée depuis 10 jours")
    done = chat.press("confirm")
    ref = reference_in(done)
    assert build_desk(engine).show(ref).order_number == "123456789"


def test_a_customer_stuck_on_a_question_is_offered_a_person(chat: Chat) -> None:
    chat.say("colis pas recu")
    assert "flow:human-agent" not in chat.buttons and "nécessaire" in chat.say("je sais pas")
    stuck = chat.say("je trouve pas mon numero de commande")
    assert "« Parler à un humain » transmet" in stuck and "flow:human-agent" in chat.buttons
    assert "Je vous passe à un conseiller" in chat.press("flow:human-agent")
    assert "C'est annulé" in chat.say("quitter")  # one of the ways people say "stop"
    assert "Mon compte > Commandes" in chat.say("ou est ma facture")


def test_the_order_named_in_the_first_message_is_not_asked_again(chat: Chat) -> None:
    started = chat.say("je veux signaler un problème avec ma commande 123456789")
    assert "J'ai noté « Numéro de commande » : 123456789" in started
    assert "Quel est votre numéro de commande" not in started
    assert "Quel est votre numéro de commande" in chat.say(
        "question précédente"
    )  # corrected if wrong


def test_no_photo_or_not_yet_skips_an_optional_step(chat: Chat) -> None:
    chat.press("flow:return-refund")
    for answer in ("123456789", "hier"):
        chat.say(answer)
    chat.press(chat.buttons[0])  # a reason
    steps = []
    while "Récapitulatif" not in (said := chat.say("pas encore renvoyé")) and len(steps) < 6:
        steps.append(said)
    assert "Récapitulatif" in said
    assert not any("ne semble pas valide" in s for s in steps)


def test_a_parcel_that_never_came_is_not_asked_for_photos(chat: Chat) -> None:
    for answer in ("colis jamais recu", "123456789", "12/11", "passer"):
        chat.say(answer)
    chat.say("le colis devait arriver le 15 et rien depuis")
    summary = chat.say("passer")  # no e-mail
    assert "Récapitulatif" in summary and "photos" not in summary.lower()


def test_changing_ones_mind_mid_flow_is_offered_with_the_order_kept(chat: Chat) -> None:
    chat.say("probleme commande")
    chat.say("123456789")
    offer = chat.say("en fait je veux plutot faire un retour")  # at "what is the problem"
    assert "« Retour ou remboursement »" in offer
    assert chat.buttons == ["switch:return-refund", "resume"]
    assert "Quel est le problème" in chat.press("resume")  # nothing done behind their back
    chat.say("en fait je veux plutot faire un retour")
    switched = chat.press("switch:return-refund")
    assert "J'ai noté « Numéro de commande » : 123456789" in switched
    assert "À quelle date avez-vous reçu l'article" in switched


def test_a_long_story_keeps_its_beginning_instead_of_being_thrown_away(chat: Chat) -> None:
    chat.press("flow:human-agent")
    story = "Le colis est arrivé ouvert et la figurine était cassée. " * 60  # ~3,400
    kept = chat.say(story)
    assert "j'en garde les 2000 premiers" in kept and "Récapitulatif" in kept
    assert "Le colis est arrivé ouvert" in kept


def test_a_photo_sent_early_is_kept_for_the_photo_question(
    chat: Chat, engine: Engine, photo
) -> None:  # type: ignore[no-untyped-def]
    for line in ("Mon colis est arrivé cassé", "123456789", "hier", "passer"):
        chat.say(line)
    early = chat.say(files=(photo,))  # at the description, before the photos question
    assert (
        "je garde ce fichier pour la question « Photos, vidéos ou documents » (1 en tout)" in early
    )
    assert "Décrivez le problème" in early  # the current question comes back
    chat.say("La figurine est arrivée cassée en deux.")
    assert "done" in chat.buttons  # the photos question already has its file
    chat.say("terminé")
    chat.say("passer")
    chat.press("confirm")
    [ticket] = tickets(engine)
    assert len(ticket.attachments) == 1


def test_a_phone_number_or_a_date_is_never_taken_for_the_order(chat: Chat) -> None:
    started = chat.say("ma commande n'est jamais arrivée, appelez-moi au 06 12 34 56 78")
    assert "J'ai noté « Numéro de commande »" not in started
    assert "Quel est votre numéro de commande" in started
    chat.say("annuler")
    dated = chat.say("ma commande passée le 12/11/2026 est arrivée cassée")
    assert "J'ai noté « Numéro de commande »" not in dated
    chat.say("annuler")
    named = chat.say("n° 123456789 jamais reçu")
    assert "J'ai noté « Numéro de commande » : 123456789" in named


def test_handing_over_keeps_the_photos_already_sent(chat: Chat, engine: Engine, photo) -> None:  # type: ignore[no-untyped-def]
    for line in ("Mon colis est arrivé cassé", "123456789", "hier", "passer"):
        chat.say(line)
    chat.say("La figurine est arrivée cassée en deux.")
    chat.say(files=(photo,))  # at the photos question
    assert "Je vous passe à un conseiller" in chat.say("je veux parler a un humain")
    chat.press("confirm")
    [ticket] = tickets(engine)
    assert ticket.category == "human" and len(ticket.attachments) == 1


def test_a_stolen_or_never_arrived_parcel_is_an_order_problem(chat: Chat) -> None:
    assert "Problème avec une commande" in chat.say("mon paquet a été volé")
    chat.say("annuler")
    started = chat.say("ma commande 123456789 n'est jamais arrivée")
    assert "J'ai noté « Type de problème » : En retard ou non reçue" in started


def test_an_english_summary_writes_dates_the_english_way(new_chat) -> None:  # type: ignore[no-untyped-def]
    eve = new_chat("eve", "en")
    for line in ("my order 123456789 never arrived", "12/11", "skip"):
        eve.say(line)
    eve.say("It was due on the 15th and nothing came since then.")
    summary = eve.say("skip")  # no e-mail
    assert "Order date: 12 Nov 2026" in summary  # "10/11/2026" reads as 11 October there


def test_small_talk_in_a_flow_is_answered_and_is_not_a_wrong_answer(chat: Chat) -> None:
    chat.say("colis pas recu")
    assert "assistant automatique" in chat.say("vous êtes un robot ?")
    thanked = chat.say("merci")
    assert thanked.startswith("Avec plaisir") and "numéro de commande" in thanked
    assert "Parler à un humain" not in thanked  # two of these are not "stuck"


def test_agreeing_at_the_summary_says_how_to_send_it(chat: Chat) -> None:
    chat.press("flow:human-agent")
    assert "Récapitulatif" in chat.say("Une question sur mon compte")
    said = chat.say("merci")  # thanks are no sending: it says how to send
    assert "Avec plaisir" not in said and "confirmer" in said.lower()
    assert "SAV-" in chat.say("d'accord")  # a natural yes is one
    chat.say("/menu")
    chat.press("flow:human-agent")  # a sentence naming a language is no request to switch
    assert "Récapitulatif" in chat.say("La notice livrée est en anglais au lieu du français")


def test_one_answer_is_fixed_from_the_summary_without_retyping_the_others(chat: Chat) -> None:
    for line in ("je veux retourner ma commande 123456789", "hier"):
        chat.say(line)
    chat.press(chat.buttons[0])  # a reason
    for _ in range(3):
        summary = chat.say("passer")
    assert "« corriger » pour changer une réponse" in summary
    chat.say("non")
    assert all(b.startswith("edit:") for b in chat.buttons[:-1]) and chat.buttons[-1] == "cancel"
    date_step = next(b for b in chat.buttons if "date" in b)
    assert "Réponse actuelle" in chat.press(date_step)
    fixed = chat.say("le 20")
    assert "Récapitulatif" in fixed and "20/11/2026" in fixed and "123456789" in fixed


# -- found by a QA pass ----------------------------------------------------------


def test_a_delay_told_in_a_return_is_no_receipt_date_and_the_order_problem_is_offered(
    chat: Chat,
) -> None:
    chat.say("je souhaite être remboursé")
    offer = chat.say("toujours rien, mon paquet est en retard depuis une semaine")
    assert "Date de réception" not in offer
    assert "switch:order-problem" in chat.buttons  # the right request, offered
    chat.press("resume")
    asked = chat.say("123456789")
    assert "délai légal" not in asked and "À quelle date avez-vous reçu" in asked


def test_a_wait_is_never_noted_as_the_date_the_item_came(chat: Chat) -> None:
    chat.say("je souhaite être remboursé")
    chat.say("123456789")
    said = chat.say("je l'ai pas encore reçu cela fait 8 jours")
    assert "délai légal" not in said and "À quelle date avez-vous reçu" in said


def test_a_double_charge_starts_the_order_problem_request(chat: Chat) -> None:
    started = chat.say("ma banque a prélevé deux fois le prix de mon achat")
    assert "Problème avec une commande" in started
    noted = chat.say("123456789")
    assert "Autre problème" in noted


def test_a_contact_email_is_asked_and_one_typed_at_the_summary_fixes_it(
    chat: Chat, engine: Engine
) -> None:
    for line in ("colis jamais recu", "123456789", "12/11", "passer"):
        chat.say(line)
    assert "adresse e-mail" in chat.say("Rien n'est arrivé depuis la commande.")
    assert "Récapitulatif" in chat.say("passer")
    fixed = chat.say("vous pouvez m'écrire à marie.l@exemple.fr")
    assert "marie.l@exemple.fr" in fixed and "Récapitulatif" in fixed
    chat.press("confirm")
    [ticket] = tickets(engine)
    assert ticket.fields["contact_email"] == "marie.l@exemple.fr"


def test_a_pdf_proof_is_taken_where_documents_make_sense(chat: Chat, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "releve.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"0" * 512)
    pdf = IncomingFile(
        name="releve.pdf", mime="application/pdf", size=path.stat().st_size, path=str(path)
    )
    for line in ("probleme commande", "123456789", "autre problème", "12/11", "passer"):
        chat.say(line)
    asked = chat.say("Le montant a été pris deux fois sur mon compte.")
    assert "PDF" in asked
    assert "n'est pas accepté" not in chat.say(files=(pdf,))


def test_retour_typed_in_a_request_is_not_going_back(chat: Chat) -> None:
    chat.say("probleme commande")
    chat.say("123456789")
    said = chat.say("retour")  # a product return: that request is offered
    assert "C'est déjà la première question" not in said
    assert "Quel est votre numéro de commande" not in said
    assert "switch:return-refund" in chat.buttons
    chat.press("resume")
    labels = [b.label for r in chat.last if isinstance(r, Reply) for b in r.buttons]
    assert "Question précédente" in labels  # the back button says what it does
    assert "Quel est votre numéro de commande" in chat.say("question précédente")


def test_a_request_told_as_a_story_is_offered_as_its_description(chat: Chat) -> None:
    """The first message told what happened: the description question shows it, to keep
    with one button or to replace by typing; a short request is asked as usual."""
    chat.language = "en"
    asked = chat.say(
        "Under the GDPR I request access to all personal data you hold about me. "
        "Account email: tom.h@protonmail.com"
    )
    assert "You already wrote it" in asked and "all personal data you hold" in asked
    assert "keep" in chat.buttons
    summary = chat.press("keep")
    assert "Request details: Under the GDPR I request access" in summary

    other = Chat(chat.engine, "short", "en")
    asked = other.say("I want to return my order 987654320, I got it 3 days ago")
    other.press("choice:changed_mind")
    assert "You already wrote it" not in other.say("skip")


def test_a_description_typed_over_the_story_replaces_it(chat: Chat, photo: IncomingFile) -> None:
    told = chat.say(
        "bonjour, ma commande 554433220 est arrivée hier avec le vase fendu sur toute la "
        "hauteur et le carton écrasé"
    )
    assert "Vous me l'avez déjà écrit" not in told  # the order date comes first
    chat.say("le 20/11")
    shown = chat.say("pas de suivi")
    assert "Vous me l'avez déjà écrit" in shown and "vase fendu" in shown
    chat.say("le vase est fendu du haut en bas")
    chat.say(files=(photo,))
    chat.say("terminé")
    assert "Description : le vase est fendu du haut en bas" in chat.say("passer")
