"""The desk's live stream over a real server: a customer's news reaches an open inbox,
a reconnect resumes after the last event id, a ticket's stream says who is there."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.routing import Mount

from conftest import Chat, Clock, handoff
from supportbot.app import build_engine
from supportbot.config import Settings
from supportbot.content import Content
from supportbot.desk.accounts import Accounts
from supportbot.desk.live import Feed, latest_event_id, rung
from supportbot.desk.live_pages import presence_data
from supportbot.desk.presence import Presence, PresenceRow
from supportbot.desk.web import desk_app
from supportbot.engine import Engine
from supportbot.routing import Router
from test_desk_web import PASSWORD, hidden_fields
from web_server import serving


@pytest.fixture
def desk(engine: Engine, settings: Settings) -> Iterator[str]:
    accounts = Accounts(engine.sessions, engine.tickets.clock)
    accounts.add("lea", PASSWORD)
    accounts.add("max", PASSWORD)
    with serving(Starlette(routes=[Mount("/desk", desk_app(engine, settings))])) as base:
        yield base


def signed_in(base: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=httpx.Timeout(10.0))
    fields = hidden_fields(client.get("/desk/signin").text, "/desk/signin")
    answer = client.post("/desk/signin", data={**fields, "name": name, "password": PASSWORD})
    assert answer.status_code == 303
    return client


@contextmanager
def stream(client: httpx.Client, path: str, **headers: str) -> Iterator[Iterator[dict[str, str]]]:
    """The stream's events, each as its fields (id, event, data)."""
    with client.stream("GET", path, headers=headers) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")

        def events() -> Iterator[dict[str, str]]:
            fields: dict[str, str] = {}
            for line in answer.iter_lines():
                if not line:
                    if "event" in fields:
                        yield fields
                    fields = {}
                    continue
                name, _, value = line.partition(": ")
                if name in ("id", "event", "data"):
                    fields[name] = value

        yield events()


def test_a_customer_message_reaches_an_open_inbox_and_a_reconnect_resumes(
    desk: str, engine: Engine, chat: Chat
) -> None:
    ref = handoff(chat, "Ma commande 123456789 n'est jamais arrivée")
    lea = signed_in(desk, "lea")
    cursor = latest_event_id(engine.sessions)
    assert f"/desk/events?after={cursor}" in lea.get("/desk/").text
    with stream(lea, f"/desk/events?after={cursor}") as events:
        chat.say("Vous avez des nouvelles ?")
        got = next(events)
    assert got["event"] == "ticket" and int(got["id"]) > cursor
    data = json.loads(got["data"])
    assert data["ref"] == ref and data["kind"] == "customer_message"
    assert data["notice"].startswith(f"Nouveau message du client sur {ref} : ")
    assert data["text"] == "Vous avez des nouvelles ?"

    chat.say("Toujours rien reçu")
    with stream(lea, f"/desk/events?after={cursor}", **{"Last-Event-ID": got["id"]}) as events:
        resumed = next(events)  # after the last id seen, not after the page's cursor
    assert json.loads(resumed["data"])["text"] == "Toujours rien reçu"
    assert int(resumed["id"]) > int(got["id"])


def test_a_ticket_stream_says_who_else_is_viewing_or_writing(
    desk: str, engine: Engine, chat: Chat
) -> None:
    ref = handoff(chat, "Je n'arrive pas à changer l'adresse de livraison")
    lea, max_ = signed_in(desk, "lea"), signed_in(desk, "max")
    page = max_.get(f"/desk/tickets/{ref}").text
    csrf = hidden_fields(page, f"/desk/tickets/{ref}/reply")["csrf"]
    with stream(lea, f"/desk/events?ticket={ref}&after=999999999") as events:
        assert json.loads(next(events)["data"])["agents"] == []  # nobody else yet
        said = max_.post(f"/desk/tickets/{ref}/presence", data={"csrf": csrf, "state": "viewing"})
        assert said.status_code == 204
        seen = json.loads(next(events)["data"])
        assert seen == {
            "agents": [{"name": "max", "state": "viewing"}],
            "text": "max consulte cette demande",
        }
        max_.post(f"/desk/tickets/{ref}/presence", data={"csrf": csrf, "state": "writing"})
        assert json.loads(next(events)["data"])["text"] == "max est en train d'écrire"
        max_.post(f"/desk/tickets/{ref}/presence", data={"csrf": csrf, "state": "gone"})
        assert json.loads(next(events)["data"])["agents"] == []
    forged = max_.post(f"/desk/tickets/{ref}/presence", data={"csrf": "x", "state": "viewing"})
    assert forged.status_code == 403


def test_the_stream_and_presence_need_a_signed_in_agent(desk: str, chat: Chat) -> None:
    ref = handoff(chat, "Je n'arrive pas à changer l'adresse de livraison")
    anonymous = httpx.Client(base_url=desk)
    assert anonymous.get("/desk/events").status_code == 403
    assert anonymous.post(f"/desk/tickets/{ref}/presence", data={"state": "x"}).status_code == 403


