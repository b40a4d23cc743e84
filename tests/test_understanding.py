"""What customers mean, in their own words: one reading per message (acts and values),
acted on by the flows, the summary and the requests after they are filed.

Each test is a kind of failure seen on the blind sets' dev half, written anew here
(never a copy of an eval case)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from conftest import Chat, Clock
from supportbot.app import build_desk
from supportbot.content import ContentError, load_content
from supportbot.engine import Engine
from supportbot.fields import DateParser
from supportbot.lexicon import SHIPPED_LEXICON, Act, load_lexicon
from supportbot.messages import IncomingFile
from supportbot.store import Ticket
from supportbot.understanding import Understanding

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime.fromisoformat("2026-11-24T10:00:00+00:00")


@pytest.fixture(scope="module")
def understanding() -> Understanding:
    return Understanding(load_lexicon(SHIPPED_LEXICON), DateParser())


def tickets(engine: Engine) -> list[Ticket]:
    with engine.sessions() as db:
        rows = list(engine.tickets.search(db))
        for ticket in rows:
            _ = ticket.attachments  # loaded while the session is open
        return rows


def to_description(chat: Chat) -> None:
    """A damaged parcel reported up to the question that asks to describe it."""
    chat.say("ma commande 987654320 est arrivée abîmée")
    chat.say("13/11")
    chat.say("passer")


def to_summary(chat: Chat, photo: IncomingFile) -> str:
    """A damaged parcel reported up to its summary."""
    to_description(chat)
    chat.say("Le vase est fendu sur toute la hauteur.")
    chat.say(files=(photo,))
    chat.say("terminé")
    return chat.say("passer")  # no contact e-mail


# -- the reading itself ------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "act"),
    [
        ("bon ben finalement c'est réglé, vous pouvez annuler", Act.CANCEL),
        ("non oubliez ça, laissez tomber", Act.CANCEL),
        ("forget it, I don't need it anymore", Act.CANCEL),
        ("oui tout est correct", Act.CONFIRM),
        ("yep looks good", Act.CONFIRM),
        ("no that's not right", Act.DENY),
        ("je n'ai pas eu de numéro de suivi", Act.NOTHING),
        ("ok c'est tout pour les photos", Act.DONE),
        ("est-ce que vous avez du nouveau sur mon dossier", Act.STATUS),
    ],
)
def test_acts_are_read_inside_sentences(
    understanding: Understanding, message: str, act: Act
) -> None:
    assert act in understanding.read(message, NOW).acts


def test_a_word_that_only_looks_like_an_act_is_not_one(understanding: Understanding) -> None:
    assert (
        Act.CANCEL not in understanding.read("mon colis est arrêté au dépôt depuis lundi", NOW).acts
    )
    assert Act.CONFIRM not in understanding.read("c'est pas bon du tout", NOW).acts


def test_values_are_found_anywhere_and_a_denied_one_is_marked(
    understanding: Understanding,
) -> None:
    meaning = understanding.read("désolé c'est la 112233445 et pas la 112233446", NOW)
    assert [(f.value, f.negated) for f in meaning.order_numbers] == [
        ("112233445", False),
        ("112233446", True),
    ]
    dated = understanding.read("je l'ai eu il y a trois jours, suivi 6A98765432101", NOW)
    assert [d.moment.date().isoformat() for d in dated.dates] == ["2026-11-21"]
    assert [t.value for t in dated.trackings] == ["6A98765432101"]
    assert understanding.read("je mets 3 sur 5", NOW).rating == 3
    assert understanding.read("four stars, quick answer", NOW).rating == 4


# -- in a flow ---------------------------------------------------------------


def test_a_correction_in_words_at_the_summary_changes_the_answer(
    chat: Chat, engine: Engine, photo: IncomingFile
) -> None:
    to_summary(chat, photo)
    fixed = chat.say("oups je me suis trompé, c'est 987654321 et pas 987654320")
    assert "987654321" in fixed and "Récapitulatif" in fixed
    chat.say("oui")
    [ticket] = tickets(engine)
    assert ticket.order_number == "987654321"


def test_naming_the_answer_to_fix_goes_to_it(chat: Chat, photo: IncomingFile) -> None:
    to_summary(chat, photo)
    assert "Quand avez-vous passé" in chat.say("la date")
    back = chat.say("le 14/11")
    assert "14/11/2026" in back and "Récapitulatif" in back  # the other answers are kept


@pytest.mark.parametrize("yes", ["oui tout est bon", "ok vous pouvez envoyer", "c'est parfait"])
def test_a_natural_yes_at_the_summary_files_the_request(
    chat: Chat, engine: Engine, photo: IncomingFile, yes: str
) -> None:
    to_summary(chat, photo)
    assert "SAV-" in chat.say(yes)
    assert len(tickets(engine)) == 1


def test_stopping_in_a_sentence_stops(chat: Chat, engine: Engine) -> None:
    chat.say("ma commande 987654320 est arrivée abîmée")
    assert "annul" in chat.say("bon finalement c'est réglé, laissez tomber").lower()
    chat.say("je veux faire un retour")
    chat.say("987654320")
    assert "annul" in chat.say("non oubliez, je n'en ai plus besoin").lower()
    assert tickets(engine) == []


def test_values_inside_sentences_are_taken(chat: Chat) -> None:
    chat.say("ma commande 987654320 est arrivée abîmée")
    assert "numéro de suivi" in chat.say("je l'avais commandée le 10 novembre")
    assert "Décrivez" in chat.say("j'ai jamais eu de numéro de suivi")


def test_a_choice_in_sms_french_is_read(chat: Chat) -> None:
    chat.say("je veux renvoyer un article")
    chat.say("987654320")
    chat.say("reçu il y a 5 jours")
    assert "photos" in chat.say("la couleur correspond pas a la photo de l'annonce")


def test_a_correction_typed_at_the_next_question_is_taken(chat: Chat, engine: Engine) -> None:
    chat.say("ma commande 987654320 est arrivée abîmée")
    chat.say("le 12/11")
    fixed = chat.say("ah non pardon c'était le 11/11 pas le 12/11")
    assert "11/11/2026" in fixed and "numéro de suivi" in fixed  # same question again
    again = chat.say("en fait la commande c'est 987654329")
    assert "987654329" in again and "numéro de suivi" in again


def test_facts_given_with_an_answer_are_not_asked_again(chat: Chat) -> None:
    chat.say("je veux faire un retour")
    noted = chat.say("commande 987654320, reçue il y a 4 jours")
    assert "Pour quelle raison" in noted  # the receipt date was not asked


def test_a_photo_sent_with_a_caption_before_its_question_is_kept(
    chat: Chat, photo: IncomingFile
) -> None:
    chat.say("ma commande 987654320 est arrivée abîmée")
    kept = chat.say("voilà la photo du carton", files=(photo,))
    assert "Quand avez-vous passé" in kept
    chat.say("13/11")
    chat.say("passer")
    chat.say("Le vase est fendu.")
    assert "done" in chat.buttons  # the photo is there already: "terminé" is enough
    chat.say("terminé")
    assert "1 fichier(s) (photo.jpg)" in chat.say("passer")


def test_facts_in_a_first_message_start_the_request_they_describe(chat: Chat) -> None:
    reply = chat.say("commande 987654320 passée le 10/11 toujours pas arrivée, suivi bloqué")
    assert "Problème avec une commande" in reply


# -- after the request is filed ------------------------------------------------


def _filed(chat: Chat, engine: Engine) -> str:
    chat.say("je veux parler à un humain")
    chat.say("mon colis 987654320 n'avance plus")
    chat.say("confirmer")
    [ticket] = tickets(engine)
    return ticket.reference


def test_asking_where_it_stands_is_not_the_awaited_answer(chat: Chat, engine: Engine) -> None:
    ref = _filed(chat, engine)
    build_desk(engine).ask(ref, "lea", "Avez-vous une photo de l'étiquette ?")
    listing = chat.say("du nouveau sur mon dossier ?")
    assert ref in listing
    [ticket] = tickets(engine)
    assert ticket.status == "info_requested"


def test_a_rating_in_words_after_closing(chat: Chat, engine: Engine, clock: Clock) -> None:
    ref = _filed(chat, engine)
    build_desk(engine).close(ref, "lea", "Colis retrouvé.")
    assert "note" in chat.say("je dirais 4 sur 5, un peu lent mais résolu").lower()
    [ticket] = tickets(engine)
    assert ticket.rating == 4


# -- the words are data ----------------------------------------------------------


def test_a_broken_lexicon_names_its_file_entry_and_field(tmp_path: Path) -> None:
    for folder in ("faq", "flows", "scope"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    (tmp_path / "lexicon").mkdir()
    text = (SHIPPED_LEXICON / "fr.yaml").read_text(encoding="utf-8")
    (tmp_path / "lexicon" / "fr.yaml").write_text(
        text.replace("  cancel: [", "  cancel: [on, "), encoding="utf-8"
    )
    with pytest.raises(ContentError, match=r"lexicon/fr.yaml: entry 'acts', field 'cancel.0'"):
        load_content(tmp_path)


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("oui", "yes"),
        ("Ouais", "yes"),
        ("yes", "yes"),
        ("oui je lui ai écrit avant-hier", "yes"),
        ("non", "no"),
        ("pas encore", "no"),
        ("NO", "no"),
        ("non jamais", "no"),
        ("peut-être", None),
        ("oui et non", None),
    ],
)
def test_yes_or_no(understanding: Understanding, typed: str, value: str | None) -> None:
    assert understanding.read(typed, NOW).yes_or_no == value


def test_an_order_named_in_a_message_not_understood_offers_its_request(chat: Chat) -> None:
    offer = chat.say("pour la commande 987654320, le montant me paraît bizarre")
    assert "987654320" in offer and "flow:order-problem" in chat.buttons
    started = chat.press("flow:order-problem")
    assert "J'ai noté « Numéro de commande » : 987654320" in started


def test_yes_to_an_offered_request_starts_it_with_what_was_said(chat: Chat) -> None:
    chat.say("comment contacter un vendeur qui ne répond pas ?")
    assert "flow:seller-unresponsive" in chat.buttons
    started = chat.say("oui je veux le relancer, commande 987654320")
    assert "J'ai noté « Numéro de commande » : 987654320" in started


def test_of_two_dates_the_one_said_with_the_question_s_words_answers_it(chat: Chat) -> None:
    chat.press("flow:order-problem")
    chat.say("987654320 commandée le 10/11, reçue cassée le 16/11")
    reply = chat.press("choice:damaged")
    assert "« Date de commande » : 10/11/2026" in reply  # not the day it came broken
    other = chat.say("/cancel")
    assert other
    first = chat.say("ma commande 987654321 reçue hier est arrivée cassée")
    assert "Quand avez-vous passé" in first  # a receipt date is no order date


def test_an_earlier_choice_corrected_in_words_is_changed(chat: Chat, engine: Engine) -> None:
    chat.say("je voudrais faire effacer mes données personnelles")
    chat.say("jeanne@example.fr")
    fixed = chat.say("oups non, je veux pas les effacer, je veux juste y accéder")
    assert "« Type de demande » : Accès à mes données" in fixed
    assert "Précisez" in fixed  # the same question again, nothing taken as the details


def test_a_fact_for_a_later_question_is_kept_for_it(chat: Chat) -> None:
    assert "choice:erasure" in (chat.press("flow:gdpr-request") and chat.buttons)
    kept = chat.say("my account email is jo@example.com by the way")
    assert "Noted for later" in kept
    assert "Give the details" in chat.press("choice:erasure")  # the e-mail is not asked


def test_a_yes_or_no_is_what_the_sentence_opens_with(understanding: Understanding) -> None:
    said = understanding.read("no I haven't written to them, deal with it yourselves", NOW)
    assert said.yes_or_no == "no"


def test_a_rating_out_of_five_in_words(understanding: Understanding) -> None:
    assert understanding.read("slow but done, I'd say three out of five", NOW).rating == 3


def test_a_photo_sent_before_any_request_is_kept_for_it(
    chat: Chat, engine: Engine, photo: IncomingFile
) -> None:
    kept = chat.say(files=(photo,))
    assert "gardé votre fichier" in kept
    chat.say("ma commande 987654320 est arrivée cassée")
    chat.say("13/11")
    chat.say("passer")
    chat.say("Le vase est fendu.")
    assert "done" in chat.buttons  # the photo is there already
    chat.say("terminé")
    chat.say("passer")
    chat.say("oui")
    [ticket] = tickets(engine)
    assert len(ticket.attachments) == 1


def test_a_correction_at_a_free_text_question_is_not_the_text(chat: Chat) -> None:
    to_description(chat)
    fixed = chat.say("ah et le numéro c'est 987654329 pas 987654320")
    assert "987654329" in fixed and "Décrivez" in fixed


def test_naming_an_answer_with_its_new_value_at_the_summary(chat: Chat) -> None:
    chat.say("je veux faire un retour")
    chat.say("987654320")
    chat.say("reçu il y a 5 jours")
    chat.press("choice:changed_mind")
    chat.say("passer")
    chat.say("passer")
    chat.say("Je n'en veux plus.")
    fixed = chat.say("non le motif c'est plutôt que c'est pas conforme")
    assert "« Motif » : Non conforme à l'annonce" in fixed and "Récapitulatif" in fixed


def test_asking_for_a_person_in_words_mid_request_hands_over(chat: Chat) -> None:
    to_description(chat)
    handed = chat.say("est-ce que je peux parler à quelqu'un svp")
    assert "conseiller" in handed.lower()


def test_a_date_said_with_the_question_s_words_later_corrects_it(chat: Chat) -> None:
    chat.say("ma commande 987654320 est arrivée abîmée")
    chat.say("il y a 3 semaines")
    fixed = chat.say("commandée le 13/11 en vrai")  # at the tracking question
    assert "13/11/2026" in fixed
    same = chat.say("le colis est resté bloqué depuis le 20/11")  # a date in passing
    assert "Corrigé" not in same and "C'est corrigé" not in same


def test_a_bare_yes_takes_up_the_request_offered(chat: Chat) -> None:
    chat.say("comment contacter un vendeur qui ne répond pas ?")
    assert "123456789" in chat.say("yes please")  # its first question: the order number


def test_an_ok_that_opens_a_plan_of_their_own_takes_nothing_up(chat: Chat) -> None:
    """After an answer that offers a request, "ok allons-y" takes it up; "ok je vais
    attendre encore un peu alors" is their own plan: acknowledged, nothing started."""
    chat.say("comment contacter un vendeur qui ne répond pas ?")
    assert "123456789" in chat.say("ok allons-y")
    other = Chat(chat.engine, "patient")
    other.say("comment contacter un vendeur qui ne répond pas ?")
    reply = other.say("ok je vais lui laisser un peu de temps alors")
    assert "Très bien" in reply and "123456789" not in reply


