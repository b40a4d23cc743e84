"""Loads the FAQ and flow YAML files into typed, frozen models, or says what is wrong.

Every problem names the file, the entry and the field, so a content editor can
fix it without reading code. Loading collects all problems before failing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from supportbot.lexicon import SHIPPED_LEXICON, Lexicon, LexiconError, load_lexicon
from supportbot.normalise import normalise
from supportbot.synonyms import load_synonyms

LANGUAGES = ("fr", "en")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(_Strict):
    """A text in French and English; both are required."""

    fr: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.fr


class LocalizedList(_Strict):
    fr: list[str] = Field(min_length=1)
    en: list[str] = Field(min_length=1)

    def all(self) -> list[str]:
        return [*self.fr, *self.en]


class FaqEntry(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: Localized
    questions: LocalizedList
    answer: Localized
    related: tuple[str, ...] = ()
    flow: str | None = None
    # The answer gives what a customer asks for ("je veux ma facture"): a want of this
    # topic is information to give, not an action for a flow of another topic.
    gives: bool = False


class FaqFile(_Strict):
    theme: str = Field(min_length=1)
    entries: list[FaqEntry] = Field(min_length=1)


class FieldType(StrEnum):
    TEXT = "text"
    CHOICE = "choice"
    YESNO = "yesno"
    ORDER_NUMBER = "order_number"
    DATE = "date"
    DATETIME = "datetime"
    EMAIL = "email"
    TRACKING = "tracking"
    ATTACHMENTS = "attachments"


class AttachmentKind(StrEnum):
    IMAGE = "image"
    PDF = "pdf"
    VIDEO = "video"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class DueRule(StrEnum):
    """How a ticket's due time is computed from its creation."""

    BUSINESS_HOURS = "business_hours"
    GDPR_MONTH = "gdpr_month"


class Rule(StrEnum):
    """Computed notices attached to a step; their logic lives in flows.rules."""

    RETURN_ELIGIBILITY = "return_eligibility"
    SELLER_WAIT = "seller_wait"


class Choice(_Strict):
    value: str = Field(pattern=r"^[a-z0-9_]+$")
    label: Localized
    aliases: tuple[str, ...] = ()
    # Ideas of matching/synonyms.yaml whose every word names this choice too ("tordu",
    # "crushed": damaged), so the words customers use live in one table, not per flow.
    ideas: tuple[str, ...] = ()
    # The ideas' words, folded as the synonym table holds them (filled at load): said
    # exactly, never as a near spelling ("swapped" is not "snapped").
    idea_words: tuple[str, ...] = ()


class Condition(_Strict):
    """True when the answer to ``field`` is one of ``in`` (yes/no answers are "yes"/"no")."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    field: str
    values: tuple[str, ...] = Field(alias="in", min_length=1)


class AnswerIf(_Strict):
    """A message tied to this step's own answer being one of ``in``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    values: tuple[str, ...] = Field(alias="in", min_length=1)
    message: Localized


