"""Quick answers through the engine: the right entry, buttons, honesty when unsure."""

from __future__ import annotations

from pathlib import Path

from conftest import Chat
from supportbot.messages import IncomingFile


def test_invoice_question_with_typos_gets_the_invoice_answer(chat: Chat) -> None:
    answer = chat.say("ou est ma facture")
    assert "Mon compte > Commandes" in answer
    assert "PDF" in answer
    assert "menu" in chat.buttons


def test_english_question_gets_english_answer(new_chat) -> None:  # type: ignore[no-untyped-def]
    chat = new_chat("eve", "en")
    answer = chat.say("how do I get my invoice")
    assert "My account > Orders" in answer


def test_unrelated_question_is_not_answered_at_random(chat: Chat) -> None:
    answer = chat.say("quelle est la recette de la blanquette de veau")
    assert "sort de ce que couvre le Support" in answer  # like "une recette de gateau"
    assert "requests" in chat.buttons and "flow:human-agent" in chat.buttons
    assert "Quel type de demande" in chat.press("requests")  # "Ouvrir une demande": which one
    assert {"flow:order-problem", "flow:return-refund", "flow:other-request"} <= set(chat.buttons)


def test_menu_lists_themes_and_a_theme_lists_its_entries(chat: Chat) -> None:
    chat.say("/menu")
    assert "theme:returns" in chat.buttons
    chat.press("theme:returns")
    assert "faq:withdrawal-right" in chat.buttons
    answer = chat.press("faq:withdrawal-right")
    assert "14 jours" in answer


def test_answer_offers_the_matching_flow(chat: Chat) -> None:
    chat.press("faq:return-window")
    assert "flow:return-refund" in chat.buttons


def test_language_switch(chat: Chat) -> None:
    assert "English" in chat.say("/lang en")
    assert "My account > Orders" in chat.say("where is my invoice")


def test_unknown_command_is_named(chat: Chat) -> None:
    assert "/foo" in chat.say("/foo")


def test_stale_button_outside_a_flow(chat: Chat) -> None:
    assert "ne correspond plus" in chat.press("choice:damaged")


def test_a_greeting_gets_the_welcome_not_an_apology(chat: Chat) -> None:
    for hello in ("Bonjour !", "salut", "hello", "Bonsoir madame"):
        answer = chat.say(hello)
        assert "Bonjour" in answer and "pas sûr" not in answer
        assert "theme:returns" in chat.buttons


def test_the_answer_follows_the_language_the_customer_writes_in(chat: Chat) -> None:
    assert "My account > Orders" in chat.say("hi, where is my invoice?")  # a French chat
    assert "My account > Orders" in chat.say("invoice")  # no clue: it keeps English
    assert "Mon compte > Commandes" in chat.say("ou est ma facture svp")
    assert chat.say("thanks!").startswith("You are welcome")  # short, but clear
    assert chat.say("merci").startswith("Avec plaisir")
    assert not chat.say("ça me va").startswith("I am")  # "me" is French too


def test_a_flow_follows_the_language_the_customer_writes_in(chat: Chat) -> None:
    assert "order number" in chat.say("my package never arrived")  # in a French chat
    assert "numéro de commande" in chat.say("pardon, je préfère en français")
    assert "What is your order number" in chat.say("sorry, I do not speak French")


def test_thanks_and_ok_get_a_polite_word_never_an_faq_entry(chat: Chat, new_chat) -> None:  # type: ignore[no-untyped-def]
    chat.say("ou est ma facture")
    for thanks in ("ok", "ok merci", "Merci beaucoup !", "d'accord", "oui", "parfait", "👍"):
        assert chat.say(thanks).startswith("Avec plaisir !"), thanks
        assert chat.buttons == []  # buttons still waiting (a rating) stay the last ones
    assert "Mon compte > Commandes" in chat.say("ok et ma facture ?")  # a question still is one
    assert new_chat("eve", "en").say("thanks!").startswith("You are welcome!")


def test_tickets_list_uses_the_customers_language(new_chat) -> None:  # type: ignore[no-untyped-def]
    eve = new_chat("eve", "en")
    eve.press("flow:human-agent")
    eve.say("I need help with my order")
    eve.press("confirm")
    listing = eve.say("/tickets")
    assert "Talk to a person · received" in listing  # the flow's English title, not the French


