"""Plays scripted customer conversations against the real engine and checks what they left.

A case (evals/blind/FORMAT.md) is what a customer types, turn by turn, with
agent actions and time passing in between; ``when_asked`` gives what the
customer answers when the bot asks for something the script did not foresee.
Expectations are on the ticket left (flow, status, fields, rating), on no
ticket at all, and on key facts in the bot's replies. Each case runs on a
fresh customer of one store, on its own clock.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select

from supportbot.agents import AgentDesk
from supportbot.app import build_desk, build_engine
from supportbot.config import Settings
from supportbot.content import Content, FieldType, Flow
from supportbot.engine import Engine
from supportbot.flows import CONFIRM
from supportbot.jobs import Jobs
from supportbot.messages import Inbound, IncomingFile, Reply
from supportbot.normalise import strip_accents
from supportbot.routing import Router
from supportbot.state import ConversationState
from supportbot.store import Attachment, Conversation, Customer, Ticket

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_START = datetime(2026, 12, 7, 10, 0, tzinfo=PARIS)
EXTRA_ROUNDS = 12  # answers taken from `when_asked` once the script is over
CHANNEL = "eval"
AGENT = "eval-agent"

# Tiny but real files: their bytes are judged, not their names.
_FILES = {
    "photo": ("photo.jpg", "image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 2048),
    "screenshot": ("capture.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048),
    "pdf": ("document.pdf", "application/pdf", b"%PDF-1.4\n" + b"%" * 2048),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Turn(_Strict):
    say: str | None = None
    attach: Literal["photo", "screenshot", "pdf"] | None = None
    wait: str | None = None
    agent: Literal["ask", "propose", "reply", "close"] | None = None
    text: str | None = None
    expect: list[str | list[str]] = Field(default_factory=list)

    @field_validator("wait")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class TicketExpectation(_Strict):
    flow: str | None = None
    status: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    rating: int | None = None


class Expectation(_Strict):
    ticket: TicketExpectation | Literal["none"] | None = None
    replies_contain: list[str | list[str]] = Field(default_factory=list)
    replies_not_contain: list[str] = Field(default_factory=list)


class ConversationCase(_Strict):
    id: str
    lang: Literal["fr", "en"] = "fr"
    now: str | None = None
    about: str = ""
    turns: list[Turn]
    when_asked: dict[str, Any] = Field(default_factory=dict)
    expect: Expectation = Field(default_factory=Expectation)

    def start(self) -> datetime:
        if self.now is None:
            return DEFAULT_START
        return datetime.fromisoformat(self.now).replace(tzinfo=PARIS)


def parse_duration(value: str) -> timedelta:
    units = {"m": "minutes", "h": "hours", "d": "days"}
    value = value.strip()
    if len(value) < 2 or value[-1] not in units or not value[:-1].replace(".", "").isdigit():
        raise ValueError(f"a duration is a number and m, h or d ('30h'), not {value!r}")
    return timedelta(**{units[value[-1]]: float(value[:-1])})


def load_conversations(folder: Path) -> list[ConversationCase]:
    """Every case of every YAML file of the folder, in file order; errors name file and case."""
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else [folder]
    if not files:
        raise ValueError(f"{folder}: no .yaml file of conversations")
    cases: list[ConversationCase] = []
    for path in files:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(raw, list):
            raise ValueError(f"{path}: expected a YAML list of conversations")
        for i, item in enumerate(raw, 1):
            name = item.get("id", f"#{i}") if isinstance(item, dict) else f"#{i}"
            try:
                cases.append(ConversationCase.model_validate(item))
            except ValidationError as exc:
                where = "; ".join(
                    f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
                )
                raise ValueError(f"{path.name}, case {name}: {where}") from None
    return cases


def half(items: list[Any], which: str) -> list[Any]:
    """The dev half (even positions), the test half (odd positions) or all."""
    if which == "dev":
        return items[0::2]
    if which == "test":
        return items[1::2]
    return list(items)


def fold(text: str) -> str:
    return " ".join(strip_accents(text).lower().split())


@dataclass
class CaseResult:
    case: ConversationCase
    failures: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class _Clock:
    now: datetime = DEFAULT_START

    def __call__(self) -> datetime:
        return self.now.astimezone(UTC)


@dataclass
class ConversationRunner:
    engine: Engine
    desk: AgentDesk
    jobs: Jobs
    clock: _Clock
    files_dir: Path

    def run(self, case: ConversationCase) -> CaseResult:
        self.clock.now = case.start()
        result = CaseResult(case)
        session = _Session(self, case, result)
        for turn in case.turns:
            session.play(turn)
        session.answer_what_is_asked()
        check(self, case, result)
        return result


@dataclass
class _Session:
    runner: ConversationRunner
    case: ConversationCase
    result: CaseResult
    used: dict[str, int] = field(default_factory=dict)

    @property
    def user(self) -> str:
        return f"eval-{self.case.id}"

    def play(self, turn: Turn) -> None:
        if turn.wait:
            self.runner.clock.now += parse_duration(turn.wait)
            self.runner.jobs.tick()
            self._note("(time passes)", self._delivered())
            return
        if turn.agent:
            # an agent sees a ticket only once it is filed: the customer has answered first
            self.answer_what_is_asked()
            self._agent(turn.agent, turn.text or "")
            return
        files = (self._file(turn.attach),) if turn.attach else ()
        if files:  # asked for files later, the customer has sent theirs: "done"
            self.used["files"] = self.used.get("files", 0) + 1
        texts = self._send(turn.say or "", files)
        label = (turn.say or "") + (f" [{turn.attach}]" if turn.attach else "")
        self._note(label, texts)
        said = fold("\n".join(texts))
        for wanted in turn.expect:
            if not _contains(said, wanted):
                self.result.failures.append(f"reply to {label!r} lacks {wanted!r}")

    def answer_what_is_asked(self) -> None:
        for _ in range(EXTRA_ROUNDS):
            kind = self._asked()
            if kind is None:
                return
            answer = self._answer_for(kind)
            if answer is None and self._optional_now():
                # a question the script's writer never saw, and the customer may skip
                answer = _SKIP[self.case.lang]
            if answer is None and kind == "text":
                # asked to describe what the script never described again: the customer
                # tells their story once more, its numbers aside (given already)
                first = next((t.say for t in self.case.turns if t.say), "")
                answer = " ".join(w for w in first.split() if not any(c.isdigit() for c in w))
            if answer is None:
                self.result.failures.append(f"the bot still asks for {kind}; no answer given")
                return
            if answer in _FILES:
                texts = self._send("", (self._file(answer),))
            else:
                texts = self._send(answer, ())
            self._note(f"{answer} (when asked: {kind})", texts)

    def _answer_for(self, kind: str) -> str | None:
        if kind == "files" and self.used.get("files"):  # files given: the customer is done
            return str(self.case.when_asked.get("done", _DONE[self.case.lang]))
        given = self.case.when_asked.get(kind)
        if kind == "date" and given is None:
            given = self.case.when_asked.get("datetime")
        if given is None:
            return None
        values = given if isinstance(given, list) else [given]
        index = self.used.get(kind, 0)
        if index >= len(values):  # free texts are used once each; a value may be asked again
            if kind == "text":
                return None
            index = len(values) - 1
        self.used[kind] = index + 1
        return str(values[index])

    def _asked(self) -> str | None:
        """What the flow in progress asks now, as a `when_asked` kind."""
        flow, step_id = self._flow_now()
        if flow is None:
            return None
        if step_id == CONFIRM:
            return "confirm"
        return _KINDS.get(flow.step(step_id).type, "text")

    def _optional_now(self) -> bool:
        """The flow in progress asks an optional question (one that can be skipped)."""
        flow, step_id = self._flow_now()
        if flow is None or step_id == CONFIRM:
            return False
        return bool(flow.step(step_id).optional)

    def _flow_now(self) -> tuple[Flow | None, str]:
        """The flow in progress and the step it is at, as the store has them."""
        engine = self.runner.engine
        with engine.sessions() as db:
            stored = db.scalar(
                select(Conversation.state).where(
                    Conversation.channel == CHANNEL, Conversation.chat_id == self.user
                )
            )
        flow_state = ConversationState.from_json(stored).flow
        if flow_state is None or not flow_state.step:
            return None, ""
        return engine.content.flows.get(flow_state.id), flow_state.step

    def _send(self, text: str, files: tuple[IncomingFile, ...]) -> list[str]:
        actions = self.runner.engine.handle(
            Inbound(
                channel=CHANNEL,
                user_id=self.user,
                chat_id=self.user,
                text=text,
                language=self.case.lang,
                user_name="Client Eval",
                files=files,
            )
        )
        texts = [a.text + _buttons(a) for a in actions if isinstance(a, Reply)]
        self.runner.clock.now += timedelta(seconds=20)
        return texts + self._delivered()

    def _delivered(self) -> list[str]:
        taken = self.runner.engine.outbox.take(CHANNEL, self.user)
        return [r.text + _buttons(r) for r in taken]

    def _agent(self, action: str, text: str) -> None:
        ticket = latest_ticket(self.runner.engine, self.user)
        if ticket is None:
            self.result.failures.append(f"agent {action}: the customer has no ticket")
            return
        desk = self.runner.desk
        try:
            if action == "ask":
                desk.ask(ticket.reference, AGENT, text)
            elif action == "propose":
                desk.propose(ticket.reference, AGENT, text)
            elif action == "reply":
                desk.reply(ticket.reference, AGENT, text)
            elif ticket.status != "closed":  # the customer's yes closed it already
                desk.close(ticket.reference, AGENT, text)
        except ValueError as exc:
            self.result.failures.append(f"agent {action} refused: {exc}")
        self.runner.clock.now += timedelta(minutes=5)
        self._note(f"(agent {action}) {text}", self._delivered())

    def _file(self, kind: str) -> IncomingFile:
        name, mime, data = _FILES[kind]
        path = self.runner.files_dir / f"{self.case.id}-{len(self.result.transcript)}-{name}"
        path.write_bytes(data + path.name.encode())
        return IncomingFile(name=name, mime=mime, size=len(data), path=str(path))

    def _note(self, said: str, texts: list[str]) -> None:
        self.result.transcript.append(f"> {said}")
        self.result.transcript.extend(f"  {line}" for t in texts for line in t.splitlines())


_DONE = {"fr": "c'est tout", "en": "that's all"}
_SKIP = {"fr": "passer", "en": "skip"}
_KINDS = {
    FieldType.ORDER_NUMBER: "order_number",
    FieldType.DATE: "date",
    FieldType.DATETIME: "date",
    FieldType.TRACKING: "tracking",
    FieldType.EMAIL: "email",
    FieldType.CHOICE: "kind",
    FieldType.TEXT: "text",
    FieldType.ATTACHMENTS: "files",
    FieldType.YESNO: "yesno",
}


def _buttons(reply: Reply) -> str:
    if not reply.buttons:
        return ""
    return "\n" + "  ".join(f"[{b.label}]" for b in reply.buttons)


def _contains(folded: str, wanted: str | list[str]) -> bool:
    options = wanted if isinstance(wanted, list) else [wanted]
    return any(fold(str(option)) in folded for option in options)


def latest_ticket(engine: Engine, user: str) -> Ticket | None:
    with engine.sessions() as db:
        return db.scalars(
            select(Ticket)
            .join(Customer, Ticket.customer_id == Customer.id)
            .where(Customer.channel == CHANNEL, Customer.external_id == user)
            .order_by(Ticket.id.desc())
        ).first()


def _tickets(engine: Engine, user: str) -> list[tuple[Ticket, int]]:
    with engine.sessions() as db:
        rows = db.scalars(
            select(Ticket)
            .join(Customer, Ticket.customer_id == Customer.id)
            .where(Customer.channel == CHANNEL, Customer.external_id == user)
            .order_by(Ticket.id)
        ).all()
        counts = [
            len(db.scalars(select(Attachment.id).where(Attachment.ticket_id == t.id)).all())
            for t in rows
        ]
        return list(zip(rows, counts, strict=True))


def check(runner: ConversationRunner, case: ConversationCase, result: CaseResult) -> None:
    user = f"eval-{case.id}"
    said = fold("\n".join(line for line in result.transcript if not line.startswith(">")))
    for wanted in case.expect.replies_contain:
        if not _contains(said, wanted):
            result.failures.append(f"no reply contains {wanted!r}")
    for unwanted in case.expect.replies_not_contain:
        if fold(unwanted) in said:
            result.failures.append(f"a reply contains {unwanted!r}")
    tickets = _tickets(runner.engine, user)
    wanted_ticket = case.expect.ticket
    if wanted_ticket == "none":
        if tickets:
            result.failures.append(
                f"expected no ticket, got {', '.join(t.flow_id for t, _ in tickets)}"
            )
        return
    if wanted_ticket is None:
        return
    if len(tickets) != 1:
        result.failures.append(f"expected one ticket, got {len(tickets)}")
        if not tickets:
            return
    ticket, files = tickets[-1]
    if wanted_ticket.flow and ticket.flow_id != wanted_ticket.flow:
        result.failures.append(f"ticket flow {ticket.flow_id}, expected {wanted_ticket.flow}")
    if wanted_ticket.status and ticket.status != wanted_ticket.status:
        result.failures.append(f"ticket status {ticket.status}, expected {wanted_ticket.status}")
    if wanted_ticket.rating is not None and ticket.rating != wanted_ticket.rating:
        result.failures.append(f"rating {ticket.rating}, expected {wanted_ticket.rating}")
    flow = runner.engine.content.flows.get(ticket.flow_id)
    for name, value in wanted_ticket.fields.items():
        problem = _field_problem(runner.engine.content, flow, ticket, files, name, value)
        if problem:
            result.failures.append(problem)


def _field_problem(
    content: Content, flow: Any, ticket: Ticket, files: int, name: str, value: Any
) -> str | None:
    if name == "files":
        return None if files >= int(value) else f"{files} file(s), expected at least {value}"
    kinds = {
        "order_number": (FieldType.ORDER_NUMBER,),
        "date": (FieldType.DATE, FieldType.DATETIME),
        "tracking": (FieldType.TRACKING,),
        "email": (FieldType.EMAIL,),
        "kind": (FieldType.CHOICE,),
        "seller_contacted": (FieldType.YESNO,),
    }.get(name)
    if kinds is None:
        got = ticket.fields.get(name)
    else:
        steps = [s.id for s in flow.steps if s.type in kinds] if flow else []
        got = next((ticket.fields.get(s) for s in steps if ticket.fields.get(s) is not None), None)
        if name == "order_number" and got is None:
            got = ticket.order_number
    if _same(name, got, value):
        return None
    return f"field {name} = {got!r}, expected {value!r}"


def _same(name: str, got: Any, wanted: Any) -> bool:
    if got is None:
        return False
    if name == "date":
        wanted_day = wanted if isinstance(wanted, date) else date.fromisoformat(str(wanted)[:10])
        return str(got)[:10] == wanted_day.isoformat()
    if name == "seller_contacted":
        yes = {True: True, "yes": True, "oui": True, False: False, "no": False, "non": False}
        return yes.get(got) == yes.get(wanted if not isinstance(wanted, str) else wanted.lower())
    folded_got = fold(str(got)).replace(" ", "")
    return folded_got == fold(str(wanted)).replace(" ", "")


@contextmanager
def conversation_runner(
    root: Path, content: Content | None = None, matcher: Router | None = None
) -> Iterator[ConversationRunner]:
    """A runner on a fresh SQLite store in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="supportbot-eval-") as tmp:
        folder = Path(tmp)
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite:///{folder}/eval.db",
            content_dir=root,
            files_dir=folder / "files",
        )
        (folder / "in").mkdir()
        clock = _Clock()
        engine = build_engine(settings, clock=clock, content=content, matcher=matcher)
        try:
            jobs = Jobs(engine.tickets, engine.sessions, settings.job_settings())
            yield ConversationRunner(engine, build_desk(engine), jobs, clock, folder / "in")
        finally:
            engine.sessions.kw["bind"].dispose()


@dataclass
class ConversationReport:
    results: list[CaseResult]

    @property
    def passed(self) -> int:
        return sum(r.ok for r in self.results)

    @property
    def rate(self) -> float:
        return self.passed / len(self.results) if self.results else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": len(self.results),
            "completed": self.passed,
            "rate": round(self.rate, 4),
            "failures": {r.case.id: r.failures for r in self.results if not r.ok},
        }

    def render(self, transcripts: bool = False) -> str:
        lines = [
            f"conversations completed correctly: {self.passed}/{len(self.results)}"
            f" = {self.rate:.1%}"
        ]
        for r in self.results:
            if r.ok:
                continue
            lines.append(f"- {r.case.id}: " + "; ".join(r.failures))
            if transcripts:
                lines.extend(f"    {line}" for line in r.transcript)
        return "\n".join(lines)


def run_conversations(
    cases: list[ConversationCase],
    root: Path,
    content: Content | None = None,
    matcher: Router | None = None,
) -> ConversationReport:
    with conversation_runner(root, content, matcher) as runner:
        return ConversationReport([runner.run(case) for case in cases])
