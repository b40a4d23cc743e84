"""The state of a conversation between two turns, typed: its language, the request in
progress (flow, step, answers so far), the request offered, the ticket handed to a person.

The store keeps it as JSON in the conversation row. ``from_json`` reads every shape the
code has written there, so a session saved before an upgrade resumes where it was: a
missing key, or a value of the wrong type, reads as its default, and an unknown key is
left out. ``to_json`` writes it back in that same shape (a flow always with its id, step,
answers, history and files). Nothing outside this module reads or writes that JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from supportbot.content import FieldType

# The fields whose values a message may give before their question is asked (the dates
# are kept apart: each date question picks its own among them).
SAID_FIELDS = (FieldType.ORDER_NUMBER, FieldType.TRACKING, FieldType.EMAIL)


def _text(raw: Any) -> str | None:
    """A stored string (a number written as one), or None."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return str(raw)
    return None


def _list(raw: Any) -> list[Any]:
    return raw if isinstance(raw, list) else []


def _texts(raw: Any) -> list[str]:
    return [t for t in map(_text, _list(raw)) if t is not None]


def _moment(raw: Any) -> datetime | None:
    """A stored ISO date and time, or None (also for one that does not read as a date)."""
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def _mapping(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else {}


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A customer's file, checked and copied into the store (``path``, named by its
    ``checksum``) or known by the channel's file id: what an attachment is made of."""

    kind: str  # an AttachmentKind value
    name: str
    mime: str
    size: int
    file_id: str | None = None
    file_unique_id: str | None = None
    checksum: str | None = None
    path: str | None = None

    @classmethod
    def from_json(cls, raw: Any) -> FileRecord | None:
        if not isinstance(raw, dict):
            return None
        size = raw.get("size")
        return cls(
            kind=_text(raw.get("kind")) or "",
            name=_text(raw.get("name")) or "",
            mime=_text(raw.get("mime")) or "",
            size=size if isinstance(size, int) and not isinstance(size, bool) else 0,
            file_id=_text(raw.get("file_id")),
            file_unique_id=_text(raw.get("file_unique_id")),
            checksum=_text(raw.get("checksum")),
            path=_text(raw.get("path")),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def same_as(self, other: FileRecord) -> bool:
        """The same content, or the same file at the channel (sent twice)."""
        same_content = bool(self.checksum) and self.checksum == other.checksum
        return same_content or (
            bool(self.file_unique_id) and self.file_unique_id == other.file_unique_id
        )


def _file_records(raw: Any) -> list[FileRecord]:
    return [r for r in map(FileRecord.from_json, _list(raw)) if r is not None]


@dataclass(frozen=True, slots=True)
class SaidDate:
    """A date a message gave, with the words said before it (which moment it is)."""

    day: str  # ISO date
    at: str  # ISO date and time, to the minute
    before: tuple[str, ...] = ()
    timed: bool = False  # a time of day was said with it ("hier à 18h")
    dated: bool = False  # a calendar date, not a relative one ("le 30", not "lundi dernier")

    @classmethod
    def from_json(cls, raw: Any) -> SaidDate | None:
        if not isinstance(raw, dict):
            return None
        day, at = _text(raw.get("day")), _text(raw.get("at"))
        if day is None or at is None:
            return None
        before = tuple(_texts(raw.get("before")))
        return cls(day, at, before, raw.get("timed") is True, raw.get("dated") is True)

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "at": self.at,
            "timed": self.timed,
            "dated": self.dated,
            "before": list(self.before),
        }