@pytest.mark.parametrize(
    "leave", ["nvm", "no forget it, it came today", "i dont need this anymore"]
)
def test_leaving_a_request_in_english_words(chat: Chat, engine: Engine, leave: str) -> None:
    chat.language = "en"
    chat.say("my parcel arrived broken")
    assert "cancel" in chat.say(leave).lower()
    assert tickets(engine) == []


def test_words_at_an_optional_files_question_move_on(chat: Chat) -> None:
    chat.say("je veux faire un retour")
    chat.say("987654320")
    chat.say("reçu il y a 5 jours")
    chat.press("choice:changed_mind")  # photos are optional for a change of mind
    moved = chat.say("pas de numéro de suivi pour l'instant")  # about the next question
    assert "suivi du retour" not in moved and "Récapitulatif" not in moved


def test_a_follow_up_question_is_read_with_the_one_before(chat: Chat) -> None:
    first = chat.say("existe-t-il un médiateur de la consommation si le litige dure ?")
    assert "CM2C" in first
    again = chat.say("c'est gratuit ? et son adresse ?")
    assert "CM2C" in again and "75017" in again


def test_telling_what_was_done_is_not_a_correction(chat: Chat) -> None:
    chat.say("quelqu'un s'est connecté à mon compte")
    chat.say("lea@example.fr")
    chat.say("hier vers 22h")
    told = chat.say("j'ai changé mon mot de passe ce matin, une commande a été passée hier soir")
    assert "corrigé" not in told