class Step(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    type: FieldType
    label: Localized
    prompt: Localized
    optional: bool = False
    required_when: Condition | None = None
    when: Condition | None = None
    min_length: int = Field(default=2, ge=0)
    max_length: int = Field(default=2000, ge=1)
    choices: tuple[Choice, ...] = ()
    min_count: int = Field(default=1, ge=0)
    max_count: int = Field(default=10, ge=1)
    kinds: tuple[AttachmentKind, ...] = tuple(AttachmentKind)
    rule: Rule | None = None
    notice_if: AnswerIf | None = None
    stop_if: AnswerIf | None = None
    # For a date question, the moment it asks about (a name of the lexicon's date_cues:
    # order, receipt, contact, incident), so a sentence with two dates answers it right.
    date_of: str | None = None
    # For a free-text question (a description), the message that started the request
    # answers it when it tells a story (see flows.STORY_WORDS): asked again, never.
    from_story: bool = False

    @field_validator("from_story")
    @classmethod
    def _story_is_text(cls, from_story: bool, info: ValidationInfo) -> bool:
        if from_story and info.data.get("type") is not FieldType.TEXT:
            raise ValueError("only a free-text question (type: text) can take the story")
        return from_story


class TicketSpec(_Strict):
    category: str = Field(pattern=r"^[a-z0-9_-]+$")
    priority: Priority = Priority.NORMAL
    due: DueRule = DueRule.BUSINESS_HOURS
    handoff: bool = False


class Flow(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: Localized
    description: Localized
    triggers: LocalizedList
    intro: Localized | None = None
    steps: tuple[Step, ...] = ()
    ticket: TicketSpec | None = None
    done: Localized | None = None

    @field_validator("steps")
    @classmethod
    def _unique_steps(cls, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        seen: set[str] = set()
        for step in steps:
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice")
            seen.add(step.id)
        return steps

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in the content, located as precisely as possible."""

    file: str
    entry: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: entry {self.entry!r}" if self.entry else self.file
        if self.field:
            where += f", field {self.field!r}"
        return f"{where}: {self.message}"


class ContentError(Exception):
    """The FAQ or the flows are invalid; ``problems`` lists each one."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the content:\n{lines}")


OUT_OF_SCOPE_LABEL = "none:out-of-scope"
SYNONYMS = "matching/synonyms.yaml"


@dataclass(frozen=True)
class Content:
    """Validated FAQ entries (by id, in file order), flows (by id), out-of-scope phrasings."""

    faq: dict[str, FaqEntry]
    themes: dict[str, tuple[str, ...]]
    flows: dict[str, Flow]
    lexicon: Lexicon
    out_of_scope: tuple[str, ...] = ()
    # matching/synonyms.yaml: folded word or lemma -> the idea it names (for the matcher)
    synonyms: dict[str, str] = dataclass_field(default_factory=dict)

    def pairs(self) -> list[tuple[str, str]]:
        """(label, phrasing) pairs for the matcher: FAQ questions, flow triggers, out of scope."""
        out = [(f"faq:{e.id}", q) for e in self.faq.values() for q in e.questions.all()]
        out += [(f"flow:{f.id}", t) for f in self.flows.values() for t in f.triggers.all()]
        out += [(OUT_OF_SCOPE_LABEL, t) for t in self.out_of_scope]
        return out


def load_out_of_scope(path: Path, problems: list[Problem]) -> tuple[str, ...]:
    """The optional list of questions the support page does not answer."""
    if not path.exists():
        return ()
    raw = _read_yaml(path, problems)
    if raw is None:
        return ()
    try:
        parsed = LocalizedList.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_validation_problems(path.name, exc, raw, None))
        return ()
    return tuple(parsed.all())


def _read_yaml(path: Path, problems: list[Problem]) -> Any:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        what = (
            " ".join(str(p) for p in (getattr(exc, "context", None), exc.problem) if p)
            if (isinstance(exc, yaml.MarkedYAMLError))
            else str(exc)
        )
        problems.append(Problem(path.name, "", "", f"invalid YAML{where}: {what}"))
        return None
    except OSError as exc:
        problems.append(Problem(path.name, "", "", f"cannot read: {exc}"))
        return None
    if raw is None:  # an emptied file would silently take its entries away
        problems.append(Problem(path.name, "", "", "the file is empty"))
    return raw


def _validation_problems(
    file: str, exc: ValidationError, raw: Any, list_key: str | None
) -> Iterable[Problem]:
    for err in exc.errors():
        loc = list(err["loc"])
        entry = ""
        if list_key and len(loc) >= 2 and loc[0] == list_key and isinstance(loc[1], int):
            items = raw.get(list_key) if isinstance(raw, dict) else None
            item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
            ident = item.get("id") if isinstance(item, dict) else None
            entry = str(ident) if ident else f"#{loc[1] + 1}"
            loc = loc[2:]
        elif isinstance(raw, dict) and list_key is None:
            entry = str(raw.get("id", ""))
        if loc[:1] == ["steps"] and len(loc) >= 2 and isinstance(loc[1], int):
            steps = raw.get("steps") if isinstance(raw, dict) else None
            step = steps[loc[1]] if isinstance(steps, list) and loc[1] < len(steps) else None
            name = step.get("id") if isinstance(step, dict) else None
            loc = ["steps", str(name or f"#{loc[1] + 1}"), *loc[2:]]
        field = ".".join(str(part) for part in loc)
        yield Problem(file, entry, field, err["msg"])


def load_faq(folder: Path, problems: list[Problem]) -> tuple[dict[str, FaqEntry], dict[str, Any]]:
    entries: dict[str, FaqEntry] = {}
    themes: dict[str, tuple[str, ...]] = {}
    owners: dict[str, str] = {}
    files = sorted(folder.glob("*.yaml"))
    if not files:
        problems.append(Problem(str(folder), "", "", "no FAQ file (*.yaml) found"))
    for path in files:
        raw = _read_yaml(path, problems)
        if raw is None:
            continue
        try:
            parsed = FaqFile.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_validation_problems(path.name, exc, raw, "entries"))
            continue
        ids: list[str] = []
        for entry in parsed.entries:
            if entry.id in entries:
                where = owners[entry.id]
                problems.append(
                    Problem(path.name, entry.id, "id", f"duplicate id (also in {where})")
                )
                continue
            entries[entry.id] = entry
            owners[entry.id] = path.name
            ids.append(entry.id)
        themes[parsed.theme] = (*themes.get(parsed.theme, ()), *ids)
    return entries, {"themes": themes, "owners": owners}


