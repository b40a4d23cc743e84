"""Wake-ups on PostgreSQL: what one process writes reaches the streams another process
holds at once (LISTEN/NOTIFY), a notification goes out only with its commit, and a lost
listener falls back to polling, then listens again.

Two engines on one database stand for two processes: each has its own pool and its own
listener, as `supportbot serve` and `supportbot agent reply` would.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest
from sqlalchemy import select, text
from starlette.applications import Starlette
from starlette.routing import Mount

from conftest import Chat, Clock, handoff
from supportbot import wakeups
from supportbot.app import build_desk, build_engine
from supportbot.channels.web.app import build_web_app
from supportbot.config import Settings
from supportbot.content import Content
from supportbot.desk.accounts import Accounts
from supportbot.desk.live import latest_event_id
from supportbot.desk.web import desk_app
from supportbot.engine import Engine
from supportbot.outbox import message_row, queue
from supportbot.routing import Router
from supportbot.store import Ticket
from supportbot.wakeups import wakeups_for
from test_desk_live import signed_in, stream
from test_desk_web import PASSWORD
from test_web_api import Listener, say, visitor
from web_server import serving

pytestmark = pytest.mark.skipif(
    not os.environ.get("SUPPORTBOT_TEST_DATABASE_URL"),
    reason="LISTEN/NOTIFY needs PostgreSQL: runs in .ci/run's PostgreSQL pass "
    "(SUPPORTBOT_TEST_DATABASE_URL)",
)
SOON = 2.0  # seconds: far under the fallback read, which these tests put at a minute


@pytest.fixture
def other(settings: Settings, clock: Clock, content: Content, matcher: Router) -> Iterator[Engine]:
    """Another process on the same database (the agent command line, another worker)."""
    built = build_engine(settings, clock=clock, content=content, matcher=matcher)
    yield built
    built.sessions.kw["bind"].dispose()


@pytest.fixture
def no_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """While listening, a watcher reads only when woken: what arrives came by NOTIFY."""
    monkeypatch.setattr(wakeups, "FALLBACK_SECONDS", 60.0)


def eventually(condition: Callable[[], object], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time given"
        time.sleep(0.01)


def arrived_within(listener: Listener, count: int, seconds: float) -> float:
    """Seconds until the stream showed ``count`` messages (failing past ``seconds``)."""
    start = time.monotonic()
    eventually(lambda: len(listener.ids) >= count, seconds)
    return time.monotonic() - start


def test_a_notification_goes_out_with_the_commit_only(engine: Engine) -> None:
    url = engine.sessions.kw["bind"].url.set(drivername="postgresql")
    now = engine.clock()
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as heard:
        heard.execute(f"LISTEN {wakeups.CHANNEL}")

        def payloads() -> list[str]:
            return [note.payload for note in heard.notifies(timeout=0.3)]

        with engine.sessions.begin() as db:
            queue(db, [message_row("web", "c1", "Bonjour", now)])
            db.flush()
            assert payloads() == []  # written, not committed: nobody is told yet
        assert payloads() == ["outbox:web"]
        with engine.sessions() as db:
            queue(db, [message_row("web", "c1", "Jamais envoyé", now)])
            db.rollback()
        assert payloads() == []
        with engine.sessions.begin() as db:  # several channels, one notification
            queue(db, [message_row("agents", "SAV-1", "n", now), message_row("web", "c", "", now)])
        assert payloads() == ["outbox:agents,outbox:web"]
        with engine.sessions.begin() as db:  # what no stream waits for: no notification
            db.execute(text("UPDATE outbox SET text = 'x'"))
        assert payloads() == []


def web_ticket(client: httpx.Client, auth: dict[str, str], engine: Engine) -> str:
    """A visitor of the web chat hands over to Support: the new ticket's reference."""
    say(client, auth, "/agent", "handoff-001")
    say(client, auth, "Ma commande 123456789 n'est jamais arrivée", "handoff-002")
    confirmed = client.post(
        "/api/messages", headers=auth, json={"client_id": "handoff-003", "payload": "confirm"}
    )
    assert confirmed.status_code == 200
    with engine.sessions() as db:
        reference = db.scalar(select(Ticket.reference))
    assert reference is not None
    return reference


