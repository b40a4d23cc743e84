"""The typed conversation state: what it reads from the store and writes back, and chats
saved by the version that kept a plain dict resuming where they were."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from conftest import Chat, Clock
from supportbot.content import FieldType
from supportbot.engine import Engine
from supportbot.messages import IncomingFile, Reply
from supportbot.state import (
    ConversationState,
    FileRecord,
    FlowState,
    Offer,
    SaidDate,
    SaidValues,
)
from supportbot.store import Conversation, FlowEvent, Ticket

PHOTO_RECORD: dict[str, Any] = {
    "name": "photo.jpg",
    "mime": "image/jpeg",
    "size": 2052,
    "kind": "image",
    "file_id": None,
    "file_unique_id": None,
    "checksum": "ab" * 32,
    "path": "/files/ab/abab.jpg",
}

# A chat in the middle of a request, as the dict-keeping version stored it (every key it
# wrote, "notes" included, which nothing ever read).
STORED_MID_FLOW: dict[str, Any] = {
    "lang": "fr",
    "wrote_at": "2026-11-24T09:59:00+00:00",
    "recent": [1795514340.0],
    "last_question": "mon colis est arrivé cassé",
    "handoff": "SAV-2611-ABCDE",
    "aside_at": "2026-11-23T18:00:00+00:00",
    "flow": {
        "id": "order-problem",
        "step": "order_date",
        "answers": {"order_number": "123456789", "problem_kind": "damaged"},
        "history": ["order_number", "problem_kind"],
        "files": {"photos": [PHOTO_RECORD]},
        "notes": [],
        "said": "mon colis est arrive casse",
        "said_order": "123456789",
        "story": "mon colis est arrivé cassé, la figurine a un bras en moins, carton écrasé",
        "said_values": {
            "dates": [
                {
                    "day": "2026-11-20",
                    "at": "2026-11-20T10:00",
                    "timed": True,
                    "dated": True,
                    "before": ["commande", "le"],
                }
            ],
            "tracking": "6A12345678901",
        },
        "run": "0123456789abcdef",
        "misses": 1,
        "kept": ["tracking"],
        "corrected": ["problem_kind"],
    },
}


def test_a_stored_state_reads_as_typed_values() -> None:
    state = ConversationState.from_json(STORED_MID_FLOW)
    assert state.lang == "fr"
    assert state.wrote_at == datetime(2026, 11, 24, 9, 59, tzinfo=UTC)
    assert state.aside_at == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    assert state.handoff == "SAV-2611-ABCDE" and state.recent == [1795514340.0]
    flow = state.flow
    assert flow is not None
    assert (flow.id, flow.step, flow.run, flow.misses) == (
        "order-problem",
        "order_date",
        "0123456789abcdef",
        1,
    )
    assert flow.answers == {"order_number": "123456789", "problem_kind": "damaged"}
    assert flow.history == ["order_number", "problem_kind"]
    assert flow.files["photos"][0].checksum == "ab" * 32
    assert flow.said_values.dates == [
        SaidDate("2026-11-20", "2026-11-20T10:00", ("commande", "le"), timed=True, dated=True)
    ]
    assert flow.said_values.fields == {FieldType.TRACKING: "6A12345678901"}
    assert (flow.kept, flow.corrected) == (["tracking"], ["problem_kind"])
    assert flow.story is not None and flow.story.startswith("mon colis est arrivé cassé")
    assert [f.path for f in state.stored_files()] == ["/files/ab/abab.jpg"]


def test_a_stored_state_is_written_back_as_it_was() -> None:
    """The same JSON, but for the key nothing read ("notes"): a worker of the version
    before (a rolling upgrade) reads what this one writes."""
    written = ConversationState.from_json(STORED_MID_FLOW).to_json()
    expected = json.loads(json.dumps(STORED_MID_FLOW))
    del expected["flow"]["notes"]
    assert written == expected


def test_every_field_round_trips_through_json() -> None:
    record = FileRecord(**{**PHOTO_RECORD, "file_id": "AgAD", "file_unique_id": "u1"})
    state = ConversationState(
        lang="en",
        flow=FlowState(
            id="return-refund",
            step="__confirm__",
            answers={"order_number": "987654321"},
            history=["order_number"],
            files={"photos": [record]},
            run="feed",
            misses=2,
            said="i want a refund",
            said_order="987654321",
            story="I want a refund, the lamp came with a cracked base and a crushed shade",
            said_values=SaidValues(
                [SaidDate("2026-11-01", "2026-11-01T08:30", ("received",))],
                {FieldType.EMAIL: "a@example.com", FieldType.ORDER_NUMBER: "987654321"},
            ),
            kept=["photos"],
            corrected=["order_number"],
        ),
        offered=Offer("order-problem", "ma commande 123456789"),
        early_files=[record],
        last_question="where is my parcel",
        handoff="SAV-2611-ABCDE",
        aside_at=datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
        wrote_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
        recent=[1.5, 2.5],
        forget_pending=True,
    )
    stored = json.loads(json.dumps(state.to_json()))  # as the JSON column gives it back
    assert ConversationState.from_json(stored) == state


def test_a_new_chat_is_stored_as_an_empty_state() -> None:
    assert ConversationState.from_json(None) == ConversationState()
    assert ConversationState().to_json() == {}
    assert ConversationState(lang="fr").to_json() == {"lang": "fr"}


@pytest.mark.parametrize(
    "stored",
    [
        {"flow": "order-problem"},
        {"flow": {"step": "order_date"}},  # no flow id: no request in progress
        {"flow": None, "offered": None, "early_files": None, "recent": None},
        {"wrote_at": "yesterday", "aside_at": 12, "recent": ["x", True]},
        {"early_files": ["photo.jpg", None], "offered": "order-problem"},
        {"forget_pending": "yes", "handoff": "", "last_question": None, "extra": {"a": 1}},
    ],
)
def test_values_of_the_wrong_shape_read_as_defaults(stored: dict[str, Any]) -> None:
    assert ConversationState.from_json(stored) == ConversationState()


def test_a_flow_of_odd_shape_keeps_what_it_can() -> None:
    flow = FlowState.from_json(
        {
            "id": "order-problem",
            "answers": {"order_number": 123456789, "tracking": None},  # a skip, long ago
            "history": ["order_number", 3, None],
            "files": {"photos": [{"name": "a.jpg"}, "b.jpg"]},
            "misses": "2",
            "said_values": {
                "dates": [{"day": "2026-11-20"}, {"day": "2026-11-21", "at": "2026-11-21T00:00"}],
                "email": "a@b.fr",
                "x": "y",
            },
        }
    )
    assert flow is not None
    assert flow.step == "" and flow.misses == 0
    assert flow.answers == {"order_number": "123456789"}
    assert flow.history == ["order_number", "3"]
    assert flow.files == {"photos": [FileRecord(kind="", name="a.jpg", mime="", size=0)]}
    untimed = SaidDate("2026-11-21", "2026-11-21T00:00")  # stored before dates said their time
    assert flow.said_values == SaidValues([untimed], {FieldType.EMAIL: "a@b.fr"})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
STATE_KEYS = "lang flow offered early_files recent wrote_at handoff id step answers history"
FLOW_KEYS = "files said_values dates day at kind size path"
state_keys = st.sampled_from(f"{STATE_KEYS} {FLOW_KEYS}".split())
json_states = st.recursive(
    json_values,
    lambda inner: st.dictionaries(state_keys, inner, max_size=5),
    max_leaves=20,
)


@given(json_states)
def test_any_stored_json_reads_and_reads_again_the_same(stored: Any) -> None:
    state = ConversationState.from_json(stored)
    assert ConversationState.from_json(json.loads(json.dumps(state.to_json()))) == state


# -- chats saved by the version that kept a dict, through the engine --------------------


def store_state(engine: Engine, chat: Chat, stored: dict[str, Any]) -> None:
    """Write a chat's state by hand into its conversation row, as an earlier version did."""
    with engine.sessions.begin() as db:
        conversation = db.scalars(
            select(Conversation).where(
                Conversation.channel == "test", Conversation.chat_id == chat.user
            )
        ).one()
        conversation.state = stored