def test_small_talk_gets_an_honest_answer_never_a_random_entry(chat: Chat) -> None:
    for bot in ("vous etes un robot ?", "t'es un bot ou un humain", "est-ce un humain ?"):
        assert "assistant automatique" in chat.say(bot), bot
        assert chat.buttons == ["flow:human-agent", "menu"]
    for angry in ("vous etes nuls", "vous êtes des voleurs !", "c'est n'importe quoi", "connards"):
        assert "désolé" in chat.say(angry) and "flow:human-agent" in chat.buttons, angry
    assert "Bonjour" in chat.say("alors ?") and "Bonjour" in chat.say("il y a quelqu'un ?")
    assert chat.say("are you a robot?").startswith("I am the 3DWorksPrints Support's")
    assert "assistant automatique" not in chat.say("c'est une machine à laver")  # a thing
    assert "assistant automatique" in chat.say("bonjour, vous êtes un robot ?")
    assert "assistant" in chat.say("are you an AI?")  # ("ai" is French too: language kept)
    assert "assistant automatique" not in chat.say("le site est en anglais, je comprends rien")
    assert "assistant automatique" not in chat.say("mais vous êtes un robot en fait")


def test_a_question_marked_out_of_scope_is_said_to_be_so(chat: Chat) -> None:
    for question in ("devenir vendeur", "vous avez un code promo", "je peux payer par chèque"):
        assert "sort de ce que couvre le Support" in chat.say(question), question
    assert "pas sûr d'avoir compris" in chat.say("zorglub flarp")  # not understood is not that


def test_where_is_my_request_lists_the_customers_own(chat: Chat) -> None:
    assert "quatre étapes" in chat.say("ou en est ma demande ?")  # none yet: the FAQ
    chat.press("flow:human-agent")
    chat.say("Une question sur mon compte")
    ref = next(w.strip(".,()") for w in chat.press("confirm").split() if w.startswith("SAV-"))
    chat.press("menu")  # leaves the agent's conversation (see the next test)
    assert f"• {ref} · Parler à un conseiller · reçue" in chat.say("ou en est ma demande ?")


def test_asking_for_a_language_switches_to_it(chat: Chat) -> None:
    assert chat.say("sorry, I don't speak French").startswith("OK, I will answer in English")
    assert "What is your order number" in chat.say("my parcel never arrived")
    assert "numéro de commande" in chat.say("en français svp")  # the same step, in French


def test_asking_for_a_language_as_a_request_switches_to_it(chat: Chat) -> None:
    chat.language = "en"
    switched = chat.say("je ne comprends pas l'anglais, vous pouvez répondre en français ?")
    assert switched.startswith("D'accord, je vous réponds en français")
    assert chat.say("could you please answer in english?").startswith("OK, I will answer")


def test_a_lost_password_points_to_the_contact_page(chat: Chat) -> None:
    said = chat.say("j'ai oublié le mot de passe de mon compte, je fais comment")
    assert "page Contact" in said and "n'ai pas de réponse fiable" not in said


def test_cancelling_an_order_is_honestly_not_answered_and_offers_a_person(chat: Chat) -> None:
    # the support page says nothing on cancelling: no answer made up, a way forward offered
    said = chat.say("ma commande est pas encore partie, comment je l'annule ?")
    assert "pas de réponse fiable" in said and "flow:human-agent" in chat.buttons


def test_asking_whether_the_chat_speaks_english_switches_to_english(chat: Chat) -> None:
    assert "I will answer in English" in chat.say("hi there, can you speak english?")
    assert "My account > Orders" in chat.say("where do I find my invoice")


def test_wanting_an_invoice_typed_loosely_never_starts_a_return(chat: Chat) -> None:
    said = chat.say("jveux la factur de ma commande")
    assert "numéro de commande" not in said  # no request started behind their back
    assert "faq:invoice" in chat.buttons or "Mon compte > Commandes" in said


def test_a_refused_file_is_never_said_to_be_kept(chat: Chat, tmp_path: Path) -> None:
    fake = tmp_path / "fake.jpg"
    fake.write_bytes(b"MZ\x90\x00 not an image at all" * 20)
    # the channel judged the bytes: a program, whatever its name says
    judged = IncomingFile(name="fake.jpg", mime="application/x-msdownload", size=400)
    said = chat.say(files=(judged,))
    assert "fake.jpg" in said and "gardé" not in said