@pytest.mark.usefixtures("no_fallback")
def test_an_agent_reply_from_another_process_reaches_the_open_stream_at_once(
    engine: Engine, other: Engine, settings: Settings
) -> None:
    with serving(build_web_app(engine, settings)) as base, httpx.Client(base_url=base) as c:
        auth = visitor(c)
        reference = web_ticket(c, auth, engine)
        eventually(lambda: wakeups_for(engine.sessions).listening)
        listener = Listener(base, auth)
        shown = len(listener.until(1))  # what the chat had: the stream read it at once
        for n in range(3):
            build_desk(other).reply(reference, "lea", f"Réponse {n} de Support")
            assert arrived_within(listener, shown + n + 1, SOON) < SOON


@pytest.mark.usefixtures("no_fallback")
def test_a_customer_message_written_by_another_process_reaches_an_open_inbox_at_once(
    engine: Engine, other: Engine, settings: Settings
) -> None:
    Accounts(engine.sessions, engine.tickets.clock).add("lea", PASSWORD)
    customer = Chat(other)
    handoff(customer, "Ma commande 123456789 n'est jamais arrivée")
    cursor = latest_event_id(engine.sessions)
    desk = Starlette(routes=[Mount("/desk", desk_app(engine, settings))])
    with (
        serving(desk) as base,
        stream(signed_in(base, "lea"), f"/desk/events?after={cursor}") as events,
    ):
        eventually(lambda: wakeups_for(engine.sessions).listening)
        customer.say("Vous avez des nouvelles ?")
        first = next(events)  # however it came (the listener rings once as it starts)
        start = time.monotonic()
        customer.say("Toujours rien reçu")
        second = next(events)  # only a notification wakes the inbox's watcher now
        assert time.monotonic() - start < SOON
    assert int(first["id"]) > cursor and "Vous avez des nouvelles ?" in first["data"]
    assert int(second["id"]) > int(first["id"]) and "Toujours rien reçu" in second["data"]


@pytest.mark.usefixtures("no_fallback")
def test_a_lost_listener_falls_back_to_polling_then_listens_again(
    engine: Engine,
    other: Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(wakeups, "RETRY_SECONDS", (0.05, 0.1))
    listening = wakeups_for(engine.sessions)
    with serving(build_web_app(engine, settings)) as base, httpx.Client(base_url=base) as c:
        auth = visitor(c)
        reference = web_ticket(c, auth, engine)
        eventually(lambda: listening.listening)
        listener = Listener(base, auth)
        shown = len(listener.until(1))

        connect, down, refusals = listening._connect, threading.Event(), []

        def refused_while_down() -> object:
            if down.is_set():
                refusals.append(time.monotonic())
                raise psycopg.OperationalError("the store is restarting")
            return connect()

        # The store drops the listener's connection, and takes none for a while.
        down.set()
        monkeypatch.setattr(listening, "_connect", refused_while_down)
        with caplog.at_level(logging.WARNING, logger="supportbot.wakeups"):
            with engine.sessions.begin() as db:
                db.execute(
                    select(text("pg_terminate_backend(:pid)")), {"pid": listening.backend_pid}
                )
            eventually(lambda: not listening.listening)
            build_desk(other).reply(reference, "lea", "Pendant la coupure")
            assert arrived_within(listener, shown + 1, SOON) < SOON  # polled, not notified
            time.sleep(0.5)  # reconnection tried again and again meanwhile
            down.clear()
            eventually(lambda: listening.listening)
        said = [r.getMessage().partition(" (")[0] for r in caplog.records]
        assert len(refusals) > 2  # tried again and again, said once
        assert said == ["store listener lost its connection", "store listener listening again"]
        build_desk(other).reply(reference, "lea", "Après la coupure")
        assert arrived_within(listener, shown + 2, SOON) < SOON