def stored_state(engine: Engine, chat: Chat) -> ConversationState:
    with engine.sessions() as db:
        raw = db.scalar(
            select(Conversation.state).where(
                Conversation.channel == "test", Conversation.chat_id == chat.user
            )
        )
    return ConversationState.from_json(raw)


def test_a_request_stored_as_a_dict_resumes_at_its_question(
    chat: Chat, engine: Engine, clock: Clock, photo: IncomingFile
) -> None:
    chat.say("/start")  # the conversation's row
    record = {**PHOTO_RECORD, "path": photo.path}  # a photo kept before its question
    flow = {
        **STORED_MID_FLOW["flow"],
        "files": {"photos": [record]},
        "said_values": {},
        "kept": [],
        "corrected": [],
        "misses": 0,
    }
    store_state(engine, chat, {**STORED_MID_FLOW, "handoff": None, "flow": flow})
    clock.now += timedelta(minutes=5)

    resumed = chat.say("/start")
    assert "Reprenons votre démarche" in resumed
    assert "Quand avez-vous passé cette commande" in resumed
    assert "numéro de suivi" in chat.say("hier")  # the order date, then the next question
    assert "Décrivez le problème" in chat.say("passer")
    photos = chat.say("La figurine est arrivée cassée en deux dans un carton écrasé.")
    assert "Envoyez des photos" in photos and "done" in chat.buttons  # the kept photo counts
    chat.say("terminé")
    summary = chat.say("passer")
    assert "Récapitulatif" in summary and "123456789" in summary and "Article abîmé" in summary
    chat.press("confirm")

    with engine.sessions() as db:
        [ticket] = db.scalars(select(Ticket)).all()
        assert ticket.order_number == "123456789"
        assert ticket.fields["problem_kind"] == "damaged"
        assert ticket.fields["order_date"] == "2026-11-23"
        assert [a.checksum for a in ticket.attachments] == ["ab" * 32]
        runs = set(db.scalars(select(FlowEvent.run_id)))
        assert runs == {"0123456789abcdef"}  # the same run, not a new one
    assert stored_state(engine, chat).flow is None


