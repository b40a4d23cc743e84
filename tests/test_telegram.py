"""The Telegram channel, offline: real updates through the real Application.

Each test feeds `Update.de_json` objects, built from the JSON Telegram sends,
to the application `build_application` returns, with a recording request in
place of the network (see telegram_fakes), and reads the Bot API calls made.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, event, func, select
from sqlalchemy.exc import OperationalError
from telegram import Update

from supportbot.channels.telegram import store as tg_store
from supportbot.channels.telegram.app import (
    InvalidTelegramToken,
    build_application,
    run,
    validate_token,
)
from supportbot.channels.telegram.order import ChatOrderedProcessor
from supportbot.channels.telegram.outbound import split_text
from supportbot.config import Settings
from supportbot.engine import Engine
from supportbot.messages import NotifyAgents
from supportbot.outbox import AGENTS
from supportbot.replies import ReplyBook, ReplyTemplate
from supportbot.store import Customer, OutboxMessage, Ticket
from telegram_fakes import AGENT_CHAT, TOKEN, Call, Person, Telegram, picture, texts

ALICE = Person(111, "Alice", "fr")
BOB = Person(222, "Bob", "en")
MARIE = Person(901, "Marie", "fr")  # an agent in the group
MALLORY = Person(666, "Mallory", "fr")  # not an agent
REF = re.compile(r"SAV-\d{4}-[A-Z0-9]{5}")


@pytest.fixture
def telegram_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"telegram_token": TOKEN, "agent_chat_id": AGENT_CHAT})


@pytest.fixture
def tg(engine: Engine, telegram_settings: Settings) -> Telegram:
    return Telegram(engine, telegram_settings)


def play(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def ticket(engine: Engine, ref: str) -> Ticket:
    with engine.sessions() as db:
        row = db.scalar(select(Ticket).where(Ticket.reference == ref))
        assert row is not None
        return row


async def hand_off(tg: Telegram, who: Person = ALICE) -> tuple[str, int]:
    """/agent, a one-line summary, confirm: the ticket's reference and its topic."""
    await tg.send(tg.updates.text(who, "/agent"))
    need = {"en": "I cannot change my delivery address"}.get(
        who.language_code or "fr", "Je n'arrive pas à modifier mon adresse de livraison"
    )  # written in their language: the chat follows the language they write in
    await tg.send(tg.updates.text(who, need))
    calls = await tg.send(tg.updates.press(who, "confirm", "Confirmer et envoyer"))
    found = REF.search(texts(calls, who.id))
    assert found, texts(calls)
    topics = [c for c in calls if c.method == "createForumTopic"]
    assert len(topics) == 1
    thread = ticket(tg.engine, found.group()).agent_thread_id
    assert thread is not None
    return found.group(), thread


async def reach_photo_step(tg: Telegram, who: Person = ALICE) -> None:
    """The order-problem flow up to its photos question."""
    await tg.send(tg.updates.text(who, "je veux signaler un problème avec ma commande"))
    calls = await tg.send(tg.updates.text(who, "123456789"))
    assert "choice:damaged" in calls[-1].buttons
    await tg.send(tg.updates.press(who, "choice:damaged", "Article abîmé"))
    calls = await tg.send(tg.updates.text(who, "hier"))
    assert "skip" in calls[-1].buttons
    await tg.send(tg.updates.press(who, "skip", "Passer"))
    calls = await tg.send(tg.updates.text(who, "La figurine est arrivée cassée en deux."))
    assert "photos" in texts(calls).lower()


def sent_to(calls: list[Call], chat_id: int, thread: int | None = None) -> list[Call]:
    return [
        c
        for c in calls
        if c.method == "sendMessage" and c.chat_id == chat_id and thread in (None, c.thread)
    ]


# -- customers -----------------------------------------------------------------------