@dataclass(slots=True)
class SaidValues:
    """Values messages gave for questions not asked yet: every date said, and the last
    order number, tracking number and e-mail address said (``SAID_FIELDS``)."""

    dates: list[SaidDate] = field(default_factory=list)
    fields: dict[FieldType, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.dates and not self.fields

    @classmethod
    def from_json(cls, raw: Any) -> SaidValues:
        raw = _mapping(raw)
        dates = [d for d in map(SaidDate.from_json, _list(raw.get("dates"))) if d is not None]
        fields = {kind: value for kind in SAID_FIELDS if (value := _text(raw.get(kind.value)))}
        return cls(dates, fields)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {kind.value: value for kind, value in self.fields.items()}
        if self.dates:
            out["dates"] = [d.to_json() for d in self.dates]
        return out


@dataclass(slots=True)
class FlowState:
    """A request in progress: the flow, the question it is at (or the summary) and what
    the customer gave so far."""

    id: str  # the flow's id
    step: str = ""  # the current step's id, or flows.CONFIRM at the summary
    answers: dict[str, str] = field(default_factory=dict)  # by step id
    history: list[str] = field(default_factory=list)  # the steps answered, in order
    files: dict[str, list[FileRecord]] = field(default_factory=dict)  # by step id
    run: str = ""  # this run's id, for the flow statistics
    misses: int = 0  # answers refused in a row at the current question
    said: str = ""  # the message that started it, folded and masked
    said_order: str | None = None  # the order number that message gave (or a request before)
    story: str | None = None  # that message as told (masked), when it tells a story
    said_values: SaidValues = field(default_factory=SaidValues)
    kept: list[str] = field(default_factory=list)  # answered after a step gone back to
    corrected: list[str] = field(default_factory=list)  # gone back to: never prefilled

    @classmethod
    def from_json(cls, raw: Any) -> FlowState | None:
        """The request a stored state holds; None when it holds none (or no flow id)."""
        if not isinstance(raw, dict) or (flow_id := _text(raw.get("id"))) is None:
            return None
        answers = {
            str(step): answer
            for step, value in _mapping(raw.get("answers")).items()
            if (answer := _text(value)) is not None  # a null answer (long ago) was a skip
        }
        misses = raw.get("misses")
        return cls(
            id=flow_id,
            step=_text(raw.get("step")) or "",
            answers=answers,
            history=_texts(raw.get("history")),
            files={
                str(step): _file_records(items)
                for step, items in _mapping(raw.get("files")).items()
            },
            run=_text(raw.get("run")) or "",
            misses=misses if isinstance(misses, int) and not isinstance(misses, bool) else 0,
            said=_text(raw.get("said")) or "",
            said_order=_text(raw.get("said_order")) or None,
            story=_text(raw.get("story")) or None,
            said_values=SaidValues.from_json(raw.get("said_values")),
            kept=_texts(raw.get("kept")),
            corrected=_texts(raw.get("corrected")),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "step": self.step,
            "answers": dict(self.answers),
            "history": list(self.history),
            "files": {step: [f.to_json() for f in items] for step, items in self.files.items()},
        }
        optional: dict[str, Any] = {
            "run": self.run,
            "misses": self.misses,
            "said": self.said,
            "said_order": self.said_order,
            "story": self.story,
            "said_values": self.said_values.to_json(),
            "kept": list(self.kept),
            "corrected": list(self.corrected),
        }
        return out | {key: value for key, value in optional.items() if value}


@dataclass(frozen=True, slots=True)
class Offer:
    """A request offered under a reply, with what the customer had said (masked): taken
    up, it starts from those words."""

    flow: str
    said: str = ""

    @classmethod
    def from_json(cls, raw: Any) -> Offer | None:
        if not isinstance(raw, dict):
            return None
        return cls(_text(raw.get("flow")) or "", _text(raw.get("said")) or "")

    def to_json(self) -> dict[str, Any]:
        return {"flow": self.flow, "said": self.said}


@dataclass(slots=True)
class ConversationState:
    """What a chat remembers between turns; one per conversation row."""

    lang: str | None = None  # the language the chat is held in, once chosen or followed
    flow: FlowState | None = None  # the request in progress
    offered: Offer | None = None  # the request offered under the last reply
    early_files: list[FileRecord] = field(default_factory=list)  # sent before any request
    last_question: str = ""  # the last question read by the matcher (masked)
    handoff: str | None = None  # the reference of the ticket handed to a person
    aside_at: datetime | None = None  # when the customer last stepped aside from an agent
    wrote_at: datetime | None = None  # when the customer last wrote (reconnecting aside)
    recent: list[float] = field(default_factory=list)  # message times (POSIX) in the last minute
    forget_pending: bool = False  # "/forget" asked yes or no; the next message answers

    @classmethod
    def from_json(cls, raw: Any) -> ConversationState:
        """The state as stored (any shape the code wrote; None or {} for a new chat)."""
        raw = _mapping(raw)
        return cls(
            lang=_text(raw.get("lang")),
            flow=FlowState.from_json(raw.get("flow")),
            offered=Offer.from_json(raw.get("offered")),
            early_files=_file_records(raw.get("early_files")),
            last_question=_text(raw.get("last_question")) or "",
            handoff=_text(raw.get("handoff")) or None,
            aside_at=_moment(raw.get("aside_at")),
            wrote_at=_moment(raw.get("wrote_at")),
            recent=[
                float(t)
                for t in _list(raw.get("recent"))
                if isinstance(t, int | float) and not isinstance(t, bool)
            ],
            forget_pending=raw.get("forget_pending") is True,
        )

    def to_json(self) -> dict[str, Any]:
        """The state to store; what is unset is left out, as a new chat has it."""
        values: dict[str, Any] = {
            "lang": self.lang,
            "flow": self.flow.to_json() if self.flow is not None else None,
            "offered": self.offered.to_json() if self.offered is not None else None,
            "early_files": [f.to_json() for f in self.early_files],
            "last_question": self.last_question,
            "handoff": self.handoff,
            "aside_at": self.aside_at.isoformat() if self.aside_at is not None else None,
            "wrote_at": self.wrote_at.isoformat() if self.wrote_at is not None else None,
            "recent": list(self.recent),
            "forget_pending": self.forget_pending,
        }
        out = {key: value for key, value in values.items() if value}
        return out if self.lang is None else out | {"lang": self.lang}

    def stored_files(self) -> list[FileRecord]:
        """The files this chat holds: those of its request in progress and those sent
        before any request was started."""
        files = list(self.early_files)
        if self.flow is not None:
            files += [f for items in self.flow.files.values() for f in items]
        return files