def test_presence_lapses_and_writing_turns_back_to_viewing(engine: Engine, clock: Clock) -> None:
    presence = Presence(engine.sessions, clock)
    assert presence.report("SAV-1", "lea", "writing")
    assert presence.report("SAV-1", "max", "viewing")
    assert presence.of("SAV-1") == (("lea", "writing"), ("max", "viewing"))
    assert not presence.report("SAV-1", "max", "viewing")  # a heartbeat: nothing new
    clock.now += Presence.WRITING + timedelta(seconds=1)
    presence.report("SAV-1", "max", "viewing")
    assert presence.of("SAV-1") == (("lea", "viewing"), ("max", "viewing"))
    clock.now += Presence.VIEWING - timedelta(seconds=5)
    assert presence.of("SAV-1") == (("max", "viewing"),)  # lea's page stopped saying so
    presence.report("SAV-1", "max", "gone")
    assert presence.of("SAV-1") == ()


def test_the_live_notices_and_presence_follow_the_desk_s_language(
    desk: str, engine: Engine, chat: Chat
) -> None:
    ref = handoff(chat, "Je n'arrive pas à changer l'adresse de livraison")
    lea = signed_in(desk, "lea")
    lea.cookies.set("supportbot_desk_lang", "en")
    with stream(lea, f"/desk/events?ticket={ref}&after=0") as events:
        created = json.loads(next(events)["data"])
        assert created["notice"].startswith(f"New ticket {ref}: ")
        assert created["label"] == "Request"
    assert presence_data((("max", "writing"),), "en")["text"] == "max is writing"


def test_presence_rows_that_lapsed_are_pruned_at_the_next_report(
    engine: Engine, clock: Clock
) -> None:
    presence = Presence(engine.sessions, clock)
    for n in range(5):
        presence.report(f"SAV-{n}", "lea", "viewing")
    clock.now += Presence.VIEWING + timedelta(seconds=1)
    presence.report("SAV-new", "max", "viewing")
    with engine.sessions() as db:
        assert db.execute(select(PresenceRow.ticket, PresenceRow.agent)).all() == [
            ("SAV-new", "max")
        ]


def test_agents_served_by_two_workers_on_one_database_see_each_other(
    engine: Engine,
    settings: Settings,
    clock: Clock,
    content: Content,
    matcher: Router,
    chat: Chat,
) -> None:
    """Two desk applications (two workers) over the same store: max, on the second,
    is seen from lea's stream on the first, and leaving is seen too."""
    other = build_engine(settings, clock=clock, content=content, matcher=matcher)
    accounts = Accounts(engine.sessions, engine.tickets.clock)
    accounts.add("lea", PASSWORD)
    accounts.add("max", PASSWORD)
    ref = handoff(chat, "Je n'arrive pas à changer l'adresse de livraison")
    first = Starlette(routes=[Mount("/desk", desk_app(engine, settings))])
    second = Starlette(routes=[Mount("/desk", desk_app(other, settings))])
    with serving(first) as one, serving(second) as two:
        lea, max_ = signed_in(one, "lea"), signed_in(two, "max")
        csrf = hidden_fields(max_.get(f"/desk/tickets/{ref}").text, f"/desk/tickets/{ref}/reply")
        with stream(lea, f"/desk/events?ticket={ref}&after=999999999") as events:
            assert json.loads(next(events)["data"])["agents"] == []
            said = {"csrf": csrf["csrf"], "state": "writing"}
            assert max_.post(f"/desk/tickets/{ref}/presence", data=said).status_code == 204
            assert json.loads(next(events)["data"])["text"] == "max est en train d'écrire"
            said["state"] = "gone"
            assert max_.post(f"/desk/tickets/{ref}/presence", data=said).status_code == 204
            assert json.loads(next(events)["data"])["agents"] == []
    other.sessions.kw["bind"].dispose()


def test_the_watcher_wakes_the_open_streams_once_it_started(engine: Engine) -> None:
    """An event written between a stream's first read and the watcher's first look is
    not lost: the streams read again once the watcher knows where it starts."""
    feed = Feed(engine.sessions)

    async def first_stream() -> bool:
        async with feed.streaming():
            return await rung(feed.bell(), 5.0)

    assert asyncio.run(first_stream())


def test_the_inbox_s_notices_follow_its_filters(desk: str, engine: Engine, chat: Chat) -> None:
    lea = signed_in(desk, "lea")
    cursor = latest_event_id(engine.sessions)
    page = lea.get("/desk/?status=closed&flow=human-agent").text
    assert f"/desk/events?after={cursor}&amp;status=closed&amp;flow=human-agent" in page
    for query, listed in (("status=closed", False), ("flow=order-problem", False), ("", True)):
        with stream(lea, f"/desk/events?after={cursor}&{query}") as events:
            if listed:
                ref = handoff(chat, "Je n'arrive pas à changer l'adresse de livraison")
            else:
                handoff(chat, "Je n'arrive pas à changer l'adresse de livraison")
            data = json.loads(next(events)["data"])
        cursor = latest_event_id(engine.sessions)
        assert data["kind"] == "created"
        assert (data["notice"] != "", data["outside"]) == (listed, not listed), query
    assert data["notice"].startswith(f"Nouvelle demande {ref}")
