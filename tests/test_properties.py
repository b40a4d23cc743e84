"""Property-based: random messages, buttons and files from many users never break the engine."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportbot.content import FieldType
from supportbot.engine import Engine
from supportbot.flows import CONFIRM
from supportbot.messages import Inbound, IncomingFile, Reply
from supportbot.store import Conversation

PAYLOADS = [
    "flow:order-problem",
    "flow:return-refund",
    "flow:dispute",
    "flow:seller-unresponsive",
    "flow:account-security",
    "flow:gdpr-request",
    "flow:other-request",
    "requests",
    "flow:human-agent",
    "choice:damaged",
    "choice:late",
    "choice:yes",
    "choice:no",
    "choice:changed_mind",
    "choice:erasure",
    "skip",
    "back",
    "cancel",
    "done",
    "confirm",
    "resume",
    "menu",
    "theme:returns",
    "faq:invoice",
    "faq:nope",
    "fb:down:invoice",
    "rate:SAV-0000-AAAAA:5",
    "solution:yes:SAV-0000-AAAAA",
    "forget:no",
    "lang:en",
    "lang:fr",
    "garbage:::",
]
TEXTS = [
    "123456789",
    "hier",
    "12/11",
    "oui",
    "non",
    "alice@example.com",
    "passer",
    "retour",
    "terminé",
    "confirmer",
    "annuler",
    "Une description assez longue pour passer.",
    "6A12345678901",
    "ou est ma facture",
    "/start",
    "/menu",
    "/cancel",
    "/tickets",
    "/agent",
    "/lang en",
    "",
    "😡",
    "\u200b",
    "x" * 5000,
]
FILES = [
    IncomingFile(name="a.jpg", mime="image/jpeg", size=1000, file_id="f1"),
    IncomingFile(name="b.pdf", mime="application/pdf", size=2000, file_id="f2"),
    IncomingFile(name="c.ogg", mime="audio/ogg", size=3000, file_id="f3"),
    IncomingFile(name="d.mp4", mime="video/mp4", size=30 * 1024 * 1024, file_id="f4"),
]

events = st.tuples(
    st.sampled_from(["u1", "u2", "u3"]),
    st.one_of(
        st.sampled_from(TEXTS).map(lambda t: (t, None, ())),
        st.text(max_size=40).map(lambda t: (t, None, ())),
        st.sampled_from(PAYLOADS).map(lambda p: ("", p, ())),
        st.lists(st.sampled_from(FILES), min_size=1, max_size=3).map(
            lambda f: ("", None, tuple(f))
        ),
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(events, min_size=1, max_size=30))
def test_random_conversations_keep_a_valid_state(engine: Engine, script) -> None:  # type: ignore[no-untyped-def]
    for user, (text, payload, files) in script:
        actions = engine.handle(
            Inbound(
                channel="prop", user_id=user, chat_id=user, text=text, payload=payload, files=files
            )
        )
        assert all(isinstance(a.text, str) for a in actions if isinstance(a, Reply))
    content = engine.content
    with engine.sessions() as db:
        for conv in db.query(Conversation).all():
            flow_state = conv.state.get("flow")
            if flow_state is None:
                continue
            flow = content.flows[flow_state["id"]]
            assert flow_state["step"] in {s.id for s in flow.steps} | {CONFIRM}
            assert all(h in {s.id for s in flow.steps} for h in flow_state["history"])
        for ticket in engine.tickets.search(db):
            flow = content.flows[ticket.flow_id]
            for step in flow.steps:
                if step.type is FieldType.ATTACHMENTS or step.optional or step.when:
                    continue
                if step.required_when is None:
                    assert step.id in ticket.fields, (ticket.flow_id, step.id)
            assert all(Path(a.name).suffix in (".jpg", ".pdf", ".mp4") for a in ticket.attachments)
            assert all(a.size <= 20 * 1024 * 1024 for a in ticket.attachments)
