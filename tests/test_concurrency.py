"""Two engines on one database serving the same chats at once (PostgreSQL in CI)."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from conftest import Chat, Clock
from supportbot.app import build_desk, build_engine
from supportbot.config import Settings
from supportbot.content import Content
from supportbot.jobs import Jobs
from supportbot.messages import Reply
from supportbot.routing import Router

SCRIPT = [
    ("", "flow:return-refund"),
    ("123456789", None),
    ("hier", None),
    ("", "choice:changed_mind"),
    ("passer", None),
    ("passer", None),
    ("passer", None),
    ("", "confirm"),
]


def test_two_workers_same_chats_no_lost_step_no_duplicate(
    settings: Settings, clock: Clock, content: Content, matcher: Router
) -> None:
    workers = [
        build_engine(settings, clock=clock, content=content, matcher=matcher) for _ in range(2)
    ]
    users = [f"user{i}" for i in range(8)]

    def customer(user: str) -> list[str]:
        rng = random.Random(user)
        texts = []
        for message, payload in SCRIPT:
            chat = Chat(rng.choice(workers), user)  # each message may land on either worker
            chat.send(message, payload)
            texts.append("\n".join(r.text for r in chat.last if isinstance(r, Reply)))
        return texts

    with ThreadPoolExecutor(max_workers=8) as pool:
        transcripts = list(pool.map(customer, users))
    for transcript in transcripts:
        assert "SAV-" in transcript[-1], transcript
    with workers[0].sessions() as db:
        tickets = workers[0].tickets.search(db)
        assert len(tickets) == len(users)
        assert len({t.reference for t in tickets}) == len(users)
        assert len({t.customer_id for t in tickets}) == len(users)
    for worker in workers:
        worker.sessions.kw["bind"].dispose()


def test_same_chat_hammered_concurrently_keeps_a_valid_state(
    settings: Settings, clock: Clock, content: Content, matcher: Router
) -> None:
    workers = [
        build_engine(settings, clock=clock, content=content, matcher=matcher) for _ in range(2)
    ]
    Chat(workers[0], "carol").press("flow:order-problem")

    def send(i: int) -> None:
        Chat(workers[i % 2], "carol").say("123456789")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(send, range(6)))
    chat = Chat(workers[1], "carol")
    # the order number was accepted once, then the next answers were refused as choices
    answer = chat.say("/resume")
    assert "problème" in answer.lower()
    assert "choice:damaged" in chat.buttons
    for worker in workers:
        worker.sessions.kw["bind"].dispose()


def test_a_job_runs_once_across_workers(
    settings: Settings, clock: Clock, content: Content, matcher: Router
) -> None:
    workers = [
        build_engine(settings, clock=clock, content=content, matcher=matcher) for _ in range(2)
    ]
    for i in range(6):
        chat = Chat(workers[0], f"client{i}")
        chat.press("flow:human-agent")
        chat.say(f"J'ai besoin d'aide pour la commande {i}")
        chat.press("confirm")
    clock.now += timedelta(hours=42)  # every ticket is now close to its due time
    passes = [Jobs(w.tickets, w.sessions) for w in workers for _ in range(2)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        alerts = [a for found in pool.map(lambda j: j.tick(), passes) for a in found]
    assert sorted(a.ticket_reference for a in alerts) == sorted(
        {a.ticket_reference for a in alerts}
    )
    assert len(alerts) == 6
    interim = [
        reply
        for i in range(6)
        for reply in workers[1].outbox.take("test", f"client{i}")
        if "forte activité" in reply.text
    ]
    assert len(interim) == 6
    for worker in workers:
        worker.sessions.kw["bind"].dispose()


def test_one_agent_action_retried_at_once_by_two_workers_is_applied_once(
    settings: Settings, clock: Clock, content: Content, matcher: Router, chat: Chat
) -> None:
    chat.press("flow:human-agent")
    chat.say("Une question sur ma commande")
    done = chat.press("confirm")
    ref = next(w.strip(".,()") for w in done.split() if w.startswith("SAV-"))
    workers = [
        build_engine(settings, clock=clock, content=content, matcher=matcher) for _ in range(4)
    ]
    desks = [build_desk(worker) for worker in workers]

    def retry(n: int) -> bool:
        view = desks[n % len(desks)].reply(ref, "lea", "Nous regardons.", key="retry-7")
        return view.repeated

    with ThreadPoolExecutor(max_workers=8) as pool:
        repeated = list(pool.map(retry, range(8)))
    assert repeated.count(False) == 1  # applied by exactly one of the eight attempts
    assert [r.text for r in workers[0].outbox.take("test", "alice")] == [f"[{ref}] Nous regardons."]
    for worker in workers:
        worker.sessions.kw["bind"].dispose()