@pytest.mark.parametrize(("said", "stars"), [("great, thx a lot. 5 stars", 5), ("2/5 meh", 2)])
def test_ratings_as_people_write_them(understanding: Understanding, said: str, stars: int) -> None:
    assert understanding.read(said, NOW).rating == stars


@pytest.mark.parametrize(
    "polite", ["ok found it thanks", "cheers, bye", "super merci, bonne journée"]
)
def test_thanks_in_a_few_more_words_get_a_polite_word(chat: Chat, polite: str) -> None:
    assert "pas sûr" not in chat.say(polite) and "not sure" not in chat.say(polite)


def test_a_complaint_naming_a_kind_of_order_problem_is_not_the_catch_all(chat: Chat) -> None:
    started = chat.say("je voudrais déposer une réclamation, l'objet est fendu")
    assert "Problème avec une commande" in started


def test_at_the_summary_saying_an_answer_is_wrong_with_the_right_one_fixes_it(
    chat: Chat, photo: IncomingFile
) -> None:
    chat.language = "en"
    chat.say("my order 987654320 arrived broken")
    chat.say("nov 12")
    chat.say("skip")
    chat.say("The vase is cracked.")
    chat.say(files=(photo,))
    chat.say("done")
    chat.say("skip")
    fixed = chat.say("the date is wrong, it was nov 11")
    assert "11 Nov 2026" in fixed and "Summary" in fixed


