"""The inbox's search through its indexes: a reference, an order number, an e-mail
given in a flow or as the customer's identity (benchmarks/desk.py times it on 100,000
tickets and shows the query plans)."""

from __future__ import annotations

from sqlalchemy import select

from conftest import Chat, handoff
from supportbot.content import Content
from supportbot.desk.search import EMAIL_FIELDS, search_ids
from supportbot.engine import Engine
from supportbot.store import Ticket


def test_the_email_indexes_cover_every_email_step_of_the_flows(content: Content) -> None:
    steps = {
        step.id for flow in content.flows.values() for step in flow.steps if step.type == "email"
    }
    assert steps == set(EMAIL_FIELDS)  # a new e-mail step needs its index (migration)


def test_a_search_finds_an_email_whole_in_any_case(engine: Engine, chat: Chat) -> None:
    ref = handoff(chat, "Je n'arrive pas à changer l'adresse de livraison")
    with engine.sessions.begin() as db:
        ticket = db.scalar(select(Ticket).where(Ticket.reference == ref))
        assert ticket is not None
        ticket.fields["contact_email"] = "Alice.Martin@Exemple.fr"
    with engine.sessions() as db:
        assert search_ids(db, "alice.martin@exemple.FR") == [ticket.id]
        assert search_ids(db, "martin@exemple.fr") == []  # a whole address, not a part
        assert search_ids(db, ref.lower()) == [ticket.id]


def test_a_search_finds_an_order_number_as_typed_and_a_customer_by_identity(
    engine: Engine,
) -> None:
    customer = Chat(engine, user="Bob.Durand@Exemple.fr")
    ref = handoff(customer, "Ma commande 987654321 est en retard")
    with engine.sessions() as db:
        ticket = db.scalar(select(Ticket).where(Ticket.reference == ref))
        assert ticket is not None and ticket.order_number == "987654321"
        for typed in ("987654321", "#987 654 321", "n°987654321", "bob.durand@exemple.fr"):
            assert search_ids(db, typed) == [ticket.id], typed
