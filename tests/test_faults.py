"""Faults: the database going away, input a person should never have sent."""

from __future__ import annotations

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from conftest import Chat
from supportbot.engine import Engine


def test_database_away_then_back(chat: Chat, engine: Engine) -> None:
    chat.press("flow:order-problem")
    working = engine.sessions
    engine.sessions = sessionmaker(
        create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", pool_pre_ping=False)
    )
    assert "Réessayez dans un instant" in chat.say("123456789")
    engine.sessions = working
    # nothing was half-stored: the same question is asked again and the answer now lands
    chat.say("123456789")
    assert "choice:damaged" in chat.buttons


def test_very_long_message_is_cut_and_said(chat: Chat) -> None:
    answer = chat.say("facture " * 2000)
    assert "très long" in answer


def test_control_and_invisible_characters(chat: Chat) -> None:
    answer = chat.say("ou\u200b est\x00 ma\u200d fac\u00adture\x07")
    assert "Mon compte > Commandes" in answer


def test_emoji_only_and_rtl_text_get_an_honest_answer(chat: Chat) -> None:
    assert "pas sûr d'avoir compris" in chat.say("😡😡😡")
    assert "pas sûr d'avoir compris" in chat.say("أين فاتورتي")


def test_markup_and_sql_are_plain_text(chat: Chat, engine: Engine) -> None:
    chat.press("flow:other-request")
    chat.say("<b>Sujet</b>'); DROP TABLE tickets;--")
    chat.say("<script>alert(1)</script> *gras* _italique_ [lien](http://x)")
    chat.say("rien")
    chat.say("passer")
    done = chat.press("confirm")
    assert "SAV-" in done
    with engine.sessions() as db:
        [ticket] = engine.tickets.search(db)
        assert ticket.fields["subject"].startswith("<b>Sujet</b>'); DROP TABLE")
        assert ticket.fields["description"].startswith("<script>")