def load_flows(folder: Path, problems: list[Problem]) -> tuple[dict[str, Flow], dict[str, str]]:
    flows: dict[str, Flow] = {}
    owners: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        raw = _read_yaml(path, problems)
        if raw is None:
            continue
        try:
            flow = Flow.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_validation_problems(path.name, exc, raw, None))
            continue
        if flow.id in flows:
            problems.append(
                Problem(path.name, flow.id, "id", f"duplicate id (also in {owners[flow.id]})")
            )
            continue
        flows[flow.id] = flow
        owners[flow.id] = path.name
        problems.extend(_check_flow(path.name, flow))
    return flows, owners


def _check_flow(file: str, flow: Flow) -> Iterable[Problem]:
    seen: dict[str, Step] = {}
    for step in flow.steps:
        where = f"steps.{step.id}"
        if step.type is FieldType.CHOICE and not step.choices:
            yield Problem(file, flow.id, f"{where}.choices", "a choice step needs choices")
        for key, cond in (("when", step.when), ("required_when", step.required_when)):
            if cond is not None and cond.field not in seen:
                yield Problem(
                    file,
                    flow.id,
                    f"{where}.{key}",
                    f"refers to {cond.field!r}, not an earlier step",
                )
            elif cond is not None:
                yield from _check_values(
                    file, flow.id, f"{where}.{key}", seen[cond.field], cond.values
                )
        for key, answer_if in (("notice_if", step.notice_if), ("stop_if", step.stop_if)):
            if answer_if is not None:
                yield from _check_values(file, flow.id, f"{where}.{key}", step, answer_if.values)
        if step.min_count > step.max_count:
            yield Problem(file, flow.id, f"{where}.min_count", "is larger than max_count")
        seen[step.id] = step


def _check_values(
    file: str, flow: str, where: str, step: Step, values: tuple[str, ...]
) -> Iterable[Problem]:
    if step.type is FieldType.YESNO:
        allowed = {"yes", "no"}
    elif step.type is FieldType.CHOICE:
        allowed = {c.value for c in step.choices}
    else:
        return
    for value in values:
        if value not in allowed:
            yield Problem(file, flow, f"{where}.in", f"{value!r} is not a value of {step.id!r}")


def load_content(root: Path) -> Content:
    """Load and cross-check ``root/faq`` and ``root/flows``; raise ContentError on any problem."""
    problems: list[Problem] = []
    faq, meta = load_faq(root / "faq", problems)
    flows, flow_owners = load_flows(root / "flows", problems)
    owners: dict[str, str] = meta["owners"]
    for entry in faq.values():
        file = owners[entry.id]
        for rel in entry.related:
            if rel not in faq:
                problems.append(Problem(file, entry.id, "related", f"{rel!r} is not an FAQ id"))
        if entry.flow is not None and entry.flow not in flows:
            problems.append(Problem(file, entry.id, "flow", f"{entry.flow!r} is not a flow id"))
    out_of_scope = load_out_of_scope(root / "scope" / "out-of-scope.yaml", problems)
    problems.extend(_duplicate_phrasings(faq, owners, flows, flow_owners, out_of_scope))
    lexicon = None
    # The words of the conversation ship with supportbot; a content folder may bring its own.
    words = root / "lexicon" if (root / "lexicon").is_dir() else SHIPPED_LEXICON
    try:
        lexicon = load_lexicon(words)
    except LexiconError as err:
        problems += [Problem(f"lexicon/{f}", e, fld, msg) for f, e, fld, msg in err.problems]
    if lexicon is not None:
        problems.extend(_unknown_moments(flows, flow_owners, lexicon))
    synonyms, found = load_synonyms(root / SYNONYMS)
    problems.extend(Problem(SYNONYMS, "", where, message) for where, message in found)
    if not found:
        flows = _with_ideas(flows, flow_owners, synonyms, problems)
    if problems or lexicon is None:
        raise ContentError(problems)
    return Content(faq, meta["themes"], flows, lexicon, out_of_scope, synonyms=synonyms)