def test_an_offer_and_early_files_stored_as_a_dict_are_taken_up(chat: Chat, engine: Engine) -> None:
    chat.say("/start")
    offered = {"flow": "order-problem", "said": "ma commande 123456789 est arrivée cassée"}
    store_state(engine, chat, {"lang": "fr", "offered": offered, "early_files": [PHOTO_RECORD]})
    started = chat.press("flow:order-problem")
    assert "J'ai noté « Numéro de commande » : 123456789" in started
    assert "Quand avez-vous passé cette commande" in started
    flow = stored_state(engine, chat).flow
    assert flow is not None and flow.step == "order_date"
    assert [f.checksum for f in flow.files["photos"]] == ["ab" * 32]
    assert stored_state(engine, chat).early_files == []


def test_a_forget_question_stored_as_a_dict_is_answered(chat: Chat, engine: Engine) -> None:
    chat.say("/start")
    store_state(engine, chat, {"lang": "fr", "forget_pending": True})
    assert "vos données ont été effacées" in chat.say("oui")


def test_a_language_stored_as_a_dict_is_kept(chat: Chat, engine: Engine) -> None:
    chat.say("/start")
    store_state(engine, chat, {"lang": "en"})
    chat.say("/menu")
    assert "theme:orders" in chat.buttons
    shown = [b.label for r in chat.last if isinstance(r, Reply) for b in r.buttons]
    assert "Orders and delivery" in shown
    assert stored_state(engine, chat).lang == "en"
