"""Wake-ups from the store: on PostgreSQL, a write that an open stream waits for wakes
the process holding that stream at once (LISTEN/NOTIFY); on SQLite, watchers poll.

The writing side (``announce_writes``, on every PostgreSQL engine): an insert into a
table a stream waits on (the outbox, the visitors' lines, the tickets' audit trail)
is noted on its connection, and one ``NOTIFY`` naming what was written goes out just
before that transaction's COMMIT, in the transaction: PostgreSQL delivers it when the
rows are visible, never before, and never for a rolled-back write. Every writer is
caught this way, whichever path it takes (an ORM flush, a bulk insert, another
process such as the agent command line), with no call to remember in any of them.

The waiting side (``Wakeups``, one per store engine, so one per process): a thread
holds a psycopg connection in autocommit that LISTENs, and rings the alarms of the
watchers concerned on their event loops. A watcher still reads on its own now and
then (``FALLBACK_SECONDS``): a notification lost, or written while the listener was
reconnecting, costs that delay, never a message. While the listener is down (the
store restarting) watchers poll as on SQLite, and the listener reconnects with a
backoff, saying so in the log once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine, Insert, event
from sqlalchemy.orm import Session, sessionmaker

from supportbot.store import OutboxMessage, TicketEvent
from supportbot.visitors import VisitorMessage

CHANNEL = "supportbot"  # the one LISTEN/NOTIFY channel; the payload says what was written
FALLBACK_SECONDS = 3.0  # while listening, a watcher still reads this often
GAP_SECONDS = 0.02  # an alarm rings at most this often: under load a read serves many commits
RETRY_SECONDS = (0.5, 30.0)  # the listener's reconnection backoff: first wait, longest
CHECK_SECONDS = 5.0  # a quiet listener checks that its connection still lives
TICK_SECONDS = 0.5  # how often the listener's thread looks whether it must stop
EVERYTHING = "*"  # a payload too long to hold each topic: every alarm rings
MAX_PAYLOAD = 1000  # characters (PostgreSQL takes up to 8000 bytes)
_PENDING = "supportbot.wakeups.pending"  # a connection's topics to announce at commit
log = logging.getLogger(__name__)

# The tables whose new rows a stream waits for; the outbox's topics name its channel.
_ANNOUNCED = frozenset(
    str(model.__tablename__) for model in (OutboxMessage, VisitorMessage, TicketEvent)
)


def topic(table: str, channel: str | None = None) -> str:
    """What a notification says was written: a table, with the outbox's channel."""
    return table if channel is None else f"{table}:{channel}"


def outbox_topic(channel: str) -> str:
    return topic(str(OutboxMessage.__tablename__), channel)


TRANSCRIPT_TOPIC = topic(str(VisitorMessage.__tablename__))
TICKETS_TOPIC = topic(str(TicketEvent.__tablename__))


# -- the writing side ----------------------------------------------------------------


def announce_writes(engine: Engine) -> None:
    """Have ``engine`` notify, at each commit, what its transaction inserted that
    streams wait for (PostgreSQL; other databases are polled)."""
    if engine.dialect.name != "postgresql":
        return
    event.listen(engine, "after_execute", _note_insert)
    event.listen(engine, "commit", _announce)
    event.listen(engine, "rollback", _forget)


def _note_insert(
    conn: Connection,
    clause: Any,
    multiparams: Any,
    params: Any,
    options: Any,
    result: CursorResult[Any],
) -> None:
    if not isinstance(clause, Insert):
        return
    table = clause.table
    name = getattr(table, "name", None)
    if name not in _ANNOUNCED:
        return
    pending: set[str] = conn.info.setdefault(_PENDING, set())
    if "channel" not in table.c:
        pending.add(topic(name))
        return
    rows = getattr(result.context, "compiled_parameters", None) or [{}]
    for row in rows:
        channel = row.get("channel")
        pending.add(topic(name, channel) if isinstance(channel, str) else EVERYTHING)


def _announce(conn: Connection) -> None:
    """Just before COMMIT, in the transaction: delivered once the rows are visible."""
    pending: set[str] | None = conn.info.pop(_PENDING, None)
    if not pending:
        return
    payload = ",".join(sorted(pending))
    if len(payload) > MAX_PAYLOAD or EVERYTHING in pending:
        payload = EVERYTHING
    # On the driver's connection: a statement through ``conn`` would re-enter its events.
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
    finally:
        cursor.close()


def _forget(conn: Connection) -> None:
    conn.info.pop(_PENDING, None)


# -- the waiting side ----------------------------------------------------------------


@dataclass(eq=False)
class Alarm:
    """What one watcher waits on: rung from the listener's thread for its topics."""

    topics: frozenset[str]
    wakeups: Wakeups
    loop: asyncio.AbstractEventLoop
    _rung: asyncio.Event = field(default_factory=asyncio.Event)
    _pending: bool = False  # a ring is on its way to the loop: no need for another
    _last: float = 0.0

    async def wait(self, poll: float) -> bool:
        """Until the alarm rings, or for ``poll`` seconds while nobody listens (SQLite,
        the listener down), ``FALLBACK_SECONDS`` while the listener does; whether it
        rang. Never sooner than ``GAP_SECONDS`` after the previous wait ended."""
        pause = self._last + GAP_SECONDS - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        seconds = FALLBACK_SECONDS if self.wakeups.listening else poll
        try:
            await asyncio.wait_for(self._rung.wait(), seconds)
            rang = True
        except TimeoutError:
            rang = False
        self._rung.clear()  # before the watcher reads: a ring during the read is kept
        self._last = time.monotonic()
        return rang

    def ring_threadsafe(self) -> None:
        if self._pending:
            return
        self._pending = True
        with contextlib.suppress(RuntimeError):  # the loop closed: the alarm is going
            self.loop.call_soon_threadsafe(self._ring)

    def _ring(self) -> None:
        self._pending = False
        self._rung.set()