def _with_ideas(
    flows: dict[str, Flow],
    owners: dict[str, str],
    synonyms: dict[str, str],
    problems: list[Problem],
) -> dict[str, Flow]:
    """Flows whose choices also answer to the words of the ideas they name (each word as
    the synonym table folds it). An unknown idea, or a word that would name two choices
    of one question, is a problem of the flow's file."""
    words_of: dict[str, list[str]] = {}
    for form, idea in synonyms.items():
        words_of.setdefault(idea, []).append(form)
    out: dict[str, Flow] = {}
    for flow in flows.values():
        steps = []
        for step in flow.steps:
            named = {normalise(a): c.value for c in step.choices for a in (*c.aliases, c.value)}
            choices = []
            for choice in step.choices:
                extra: list[str] = []
                for idea in choice.ideas:
                    where = f"steps.{step.id}.choices.{choice.value}.ideas"
                    if idea not in words_of:
                        known = ", ".join(sorted(words_of))
                        problems.append(
                            Problem(
                                owners[flow.id],
                                flow.id,
                                where,
                                f"{idea!r} is not an idea of {SYNONYMS} ({known})",
                            )
                        )
                        continue
                    for form in words_of[idea]:
                        other = named.setdefault(form, choice.value)
                        if other != choice.value:
                            problems.append(
                                Problem(
                                    owners[flow.id],
                                    flow.id,
                                    where,
                                    f"{form!r} of {idea!r} also names the choice {other!r}",
                                )
                            )
                        elif form not in choice.aliases:
                            extra.append(form)
                choices.append(choice.model_copy(update={"idea_words": tuple(extra)}))
            steps.append(step.model_copy(update={"choices": tuple(choices)}))
        out[flow.id] = flow.model_copy(update={"steps": tuple(steps)})
    return out


def _unknown_moments(
    flows: dict[str, Flow], owners: dict[str, str], lexicon: Lexicon
) -> Iterable[Problem]:
    for flow in flows.values():
        for step in flow.steps:
            if step.date_of is not None and step.date_of not in lexicon.date_cues:
                known = ", ".join(sorted(lexicon.date_cues))
                yield Problem(
                    owners[flow.id],
                    flow.id,
                    f"steps.{step.id}.date_of",
                    f"{step.date_of!r} is not a moment of the lexicon's date_cues ({known})",
                )


def _duplicate_phrasings(
    faq: dict[str, FaqEntry],
    owners: dict[str, str],
    flows: dict[str, Flow],
    flow_owners: dict[str, str],
    out_of_scope: tuple[str, ...] = (),
) -> Iterable[Problem]:
    seen: dict[str, str] = {}
    items: list[tuple[str, str, str, str, list[str]]] = []
    if out_of_scope:
        items.append(("out-of-scope.yaml", "out-of-scope", "", "", list(out_of_scope)))
    for e in faq.values():
        for lang in LANGUAGES:
            items.append((owners[e.id], e.id, f"questions.{lang}", "", getattr(e.questions, lang)))
    for f in flows.values():
        for lang in LANGUAGES:
            items.append(
                (flow_owners[f.id], f.id, f"triggers.{lang}", "flow ", getattr(f.triggers, lang))
            )
    for file, ident, field, prefix, texts in items:
        for text in texts:
            key = normalise(text)
            owner = seen.setdefault(key, f"{prefix}{ident}")
            if owner != f"{prefix}{ident}":
                yield Problem(file, ident, field, f"{text!r} is also a phrasing of {owner}")