def test_start_greets_in_the_customers_language_with_the_topic_menu(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            calls = await tg.send(tg.updates.text(ALICE, "/start"))
            assert [c.method for c in calls] == ["sendChatAction", "sendMessage"]
            assert calls[0].params["action"] == "typing"
            assert "Bonjour Alice" in calls[1].text
            assert "parse_mode" not in calls[1].params
            assert {"theme:orders", "theme:returns", "flow:human-agent"} <= set(calls[1].buttons)
            calls = await tg.send(tg.updates.text(BOB, "/start"))
            assert "Hello Bob" in texts(calls)
            german = Person(333, "Hans", "de")
            assert "Bonjour Hans" in texts(await tg.send(tg.updates.text(german, "/start")))

    play(scenario)


def test_faq_question_gets_its_answer_with_follow_up_buttons(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            calls = await tg.send(tg.updates.text(ALICE, "ou est ma facture"))
            answer = sent_to(calls, ALICE.id)[-1]
            assert "PDF" in answer.text
            assert "menu" in answer.buttons
            assert all(len(data.encode()) <= 64 for data in answer.buttons)
            calls = await tg.send(tg.updates.press(ALICE, "menu", "Menu"))
            assert calls[0].method == "answerCallbackQuery"
            assert "theme:orders" in sent_to(calls, ALICE.id)[-1].buttons

    play(scenario)


def test_commands_reach_the_engine(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            assert "/agent" in texts(await tg.send(tg.updates.text(ALICE, "/help")))
            calls = await tg.send(tg.updates.text(ALICE, "/lang"))
            assert {"lang:fr", "lang:en"} <= set(calls[-1].buttons)
            assert "English" in texts(await tg.send(tg.updates.press(ALICE, "lang:en")))
            assert "request" in texts(await tg.send(tg.updates.text(ALICE, "/tickets"))).lower()
            calls = await tg.send(tg.updates.text(ALICE, "/cancel"))
            assert sent_to(calls, ALICE.id)

    play(scenario)


def test_mydata_arrives_as_a_json_document_and_forget_asks_first(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            calls = await tg.send(tg.updates.text(ALICE, "/mydata"))
            [document] = [c for c in calls if c.method == "sendDocument"]
            assert document.chat_id == ALICE.id
            calls = await tg.send(tg.updates.text(ALICE, "/forget"))
            assert {"forget:yes", "forget:no"} <= set(calls[-1].buttons)

    play(scenario)


def test_order_problem_with_an_album_ends_in_a_ticket_with_its_topic_and_card(
    tg: Telegram, engine: Engine, telegram_settings: Settings
) -> None:
    async def scenario() -> None:
        async with tg.running(start_jobs=True):
            await reach_photo_step(tg)
            before = len(tg.request.calls)
            for n in range(3):
                calls = await tg.send(tg.updates.photo(ALICE, f"ph{n}", group="album-1"))
                assert not sent_to(calls, ALICE.id)  # no reply per photo
            await tg.wait_for(lambda: bool(sent_to(tg.request.calls[before:], ALICE.id)))
            replies = sent_to(tg.request.calls[before:], ALICE.id)
            assert len(replies) == 1
            assert "(3/10)" in replies[0].text
            assert "done" in replies[0].buttons
            assert len(tg.request.named("getFile")) == 3

            calls = await tg.send(tg.updates.press(ALICE, "done", "Terminé"))
            assert "skip" in calls[-1].buttons  # the contact e-mail is optional
            calls = await tg.send(tg.updates.press(ALICE, "skip", "Passer"))
            assert "confirm" in calls[-1].buttons
            calls = await tg.send(tg.updates.press(ALICE, "confirm", "Confirmer et envoyer"))

            found = REF.search(texts(calls, ALICE.id))
            assert found
            ref = found.group()
            topic = next(c for c in calls if c.method == "createForumTopic")
            assert topic.chat_id == AGENT_CHAT
            assert topic.params["name"].startswith(f"[reçue] {ref} ")
            saved = ticket(engine, ref)
            card = sent_to(calls, AGENT_CHAT, saved.agent_thread_id)[0]
            assert ref in card.text and "123456789" in card.text
            assert "Échéance" in card.text
            assert set(card.buttons) == {
                f"agent:{a}:{ref}" for a in ("take", "ask", "propose", "close", "templates")
            }
            album = next(c for c in calls if c.method == "sendMediaGroup")
            assert album.thread == saved.agent_thread_id
            assert len(album.params["media"]) == 3

        with engine.sessions() as db:
            row = db.scalar(select(Ticket).where(Ticket.reference == ref))
            assert row is not None and len(row.attachments) == 3
            assert all(a.checksum and a.file_id for a in row.attachments)
        assert not list((telegram_settings.files_dir / "incoming").iterdir())

    play(scenario)


def album_rows(engine: Engine) -> int:
    """Album photos still waiting in the store for their turn."""
    with engine.sessions() as db:
        return db.scalar(select(func.count()).select_from(tg_store.TelegramAlbumItem)) or 0


def test_album_parts_wait_in_the_store_and_a_late_photo_lands_on_the_same_step(
    engine: Engine, telegram_settings: Settings
) -> None:
    tg = Telegram(engine, telegram_settings, album_delay=0.4)

    async def scenario() -> None:
        async with tg.running(start_jobs=True):
            await reach_photo_step(tg)
            before = len(tg.request.calls)
            await tg.send(tg.updates.photo(ALICE, "a1", group="g1"))
            await tg.send(tg.updates.photo(ALICE, "a2", group="g1", caption="le carton"))
            assert album_rows(engine) == 2
            await tg.wait_for(lambda: bool(sent_to(tg.request.calls[before:], ALICE.id)))
            await tg.wait_for(lambda: album_rows(engine) == 0)  # dropped once its turn ran
            assert "(2/10)" in texts(tg.request.calls[before:], ALICE.id)

            before = len(tg.request.calls)
            await tg.send(tg.updates.photo(ALICE, "a3", group="g1"))  # a straggler
            await tg.wait_for(lambda: bool(sent_to(tg.request.calls[before:], ALICE.id)))
            assert "(3/10)" in texts(tg.request.calls[before:], ALICE.id)

    play(scenario)


def test_an_album_cut_off_after_its_turn_is_not_lost_nor_answered_twice(
    engine: Engine, telegram_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg = Telegram(engine, telegram_settings, album_delay=0.2)

    async def scenario() -> None:
        async with tg.running(start_jobs=True):
            await reach_photo_step(tg)
            crash = monkeypatch.setattr  # the process dies once the turn is stored
            crash(tg_store, "drop_album_items", lambda sessions, ids: None)
            before = len(tg.request.calls)
            await tg.send(tg.updates.photo(ALICE, "b1", group="g2"))
            await tg.send(tg.updates.photo(ALICE, "b2", group="g2"))
            await tg.wait_for(lambda: bool(sent_to(tg.request.calls[before:], ALICE.id)))
            assert album_rows(engine) == 2  # still there: nothing is lost
            monkeypatch.undo()
            answered = len(sent_to(tg.request.calls[before:], ALICE.id))
            customers = tg.app.bot_data["customers"]
            await customers.flush_albums(tg.app.bot, ALICE.id)  # as the restart does
            assert album_rows(engine) == 0
            assert len(sent_to(tg.request.calls[before:], ALICE.id)) == answered  # once

    play(scenario)


def test_a_message_right_after_an_album_never_overtakes_it(
    engine: Engine, telegram_settings: Settings
) -> None:
    tg = Telegram(engine, telegram_settings, album_delay=5.0)

    async def scenario() -> None:
        async with tg.running(start_jobs=True):
            await reach_photo_step(tg)
            await tg.send(tg.updates.photo(ALICE, "b1", group="g2"))
            await tg.send(tg.updates.photo(ALICE, "b2", group="g2"))
            calls = await tg.send(tg.updates.text(ALICE, "terminé"))
            said = sent_to(calls, ALICE.id)
            assert "(2/10)" in said[0].text
            assert "skip" in said[-1].buttons  # the next question: the optional e-mail

    play(scenario)


def test_an_oversized_file_is_refused_without_downloading_it(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            await reach_photo_step(tg)
            big = 30 * 1024 * 1024
            update = tg.updates.document(ALICE, "vid1", "unboxing.mp4", "video/mp4", big)
            calls = await tg.send(update)
            assert not [c for c in calls if c.method == "getFile"]
            assert "trop lourd" in texts(calls, ALICE.id)

    play(scenario)


def test_long_text_is_split_under_telegrams_limit(tg: Telegram, engine: Engine) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, _ = await hand_off(tg)
            paragraph = "Voici le détail de la procédure. " * 40
            tg.desk.reply(ref, "Marie", "\n\n".join([paragraph] * 8))  # from another tool
            calls = await tg.send(tg.updates.text(ALICE, "/tickets"))
            pieces = [c for c in sent_to(calls, ALICE.id) if "procédure" in c.text]
            assert len(pieces) >= 3
            assert all(len(p.text) <= 4096 for p in pieces)

    play(scenario)


def test_split_text_cuts_at_paragraphs_then_lines_then_words() -> None:
    assert split_text("court") == ["court"]
    text = ("a" * 3000) + "\n\n" + ("b" * 3000)
    assert split_text(text) == ["a" * 3000, "b" * 3000]
    words = " ".join(["mot"] * 3000)
    pieces = split_text(words)
    assert all(len(p) <= 4096 for p in pieces)
    assert " ".join(pieces) == words
    assert split_text("x" * 5000) == ["x" * 4096, "x" * 904]


def test_a_429_is_retried_by_the_rate_limiter(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            tg.request.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
            calls = await tg.send(tg.updates.text(ALICE, "/start"))
            attempts = sent_to(calls, ALICE.id)
            assert len(attempts) == 2
            assert attempts[0].text == attempts[1].text

    play(scenario)


def test_a_5xx_from_telegram_is_retried(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            tg.request.fail("sendMessage", 502, "Bad Gateway", times=2)
            calls = await tg.send(tg.updates.text(ALICE, "/start"))
            attempts = sent_to(calls, ALICE.id)
            assert len(attempts) == 3 and attempts[0].text == attempts[2].text
            assert "Bonjour" in attempts[2].text

    play(scenario)


def test_a_message_telegram_refuses_never_blocks_the_ones_after_it(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            tg.request.fail("sendMessage", 400, "Bad Request: can't parse entities")
            refused = await tg.send(tg.updates.text(ALICE, "/start"))
            assert len(sent_to(refused, ALICE.id)) == 1  # tried once: trying again changes nothing
            answered = await tg.send(tg.updates.text(ALICE, "ou est ma facture"))
            assert "Mon compte > Commandes" in texts(answered, ALICE.id)
            assert "Bonjour" not in texts(answered, ALICE.id)  # the refused one is not retried

    play(scenario)


def test_an_agent_command_cut_off_by_a_crash_is_applied_once_when_handled_again(
    tg: Telegram,
) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            close = tg.updates.in_topic(MARIE, thread, "/close Bonne journée")
            await tg.send(close)
            with tg.engine.sessions.begin() as db:  # as a crash before "handled" leaves it
                db.execute(delete(tg_store.TelegramUpdate))
            events = len(tg.desk.show(ref).events)
            again = await tg.send(close)  # re-queued at the next start
            assert "Action impossible" not in texts(again)  # not "closed -> closed"
            assert len(tg.desk.show(ref).events) == events  # applied once
            assert not texts(again, ALICE.id)  # the customer is not told twice

    play(scenario)


def test_a_duplicate_update_is_ignored(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            update = tg.updates.text(ALICE, "ou est ma facture")
            assert sent_to(await tg.send(update), ALICE.id)
            assert await tg.send(update) == []

    play(scenario)


# -- agents ------------------------------------------------------------------------


def test_handoff_opens_a_topic_with_the_card(tg: Telegram, engine: Engine) -> None:
    async def scenario() -> None:
        async with tg.running():
            await tg.send(tg.updates.text(ALICE, "/agent"))
            await tg.send(tg.updates.text(ALICE, "Je n'arrive pas à modifier mon adresse"))
            calls = await tg.send(tg.updates.press(ALICE, "confirm"))
            topic = next(c for c in calls if c.method == "createForumTopic")
            ref = REF.search(topic.params["name"])
            assert ref and topic.params["name"].startswith("[reçue] ")
            thread = ticket(engine, ref.group()).agent_thread_id
            card = sent_to(calls, AGENT_CHAT, thread)[0]
            assert "Alice" in card.text and "modifier mon adresse" in card.text
            assert f"agent:take:{ref.group()}" in card.buttons

    play(scenario)


def test_an_agents_message_is_copied_to_the_customer_and_recorded(
    tg: Telegram, engine: Engine
) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            calls = await tg.send(tg.updates.in_topic(MARIE, thread, "Bonjour, je regarde ça."))
            copy = next(c for c in calls if c.method == "copyMessage")
            assert copy.chat_id == ALICE.id
            assert int(copy.params["from_chat_id"]) == AGENT_CHAT
            assert not sent_to(calls, ALICE.id)  # copied, not re-sent with the agent's name
            events = [event[1:] for event in tg.desk.show(ref).events]  # (kind, author, text)
            assert ("agent_message", "Marie", "Bonjour, je regarde ça.") in events
            # The reply's outbox copy was marked delivered: it is not sent a second time.
            calls = await tg.send(tg.updates.text(ALICE, "/tickets"))
            assert "je regarde" not in texts(calls, ALICE.id)

    play(scenario)


def test_an_anonymous_admin_can_answer_too(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            update = tg.updates.in_topic(MARIE, thread, "Réponse anonyme", anonymous=True)
            calls = await tg.send(update)
            assert [c.chat_id for c in calls if c.method == "copyMessage"] == [ALICE.id]
            events = [event[1:] for event in tg.desk.show(ref).events]
            assert ("agent_message", "agent", "Réponse anonyme") in events

    play(scenario)


def test_what_the_customer_writes_during_handoff_lands_in_the_topic(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            calls = await tg.send(tg.updates.text(ALICE, "C'est la commande 123456789."))
            assert "commande 123456789" in texts(sent_to(calls, AGENT_CHAT, thread))
            assert ref in texts(calls, ALICE.id)  # "message passed to the agent (REF)"
            calls = await tg.send(tg.updates.photo(ALICE, "proof"))
            copied = next(c for c in calls if c.method == "copyMessages")
            assert copied.chat_id == AGENT_CHAT and copied.thread == thread
            assert copied.params["remove_caption"] is True  # posted masked, never copied

    play(scenario)


def test_take_is_noted_in_the_topic_without_bothering_the_customer(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            calls = await tg.send(tg.updates.in_topic(MARIE, thread, "/take"))
            assert "Pris en charge par Marie" in texts(sent_to(calls, AGENT_CHAT, thread))
            assert not sent_to(calls, ALICE.id)
            assert any(e[1] == "note" and e[2] == "Marie" for e in tg.desk.show(ref).events)

    play(scenario)


def test_ask_changes_the_status_tells_the_customer_and_renames_the_topic(
    tg: Telegram,
) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            question = "Pouvez-vous envoyer une photo de l'étiquette ?"
            calls = await tg.send(tg.updates.in_topic(MARIE, thread, f"/ask {question}"))
            told = texts(calls, ALICE.id)
            assert "informations demandées" in told and question in told
            assert tg.desk.show(ref).status == "info_requested"
            rename = next(c for c in calls if c.method == "editForumTopic")
            assert rename.params["name"].startswith(f"[informations demandées] {ref}")
            assert "Demande d'informations envoyée" in texts(sent_to(calls, AGENT_CHAT))

    play(scenario)


def test_propose_then_close_each_notify_the_customer(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            proposal = "Le vendeur vous renvoie l'article."
            calls = await tg.send(tg.updates.in_topic(MARIE, thread, f"/propose {proposal}"))
            assert "solution proposée" in texts(calls, ALICE.id)
            assert proposal in texts(calls, ALICE.id)
            assert tg.desk.show(ref).status == "solution_proposed"
            calls = await tg.send(tg.updates.in_topic(MARIE, thread, "/close Bonne journée"))
            assert "clôturée" in texts(calls, ALICE.id)
            assert tg.desk.show(ref).status == "closed"
            rename = next(c for c in calls if c.method == "editForumTopic")
            assert rename.params["name"].startswith("[clôturée] ")

    play(scenario)


def test_note_stays_internal(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            calls = await tg.send(tg.updates.in_topic(MARIE, thread, "/note Vendeur relancé"))
            assert not [c for c in calls if c.chat_id == ALICE.id]
            assert "Note interne" in texts(sent_to(calls, AGENT_CHAT, thread))
            assert ("note", "Marie", "Vendeur relancé") in [e[1:] for e in tg.desk.show(ref).events]

    play(scenario)


def test_a_command_missing_its_text_or_refused_is_explained_in_the_topic(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            calls = await tg.send(tg.updates.in_topic(MARIE, thread, "/ask"))
            assert "/ask" in texts(sent_to(calls, AGENT_CHAT, thread))
            assert tg.desk.show(ref).status == "received"
            await tg.send(tg.updates.in_topic(MARIE, thread, "/close"))
            calls = await tg.send(tg.updates.in_topic(MARIE, thread, "/propose Trop tard"))
            assert "Action impossible" in texts(sent_to(calls, AGENT_CHAT, thread))
            assert not sent_to(calls, ALICE.id)

    play(scenario)


def test_card_buttons_take_and_close_at_once_and_explain_ask(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            calls = await tg.send(tg.updates.press_in_topic(MARIE, thread, f"agent:take:{ref}"))
            assert calls[0].method == "answerCallbackQuery"
            assert "Pris en charge par Marie" in texts(calls)
            calls = await tg.send(tg.updates.press_in_topic(MARIE, thread, f"agent:ask:{ref}"))
            assert [c.method for c in calls] == ["answerCallbackQuery"]
            assert "/ask" in calls[0].params["text"]
            calls = await tg.send(tg.updates.press_in_topic(MARIE, thread, f"agent:close:{ref}"))
            assert "clôturée" in texts(calls, ALICE.id)
            assert tg.desk.show(ref).status == "closed"

    play(scenario)


def test_outsiders_cannot_act_on_a_ticket(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            other_group = -1009999999999
            calls = await tg.send(tg.updates.in_topic(MALLORY, thread, "/close", other_group))
            assert calls == []
            calls = await tg.send(tg.updates.in_topic(MALLORY, thread, "hello", other_group))
            assert calls == []
            # A forged agent button from a private chat is answered and nothing else.
            forged = tg.updates.press(MALLORY, f"agent:close:{ref}")
            assert [c.method for c in await tg.send(forged)] == ["answerCallbackQuery"]
            # In a private chat, /close is just an unknown command.
            calls = await tg.send(tg.updates.text(MALLORY, f"/close {ref}"))
            assert "/close" in texts(calls, MALLORY.id)
            assert tg.desk.show(ref).status == "received"

    play(scenario)


def test_with_an_allow_list_only_listed_agents_act(
    engine: Engine, telegram_settings: Settings
) -> None:
    listed = telegram_settings.model_copy(update={"agent_user_ids": [MARIE.id]})
    tg = Telegram(engine, listed)

    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            intruder = Person(777, "Intrus", "fr")  # in the group, but not on the list
            assert await tg.send(tg.updates.in_topic(intruder, thread, "/close")) == []
            assert await tg.send(tg.updates.in_topic(intruder, thread, "coucou")) == []
            assert tg.desk.show(ref).status == "received"
            await tg.send(tg.updates.in_topic(MARIE, thread, "/close Réglé"))
            assert tg.desk.show(ref).status == "closed"

    play(scenario)


def test_a_customer_who_blocked_the_bot_is_marked_unreachable_and_agents_are_told(
    tg: Telegram, engine: Engine
) -> None:
    def unreachable() -> bool:
        with engine.sessions() as db:
            customer = db.scalar(select(Customer).where(Customer.external_id == str(ALICE.id)))
            assert customer is not None
            return customer.unreachable

    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            tg.request.fail("copyMessage", 403, "Forbidden: bot was blocked by the user")
            calls = await tg.send(tg.updates.in_topic(MARIE, thread, "Avez-vous reçu le colis ?"))
            assert unreachable()
            assert "bloqué le bot" in texts(sent_to(calls, AGENT_CHAT, thread))
            assert "Avez-vous reçu le colis ?" in [e[3] for e in tg.desk.show(ref).events]

            calls = await tg.send(tg.updates.in_topic(MARIE, thread, "/ask Une photo ?"))
            assert not [c for c in calls if c.chat_id == ALICE.id]
            assert "injoignable" in texts(sent_to(calls, AGENT_CHAT, thread))

            # Back again: reachable, and what waited is delivered.
            calls = await tg.send(tg.updates.text(ALICE, "Me revoilà"))
            assert not unreachable()
            told = texts(calls, ALICE.id)
            assert "Avez-vous reçu le colis ?" in told and "Une photo ?" in told

    play(scenario)


def test_a_403_while_delivering_a_status_change_marks_the_customer(
    tg: Telegram, engine: Engine
) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            tg.request.fail(
                "sendMessage",
                403,
                "Forbidden: bot was blocked by the user",
                when=lambda params: int(params["chat_id"]) == ALICE.id,
            )
            calls = await tg.send(tg.updates.in_topic(MARIE, thread, "/propose Un avoir"))
            assert "bloqué le bot" in texts(sent_to(calls, AGENT_CHAT, thread))
            assert tg.desk.show(ref).status == "solution_proposed"

    play(scenario)


def test_a_closed_topic_is_reopened_and_the_message_goes_through(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            _, thread = await hand_off(tg)
            tg.request.fail(
                "sendMessage",
                400,
                "Bad Request: TOPIC_CLOSED",
                when=lambda params: params.get("message_thread_id") == thread,
            )
            calls = await tg.send(tg.updates.text(ALICE, "Une précision sur ma demande."))
            methods = [c.method for c in calls if c.chat_id == AGENT_CHAT]
            assert methods == ["sendMessage", "reopenForumTopic", "sendMessage"]
            assert "Une précision" in sent_to(calls, AGENT_CHAT, thread)[-1].text

    play(scenario)


def test_a_deleted_topic_is_opened_again_with_the_card(tg: Telegram, engine: Engine) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            tg.request.fail(
                "sendMessage",
                400,
                "Bad Request: message thread not found",
                when=lambda params: params.get("message_thread_id") == thread,
            )
            calls = await tg.send(tg.updates.text(ALICE, "Vous êtes là ?"))
            new_thread = ticket(engine, ref).agent_thread_id
            assert new_thread is not None and new_thread != thread
            assert [c.method for c in calls].count("createForumTopic") == 1
            posted = sent_to(calls, AGENT_CHAT, new_thread)
            assert "Sujet recréé" in posted[0].text and ref in posted[0].text
            assert posted[-1].text == "Vous êtes là ?"

    play(scenario)


def test_racing_notifications_open_a_single_topic(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, _ = await hand_off(tg)
            with tg.engine.sessions.begin() as db:
                row = db.scalar(select(Ticket).where(Ticket.reference == ref))
                assert row is not None
                row.agent_thread_id = None
            room = tg.app.bot_data["customers"].notices.room
            assert room is not None
            before = len(tg.request.calls)
            await asyncio.gather(
                room.notify(tg.app.bot, NotifyAgents(ref, "first")),
                room.notify(tg.app.bot, NotifyAgents(ref, "second")),
            )
            created = [c for c in tg.request.calls[before:] if c.method == "createForumTopic"]
            assert len(created) == 1

    play(scenario)


# -- reply templates -----------------------------------------------------------------


def preview_in(calls: list[Call], thread: int) -> Call:
    """The template preview posted in the topic (the message with Envoyer / Annuler)."""
    [preview] = [c for c in sent_to(calls, AGENT_CHAT, thread) if c.text.startswith("Aperçu")]
    return preview


def test_replies_lists_the_templates_by_name_and_french_title(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            calls = await tg.send(tg.updates.in_topic(MARIE, thread, "/replies"))
            [listing] = sent_to(calls, AGENT_CHAT, thread)
            assert "documents-missing : Pièces manquantes" in listing.text
            assert "mediation : Médiation de la consommation" in listing.text
            assert f"agent:tplshow:{ref}:documents-missing" in listing.buttons
            assert all(len(data.encode()) <= 64 for data in listing.buttons)
            assert not sent_to(calls, ALICE.id)
            # The card's button lists them too, and a listed one opens its preview.
            calls = await tg.send(
                tg.updates.press_in_topic(MARIE, thread, f"agent:templates:{ref}")
            )
            assert sent_to(calls, AGENT_CHAT, thread)[-1].buttons == listing.buttons
            press = tg.updates.press_in_topic(MARIE, thread, f"agent:tplshow:{ref}:mediation")
            preview = preview_in(await tg.send(press), thread)
            assert "CM2C" in preview.text and "en français" in preview.text

    play(scenario)


def test_reply_previews_then_sends_in_the_customers_language_and_records_it(
    tg: Telegram,
) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg, BOB)
            calls = await tg.send(tg.updates.in_topic(MARIE, thread, "/reply documents-missing"))
            preview = preview_in(calls, thread)
            assert "en anglais" in preview.text
            assert "Hello Bob" in preview.text and f"your request {ref}" in preview.text
            assert "Marie, 3DWorksPrints Support" in preview.text
            assert preview.buttons == [f"agent:tpl:{ref}:documents-missing", f"agent:tplno:{ref}"]
            assert not [c for c in calls if c.chat_id == BOB.id]  # nothing sent yet

            send = preview.buttons[0]
            press = tg.updates.press_in_topic(MARIE, thread, send, message_id=preview.message_id)
            calls = await tg.send(press)
            told = texts(calls, BOB.id)
            assert "Hello Bob" in told and "To process your request" in told
            assert "Bonjour" not in told
            [edit] = [c for c in calls if c.method == "editMessageText"]
            assert int(edit.params["message_id"]) == preview.message_id
            assert edit.text.startswith("Envoyé au client par Marie")
            assert "reply_markup" not in edit.params  # the buttons are gone
            events = [event[1:] for event in tg.desk.show(ref).events]
            sent = [
                text
                for kind, author, text in events
                if (kind, author) == ("agent_message", "Marie")
            ]
            assert len(sent) == 1 and sent[0].startswith("Hello Bob")

            # A second press on the same preview sends nothing more.
            again = tg.updates.press_in_topic(MARIE, thread, send, message_id=preview.message_id)
            calls = await tg.send(again)
            assert [c.method for c in calls] == ["answerCallbackQuery"]

    play(scenario)


def test_a_cancelled_preview_sends_nothing(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            calls = await tg.send(tg.updates.in_topic(MARIE, thread, "/reply seller-first"))
            preview = preview_in(calls, thread)
            assert "Bonjour Alice" in preview.text
            cancel = preview.buttons[1]
            press = tg.updates.press_in_topic(MARIE, thread, cancel, message_id=preview.message_id)
            calls = await tg.send(press)
            assert (
                "annulé par Marie" in next(c for c in calls if c.method == "editMessageText").text
            )
            assert not [c for c in calls if c.chat_id == ALICE.id]
            assert "agent_message" not in [event[1] for event in tg.desk.show(ref).events]

    play(scenario)


def test_an_unknown_template_answers_with_the_list(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            _, thread = await hand_off(tg)
            calls = await tg.send(tg.updates.in_topic(MARIE, thread, "/reply remboursement"))
            [answer] = sent_to(calls, AGENT_CHAT, thread)
            assert answer.text.startswith("Modèle inconnu : remboursement.")
            assert "refund-after-validation" in answer.text
            assert not [c for c in calls if c.chat_id == ALICE.id]

    play(scenario)


def test_outsiders_cannot_use_the_templates(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            other_group = -1009999999999
            update = tg.updates.in_topic(MALLORY, thread, "/reply documents-missing", other_group)
            assert await tg.send(update) == []
            assert (
                await tg.send(tg.updates.in_topic(MALLORY, thread, "/replies", other_group)) == []
            )
            send = f"agent:tpl:{ref}:documents-missing"
            for forged in (
                tg.updates.press(MALLORY, send),  # from a private chat
                tg.updates.press_in_topic(MALLORY, thread, send, other_group),
            ):
                assert [c.method for c in await tg.send(forged)] == ["answerCallbackQuery"]
            assert "agent_message" not in [event[1] for event in tg.desk.show(ref).events]

    play(scenario)


def test_a_button_too_long_for_telegram_travels_as_a_digest(
    engine: Engine, telegram_settings: Settings
) -> None:
    name = "a-template-whose-name-is-long-enough-to-overflow"
    template = ReplyTemplate.model_validate(
        {
            "name": name,
            "title": {"fr": "Long", "en": "Long"},
            "text": {"fr": "Bonjour {customer_name}", "en": "Hello {customer_name}"},
        }
    )
    tg = Telegram(engine, telegram_settings, book=ReplyBook({name: template}))

    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            calls = await tg.send(tg.updates.in_topic(MARIE, thread, f"/reply {name}"))
            preview = preview_in(calls, thread)
            send, cancel = preview.buttons
            assert send.startswith("agent:~") and len(send.encode()) <= 64
            assert cancel == f"agent:tplno:{ref}"
            press = tg.updates.press_in_topic(MARIE, thread, send, message_id=preview.message_id)
            assert "Bonjour Alice" in texts(await tg.send(press), ALICE.id)

    play(scenario)


# -- erasure -----------------------------------------------------------------------


def test_forget_deletes_the_customers_topics_and_still_answers(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            _, thread = await hand_off(tg)
            await tg.send(tg.updates.text(ALICE, "/forget"))
            calls = await tg.send(tg.updates.press(ALICE, "forget:yes", "Oui, effacer"))
            [deletion] = [c for c in calls if c.method == "deleteForumTopic"]
            assert deletion.chat_id == AGENT_CHAT and deletion.thread == thread
            assert "données ont été effacées" in texts(calls, ALICE.id)

    play(scenario)


@pytest.mark.parametrize(
    ("code", "refusal"),
    [
        (400, "Bad Request: TOPIC_ID_INVALID"),  # already deleted by someone
        (400, "Bad Request: CHAT_ADMIN_REQUIRED"),  # the bot may not manage topics
        (403, "Forbidden: bot was kicked from the supergroup chat"),
    ],
)
def test_a_topic_the_bot_cannot_delete_never_troubles_the_customer(
    tg: Telegram, code: int, refusal: str
) -> None:
    async def scenario() -> None:
        async with tg.running():  # fails on any handler error
            await hand_off(tg)
            await tg.send(tg.updates.text(ALICE, "/forget"))
            tg.request.fail("deleteForumTopic", code, refusal)
            calls = await tg.send(tg.updates.press(ALICE, "forget:yes", "Oui, effacer"))
            assert [c.method for c in calls].count("deleteForumTopic") == 1
            assert "données ont été effacées" in texts(calls, ALICE.id)

    play(scenario)


def test_forget_without_any_ticket_deletes_nothing(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            await tg.send(tg.updates.text(ALICE, "/forget"))
            calls = await tg.send(tg.updates.press(ALICE, "forget:yes", "Oui, effacer"))
            assert not [c for c in calls if c.method == "deleteForumTopic"]
            assert "données ont été effacées" in texts(calls, ALICE.id)

    play(scenario)


# -- plumbing ----------------------------------------------------------------------


def test_updates_of_one_chat_run_in_order_and_chats_run_side_by_side() -> None:
    def update(update_id: int, chat_id: int) -> Update:
        message = {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": chat_id, "type": "private"},
            "text": "x",
        }
        return Update.de_json({"update_id": update_id, "message": message}, None)

    async def scenario() -> None:
        processor = ChatOrderedProcessor(8)
        log: list[str] = []

        async def work(name: str, pause: float) -> None:
            log.append(f"start {name}")
            await asyncio.sleep(pause)
            log.append(f"end {name}")

        await asyncio.gather(
            processor.process_update(update(1, 10), work("a1", 0.05)),
            processor.process_update(update(2, 10), work("a2", 0)),
            processor.process_update(update(3, 20), work("b1", 0)),
        )
        assert log.index("end a1") < log.index("start a2")  # same chat: in order
        assert log.index("end b1") < log.index("end a1")  # other chat: not held up
        assert len(processor.locks) == 0

    play(scenario)


def test_token_is_checked_before_anything_and_never_echoed(
    telegram_settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(InvalidTelegramToken, match="not set"):
        validate_token(None)
    secret = "12345:not-a-real-token"
    with pytest.raises(InvalidTelegramToken, match="malformed") as caught:
        validate_token(secret)
    assert secret not in str(caught.value) and "not-a-real" not in str(caught.value)
    assert validate_token(f" {TOKEN} ") == TOKEN
    db_file = tmp_path / "never.db"
    bad = telegram_settings.model_copy(
        update={"telegram_token": secret, "database_url": f"sqlite:///{db_file}"}
    )
    with pytest.raises(InvalidTelegramToken):
        run(bad)
    assert not db_file.exists()


def test_a_local_bot_api_server_sets_both_urls_and_local_mode(
    engine: Engine, telegram_settings: Settings
) -> None:
    local = telegram_settings.model_copy(update={"telegram_base_url": "http://127.0.0.1:8081/"})
    app = build_application(engine, Telegram(engine, local).desk, local)
    assert app.bot.base_url == f"http://127.0.0.1:8081/bot{TOKEN}"
    assert app.bot.base_file_url == f"http://127.0.0.1:8081/file/bot{TOKEN}"
    assert app.bot.local_mode


def test_replies_from_other_tools_reach_the_customer_without_waiting(
    engine: Engine, telegram_settings: Settings
) -> None:
    tg = Telegram(engine, telegram_settings, outbox_interval=0.1)

    async def scenario() -> None:
        async with tg.running(start_jobs=True):
            ref, _ = await hand_off(tg)
            before = len(tg.request.calls)
            await asyncio.to_thread(tg.desk.reply, ref, "Marie", "Réponse depuis la console")
            await tg.wait_for(lambda: bool(sent_to(tg.request.calls[before:], ALICE.id)))
            assert "Réponse depuis la console" in texts(tg.request.calls[before:], ALICE.id)
            # Once only: a later reply goes out after any second copy of the first would.
            await asyncio.to_thread(tg.desk.reply, ref, "Marie", "Et une deuxième")
            await tg.wait_for(lambda: len(sent_to(tg.request.calls[before:], ALICE.id)) > 1)
            sent = [c.text for c in sent_to(tg.request.calls[before:], ALICE.id)]
            assert len(sent) == 2 and "Et une deuxième" in sent[1], sent

    play(scenario)


def test_album_parts_left_by_a_restart_are_handled_at_the_next_start(
    engine: Engine, telegram_settings: Settings
) -> None:
    first = Telegram(engine, telegram_settings, album_delay=60)

    async def before_restart() -> None:
        async with first.running():
            await reach_photo_step(first)
            await first.send(first.updates.photo(ALICE, "r1", group="g9"))
            await first.send(first.updates.photo(ALICE, "r2", group="g9"))

    async def after_restart() -> None:
        second = Telegram(engine, telegram_settings, album_delay=0.05)
        async with second.running(start_jobs=True):
            assert second.app.post_init is not None
            await second.app.post_init(second.app)  # what run_polling does at start
            await second.wait_for(lambda: bool(sent_to(second.request.calls, ALICE.id)))
            assert "(2/10)" in texts(second.request.calls, ALICE.id)

    play(before_restart)
    play(after_restart)


def test_long_payloads_travel_as_stored_digests(engine: Engine) -> None:
    long = "choice:" + "x" * 80
    data = tg_store.callback_data(engine.sessions, long)
    assert len(data.encode()) <= 64
    assert tg_store.payload_of(engine.sessions, data) == long
    assert tg_store.callback_data(engine.sessions, "faq:invoice") == "faq:invoice"


def test_outbox_rows_left_for_a_blocked_customer_stay_pending(tg: Telegram, engine: Engine) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, _ = await hand_off(tg)
            tg_store.set_reachable(engine.sessions, str(ALICE.id), False)
            tg.desk.reply(ref, "Marie", "En attente")
            assert tg_store.chats_with_pending_outbox(engine.sessions) == []
            tg_store.set_reachable(engine.sessions, str(ALICE.id), True)
            assert tg_store.chats_with_pending_outbox(engine.sessions) == [str(ALICE.id)]
            with engine.sessions() as db:
                assert db.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.delivered_at.is_(None))
                )

    play(scenario)


def test_photo_bytes_are_stored_by_checksum(tg: Telegram, telegram_settings: Settings) -> None:
    async def scenario() -> None:
        async with tg.running():
            await reach_photo_step(tg)
            calls = await tg.send(tg.updates.photo(ALICE, "single"))
            assert "(1/10)" in texts(calls, ALICE.id)
        stored = [
            p for p in telegram_settings.files_dir.rglob("*.jpg") if "incoming" not in p.parts
        ]
        assert stored and stored[0].read_bytes() == picture("single.jpg")

    play(scenario)


def test_ticket_jobs_run_in_the_job_queue_and_alert_the_topic(tg: Telegram, engine: Engine) -> None:
    async def scenario() -> None:
        async with tg.running():
            ref, thread = await hand_off(tg)
            assert ticket(engine, ref).status == "received"
            [job] = tg.app.job_queue.get_jobs_by_name("ticket-jobs")  # type: ignore[union-attr]
            engine.clock.now += timedelta(hours=42)  # type: ignore[attr-defined]
            before = len(tg.request.calls)
            await job.run(tg.app)
            calls = tg.request.calls[before:]
            assert any("proche" in c.text for c in sent_to(calls, AGENT_CHAT, thread))
            assert any("forte activité" in c.text for c in sent_to(calls, ALICE.id))
            before = len(tg.request.calls)
            await job.run(tg.app)  # a second pass sends nothing new
            assert not sent_to(tg.request.calls[before:], ALICE.id)

    play(scenario)


def test_a_database_locked_by_another_writer_delays_the_answer_and_loses_nothing(
    tg: Telegram, engine: Engine
) -> None:
    bind = engine.sessions.kw["bind"]

    async def scenario() -> None:
        async with tg.running():
            await tg.send(tg.updates.text(ALICE, "/start"))
            # another writer (a migration, a backup) holds the lock for half a second
            other: Any
            if bind.dialect.name == "sqlite":
                other = sqlite3.connect(bind.url.database, isolation_level=None)
                other.execute("BEGIN EXCLUSIVE")
            else:
                other = bind.connect()
                other.exec_driver_sql("LOCK TABLE conversations IN ACCESS EXCLUSIVE MODE")
            asyncio.get_running_loop().call_later(0.5, lambda: (other.rollback(), other.close()))
            calls = await tg.send(tg.updates.text(ALICE, "ou est ma facture"))
            said = texts(calls, ALICE.id)
            assert "Mon compte > Commandes" in said
            assert "Réessayez" not in said and "technique" not in said

    play(scenario)


def test_a_new_tickets_card_waits_in_the_store_until_the_agent_group_takes_it(
    engine: Engine, telegram_settings: Settings
) -> None:
    tg = Telegram(engine, telegram_settings, outbox_interval=0.05)

    async def scenario() -> None:
        async with tg.running(start_jobs=True):
            tg.request.fail("createForumTopic", 502, "Bad Gateway", times=4)  # group down
            await tg.send(tg.updates.text(ALICE, "/agent"))
            await tg.send(tg.updates.text(ALICE, "Je n'arrive pas à modifier mon adresse"))
            calls = await tg.send(tg.updates.press(ALICE, "confirm", "Confirmer et envoyer"))
            found = REF.search(texts(calls, ALICE.id))
            assert found  # the customer has their reference; the agents not yet
            ref = found.group()
            assert ticket(engine, ref).agent_thread_id is None
            # the sweep shows the card once the group answers again, in its new topic
            await tg.wait_for(lambda: ticket(engine, ref).agent_thread_id is not None)
            thread = ticket(engine, ref).agent_thread_id
            await tg.wait_for(lambda: bool(sent_to(tg.request.calls, AGENT_CHAT, thread)))
            card = sent_to(tg.request.calls, AGENT_CHAT, thread)[0]
            assert "modifier mon adresse" in card.text
            topics = [c for c in tg.request.calls if c.method == "createForumTopic"]
            assert len(topics) == 5  # four refused, one taken: no second topic

    play(scenario)


def test_a_replayed_update_still_gets_its_notice_to_the_agents(tg: Telegram) -> None:
    async def scenario() -> None:
        async with tg.running():
            _, thread = await hand_off(tg)
            tg.request.fail("sendMessage", 502, "Bad Gateway", when=_in_group)
            relayed = tg.updates.text(ALICE, "Voici une précision sur mon adresse")
            await tg.send(relayed)  # the turn ran, the notice did not get through
            assert _waiting_notices(tg.engine) == 1
            with tg.engine.sessions.begin() as db:  # as a kill before "handled" leaves it
                db.execute(delete(tg_store.TelegramUpdate))
            again = await tg.send(relayed)  # taken again: the turn is not, its notice is
            shown = sent_to(again, AGENT_CHAT, thread)
            assert ["précision" in c.text for c in shown] == [True]
            assert not sent_to(again, ALICE.id)  # the customer is not answered twice
            assert _waiting_notices(tg.engine) == 0

    play(scenario)


def _waiting_notices(engine: Engine) -> int:
    with engine.sessions() as db:
        return int(
            db.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.channel == AGENTS, OutboxMessage.delivered_at.is_(None))
            )
            or 0
        )


def _in_group(params: dict[str, Any]) -> bool:
    return int(params.get("chat_id", 0)) == AGENT_CHAT


def test_logs_carry_ids_never_what_customers_wrote(
    tg: Telegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="supportbot")
    private = "Je suis joignable à claire.dupont@example.com ou au 06 12 34 56 78"

    async def scenario() -> None:
        async with tg.running():
            await hand_off(tg)
            tg.request.fail("sendMessage", 502, "Bad Gateway", times=1)  # a retry is logged
            update = tg.updates.text(ALICE, f"{private}, commande 987654321")
            await tg.send(update)
            await tg.send(update)  # delivered twice: logged, ignored

    play(scenario)
    logged = caplog.text
    assert "delivered twice" in logged and "retrying" in logged  # there were logs to check
    for secret in ("claire.dupont", "06 12 34 56 78", "987654321", "joignable"):
        assert secret not in logged


def test_a_kept_update_is_leased_to_one_worker_until_its_lease_lapses(engine: Engine) -> None:
    sessions, start = engine.sessions, engine.clock()
    assert tg_store.keep_update(sessions, 1, {"update_id": 1}, start, "worker-a")
    # Telegram delivers it again, to another worker, while the first one handles it
    assert not tg_store.keep_update(sessions, 1, {"update_id": 1}, start, "worker-b")
    assert tg_store.take_lapsed_updates(sessions, start, "worker-b") == []
    # worker-a was killed: its lease lapses, and the next delivery is handled
    later = start + tg_store.UPDATE_LEASE + timedelta(seconds=1)
    assert tg_store.keep_update(sessions, 1, {"update_id": 1}, later, "worker-b")
    assert tg_store.take_lapsed_updates(sessions, later, "worker-c") == []  # b holds it now
    tg_store.record_handled(sessions, 1, later)
    much_later = later + timedelta(hours=1)
    assert not tg_store.keep_update(sessions, 1, {"update_id": 1}, much_later, "worker-c")
    assert tg_store.take_lapsed_updates(sessions, much_later, "worker-c") == []
    with engine.sessions() as db:
        assert db.get(tg_store.TelegramUpdate, 1).data is None  # type: ignore[union-attr]


def test_a_sweep_takes_up_lapsed_updates_and_renewed_leases_hold(engine: Engine) -> None:
    sessions, start = engine.sessions, engine.clock()
    for update_id, holder in ((1, "gone"), (2, "alive"), (3, "gone")):
        tg_store.keep_update(sessions, update_id, {"update_id": update_id}, start, holder)
    later = start + tg_store.UPDATE_LEASE + timedelta(seconds=1)
    tg_store.renew_leases(sessions, [2], later - timedelta(seconds=5), "alive")
    taken = tg_store.take_lapsed_updates(sessions, later, "sweeper")
    assert taken == [{"update_id": 1}, {"update_id": 3}]
    assert tg_store.take_lapsed_updates(sessions, later, "another") == []  # leased now
    # the only poller, at its start: every lease another process holds was cut off
    assert tg_store.take_lapsed_updates(sessions, later, "poller", everyone=True) == [
        {"update_id": 1},
        {"update_id": 2},
        {"update_id": 3},
    ]


def test_an_update_a_killed_worker_held_is_answered_by_another_within_seconds(
    engine: Engine, telegram_settings: Settings, clock: Any
) -> None:
    tg = Telegram(engine, telegram_settings, update_sweep_interval=0.05)
    question = tg.updates.text(ALICE, "ou est ma facture")
    # kept by a worker killed before it handled it, half a minute ago
    past = clock.now - tg_store.UPDATE_LEASE - timedelta(seconds=1)
    tg_store.keep_update(engine.sessions, question["update_id"], question, past, "killed")

    async def scenario() -> None:
        async with tg.running(start_jobs=True):
            await tg.deliver(question)  # Telegram's retry reaches this worker: not dropped
            await tg.wait_for(lambda: "Mon compte > Commandes" in texts(tg.request.calls))
            marker = tg.updates.text(ALICE, "/menu")
            await tg.deliver(marker)
            await tg.wait_for(lambda: "theme:orders" in str(tg.request.calls[-1].buttons))
        answers = [c for c in sent_to(tg.request.calls, ALICE.id) if "PDF" in c.text]
        assert len(answers) == 1  # the retry and the sweep did not both run it
        assert tg_store.was_handled(engine.sessions, question["update_id"])

    play(scenario)


def test_a_retry_while_the_update_is_being_handled_is_not_queued_twice(
    engine: Engine, telegram_settings: Settings
) -> None:
    tg = Telegram(engine, telegram_settings, update_sweep_interval=0.05)
    question = tg.updates.text(ALICE, "ou est ma facture")
    tg_store.keep_update(engine.sessions, question["update_id"], question, engine.clock(), "busy")

    async def scenario() -> None:
        async with tg.running(start_jobs=True):
            await tg.deliver(question)  # another worker holds it, its lease running
            marker = tg.updates.text(ALICE, "/menu")
            await tg.deliver(marker)
            await tg.wait_for(lambda: "theme:orders" in str(tg.request.calls[-1].buttons))
            assert "PDF" not in texts(tg.request.calls)

    play(scenario)


def test_the_store_away_for_a_moment_delays_the_answer_and_never_asks_to_try_again(
    tg: Telegram, engine: Engine
) -> None:
    away = {"now": False}  # a database restart: every statement fails while it lasts

    @event.listens_for(engine.sessions.kw["bind"], "before_cursor_execute")
    def refuse(*_: Any) -> None:
        if away["now"]:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("restarting"))

    async def scenario() -> None:
        async with tg.running():
            await tg.send(tg.updates.text(ALICE, "je veux signaler un problème avec ma commande"))
            away["now"] = True
            asyncio.get_running_loop().call_later(0.6, away.update, {"now": False})
            calls = await tg.send(tg.updates.text(ALICE, "123456789"))
            said = texts(calls, ALICE.id)
            assert "Réessayez" not in said and "technique" not in said
            assert "choice:damaged" in sent_to(calls, ALICE.id)[-1].buttons  # taken, once
            assert len([c for c in sent_to(calls, ALICE.id) if "choice:damaged" in c.buttons]) == 1

    play(scenario)


def test_only_a_turn_that_queued_agent_notices_looks_for_them(tg: Telegram, engine: Engine) -> None:
    looks: list[str] = []

    @event.listens_for(engine.sessions.kw["bind"], "before_cursor_execute")
    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "GROUP BY outbox.chat_id" in statement and "min(outbox.id)" in statement:
            looks.append(statement)

    async def scenario() -> None:
        async with tg.running():
            await tg.send(tg.updates.text(ALICE, "ou est ma facture"))  # the first round looks
            looks.clear()
            await tg.send(tg.updates.text(ALICE, "comment retourner un article ?"))
            assert looks == []  # nothing for the agents since: no look
            _, thread = await hand_off(tg)  # a new ticket's card for the agents
            assert looks  # that turn looked, and the card reached the group
            assert sent_to(tg.request.calls, AGENT_CHAT, thread)

    play(scenario)