def test_words_once_the_photos_are_there_answer_the_next_question(
    chat: Chat, photo: IncomingFile
) -> None:
    chat.language = "en"
    chat.say("I want to return my order 987654320, I got it 3 days ago")
    chat.press("choice:defect")
    chat.say(files=(photo,))
    moved = chat.say("no return tracking yet, I have not shipped it")
    assert "useful details" in moved  # photos done, no tracking: the next question


def test_an_offered_request_survives_a_side_question(chat: Chat) -> None:
    offer = chat.say("pour la commande 987654320, le montant me paraît bizarre")
    assert "flow:order-problem" in chat.buttons and offer
    chat.say("au fait, où je trouve ma facture ?")  # answered on the way
    started = chat.say("oui c'est bon, allez-y pour la commande")
    assert "J'ai noté « Numéro de commande » : 987654320" in started


def test_thanks_after_an_offer_take_nothing_up(chat: Chat) -> None:
    chat.say("vous avez combien de jours pour un retour sur votre site ?")
    assert "flow:return-refund" in chat.buttons
    assert "numéro de commande" not in chat.say("ok merci c'est clair")


def test_a_long_message_that_says_to_send_it_at_the_summary_files_it(
    chat: Chat, engine: Engine, photo: IncomingFile
) -> None:
    to_summary(chat, photo)
    said = "bon j'ai vérifié mes mails entre temps et tout colle, allez-y envoyez la demande"
    assert "SAV-" in chat.say(said)
    assert len(tickets(engine)) == 1