@dataclass(eq=False)
class _Run:
    """One run of the listener's thread (a new one starts after the last stopped)."""

    stop: threading.Event = field(default_factory=threading.Event)
    listening: bool = False
    backend_pid: int | None = None  # the listening connection's server process


class Wakeups:
    """The process's listener on the store: rings the alarms of its watchers.

    Over a store that cannot notify (SQLite, a driver other than psycopg 3) nobody
    listens and every alarm only times out: watchers poll.
    """

    def __init__(self, bind: Engine | None = None) -> None:
        can_listen = bind is not None and (bind.dialect.name, bind.dialect.driver) == (
            "postgresql",
            "psycopg",
        )
        self._bind = bind if can_listen else None
        self._lock = threading.Lock()
        self._alarms: set[Alarm] = set()
        self._run: _Run | None = None

    @property
    def listening(self) -> bool:
        run = self._run
        return run is not None and run.listening

    @property
    def backend_pid(self) -> int | None:
        """The listening connection's server process (None while none listens)."""
        run = self._run
        return run.backend_pid if run is not None and run.listening else None

    @contextlib.contextmanager
    def alarm(self, topics: Collection[str]) -> Iterator[Alarm]:
        """An alarm for the running event loop, rung for ``topics`` while the block runs;
        the listener runs while any alarm is held."""
        alarm = Alarm(frozenset(topics), self, asyncio.get_running_loop())
        with self._lock:
            self._alarms.add(alarm)
            if self._bind is not None and self._run is None:
                self._run = _Run()
                threading.Thread(
                    target=self._listen, args=(self._run,), name="store-listener", daemon=True
                ).start()
        try:
            yield alarm
        finally:
            with self._lock:
                self._alarms.discard(alarm)
                if not self._alarms and self._run is not None:
                    self._run.stop.set()  # its thread closes the connection and ends
                    self._run = None

    def _ring(self, payload: str | None = None) -> None:
        """Ring the alarms of the topics in ``payload`` (every alarm for None)."""
        topics = None if payload is None or payload == EVERYTHING else set(payload.split(","))
        with self._lock:
            alarms = list(self._alarms)
        for alarm in alarms:
            if topics is None or not alarm.topics.isdisjoint(topics):
                alarm.ring_threadsafe()

    def _listen(self, run: _Run) -> None:
        """The thread: connect, LISTEN, relay; on a loss, poll meanwhile and reconnect."""
        delay, failing = RETRY_SECONDS[0], False
        while not run.stop.is_set():
            try:
                connection = self._connect()
            except Exception as err:
                if not failing:
                    log.warning("store listener cannot connect (%s): polling meanwhile", err)
                failing = True
            else:
                if failing:
                    log.warning("store listener listening again")
                delay, failing = RETRY_SECONDS[0], False
                try:
                    self._relay(connection, run)
                except Exception as err:
                    log.warning("store listener lost its connection (%s): polling", err)
                    failing = True
                finally:
                    run.listening, run.backend_pid = False, None
                    with contextlib.suppress(Exception):
                        connection.close()
                    self._ring()  # the watchers go back to polling at once
            if failing:
                run.stop.wait(delay)
                delay = min(delay * 2, RETRY_SECONDS[1])

    def _connect(self) -> Any:
        """A connection of the store's own (detached from its pool), in autocommit."""
        assert self._bind is not None
        pooled = self._bind.raw_connection()
        pooled.detach()
        connection = pooled.dbapi_connection
        assert connection is not None
        connection.autocommit = True
        return connection

    def _relay(self, connection: Any, run: _Run) -> None:
        connection.execute(f"LISTEN {CHANNEL}")
        run.backend_pid, run.listening = connection.info.backend_pid, True
        self._ring()  # what was written while nobody listened is read now
        checked = time.monotonic()
        while not run.stop.is_set():
            for note in connection.notifies(timeout=TICK_SECONDS):
                self._ring(note.payload)
            if time.monotonic() - checked > CHECK_SECONDS:
                connection.execute("SELECT 1")  # a dead connection raises here
                checked = time.monotonic()


_BY_ENGINE: weakref.WeakKeyDictionary[Engine, Wakeups] = weakref.WeakKeyDictionary()
_BY_ENGINE_LOCK = threading.Lock()


def wakeups_for(sessions: sessionmaker[Session]) -> Wakeups:
    """The process's listener on the store behind ``sessions``: one per engine, shared
    by the web chat's and the desk's watchers."""
    bind: Engine = sessions.kw["bind"]
    with _BY_ENGINE_LOCK:
        found = _BY_ENGINE.get(bind)
        if found is None:
            found = _BY_ENGINE[bind] = Wakeups(bind)
        return found