def test_a_long_message_that_only_agrees_at_the_summary_does_not_file_it(
    chat: Chat, engine: Engine, photo: IncomingFile
) -> None:
    to_summary(chat, photo)
    chat.say("ok je comprends mais je voudrais encore réfléchir à ce que je vais écrire")
    assert tickets(engine) == []


def test_naming_a_kind_of_problem_takes_up_the_request_offered(chat: Chat) -> None:
    chat.say("pour la commande 987654320, le montant me paraît bizarre")
    assert "flow:order-problem" in chat.buttons
    started = chat.say("autre problème, un montant étrange")
    assert "987654320" in started and "Autre problème" in started  # the answer is kept
    assert "passé cette commande" in started  # and the next question comes


def test_a_general_question_while_an_agent_handles_the_request_is_answered(
    chat: Chat, engine: Engine
) -> None:
    ref = _filed(chat, engine)
    build_desk(engine).reply(ref, "lea", "Je regarde votre dossier avec le transporteur.")
    answered = chat.say("en attendant, c'est combien de jours le délai de rétractation ?")
    assert "14 jours" in answered and ref in answered  # the answer, and the agent stays
    assert not chat.agent_notes  # not passed on
    relayed = chat.say("le colis est bloqué au dépôt depuis lundi selon le suivi")
    assert ref in relayed and chat.agent_notes  # a message for the agent: passed on


def test_a_question_while_the_agent_waits_for_an_answer_goes_to_the_agent(
    chat: Chat, engine: Engine
) -> None:
    ref = _filed(chat, engine)
    build_desk(engine).ask(ref, "lea", "Le colis est-il encore en transit ?")
    said = chat.say("c'est quoi le délai de rétractation déjà ?")
    assert "14 jours" in said and ref in said  # answered by the pages, and passed on
    [ticket] = tickets(engine)
    # a question is not the information asked for: the request still waits for it
    assert ticket.status == "info_requested"
    assert any("rétractation" in str(event) for event in build_desk(engine).show(ref).events)


def test_a_value_given_ahead_and_then_corrected_keeps_the_correction(chat: Chat) -> None:
    chat.say("je veux exercer mes droits sur mes données personnelles")
    chat.say("mon adresse c'est jeanne.roux@free.fr")  # ahead of its question: kept
    chat.say("ah non pardon, c'est jeanne.roux@orange.fr l'adresse du compte")
    chat.say("effacement")
    summary = chat.say("effacer mon compte et mon historique de commandes")
    assert "Récapitulatif" in summary
    assert "jeanne.roux@orange.fr" in summary and "jeanne.roux@free.fr" not in summary


def test_not_knowing_at_an_optional_question_is_nothing_to_give(chat: Chat) -> None:
    chat.say("ma commande 123456780 est arrivée cassée")
    chat.say("commandée le 20/11")
    said = chat.say("jsp, le vendeur m'a jamais envoyé de numero")
    assert "ne semble pas valide" not in said and "Décrivez le problème" in said
