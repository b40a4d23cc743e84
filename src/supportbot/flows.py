"""Runs a guided flow one question at a time over a storable state.

The state is a ``FlowState`` (kept in the conversation row), so a flow
resumes after a pause or a restart exactly where the customer was. The runner
validates answers, applies the flow's rules, handles back / skip / cancel and
the final summary; creating the ticket is left to the caller.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from supportbot.calendar import BusinessCalendar
from supportbot.content import AttachmentKind, Condition, FieldType, Flow, Rule, Step
from supportbot.fields import (
    MIME_KINDS,
    DateParser,
    FieldError,
    choice_named_in,
    choices_named,
    parse_choice,
    parse_email,
    parse_order_number,
    parse_text,
    parse_tracking,
)
from supportbot.lexicon import Act
from supportbot.masking import mask_card_numbers, mask_contacts, mask_personal_data
from supportbot.messages import Button, Inbound, IncomingFile, Reply
from supportbot.normalise import normalise
from supportbot.payloads import Kind, Payload, make
from supportbot.state import FileRecord, FlowState, SaidDate, SaidValues
from supportbot.texts import text
from supportbot.understanding import Interpretation

CONFIRM = "__confirm__"
# A message that started a request tells its story from this many words on, numbers and
# addresses aside ("I want to return my order 987654320, I got it 3 days ago" does not;
# "la lampe est arrivée avec le pied fendu et l'abat-jour écrasé, le carton était ouvert"
# does): it answers the description (Step.from_story).
STORY_WORDS = 12


def _tells_a_story(said: str) -> bool:
    words = [w for w in said.split() if "@" not in w and not any(c.isdigit() for c in w)]
    return len(words) >= STORY_WORDS


_EN_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def shown_date(day: date, lang: str) -> str:
    """12/11/2026 in French; 12 Nov 2026 in English, where 12/11 reads as December."""
    if lang == "en":
        return f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}"
    return f"{day:%d/%m/%Y}"


_TIME_SAID = re.compile(r"\d\s*(?:h|:)|\b(?:midi|minuit|noon|midnight)\b|\d\s*(?:am|pm)\b", re.I)
_DATE_DIGITS = re.compile(r"\b\d{1,4}[./-]\d{1,2}(?:[./-]\d{2,4})?\b")
_ORDER_MENTION = re.compile(r"\b(commande|cmd|cde|order|num[eé]ro)\b|\bn°|\bno[.:]\s*\d|#\s*\d")
WEEKDAYS = {
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
MONTHS = {
    "fr": [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}


def say_moment(moment: datetime, lang: str) -> str:
    """'mardi 1 décembre à 17:00' / 'Tuesday 1 December at 17:00'; the midnight that
    ends a day is that day's: 'mardi 1 décembre à minuit', not 'mercredi 2 à 00:00'."""
    if (moment.hour, moment.minute) == (0, 0):
        eve = moment - timedelta(days=1)
        return say_moment(eve.replace(hour=23, minute=0), lang).rsplit(" ", 1)[0] + (
            " midnight" if lang == "en" else " minuit"
        )
    day = WEEKDAYS[lang][moment.weekday()]
    month = MONTHS[lang][moment.month - 1]
    joiner = "at" if lang == "en" else "à"
    return f"{day} {moment.day} {month} {moment.year} {joiner} {moment:%H:%M}"


@dataclass
class FlowOutcome:
    replies: list[Reply] = field(default_factory=list)
    finished: bool = False
    submit: bool = False
    refused: bool = False  # the answer did not fit the step: asked again


@dataclass
class FileStore:
    """Copies customers' files into the store's folder, named by checksum."""

    root: Path

    def save(self, source: Path) -> tuple[str, str]:
        digest = hashlib.sha256()
        with source.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        checksum = digest.hexdigest()
        target = self.root / checksum[:2] / (checksum + source.suffix.lower())
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        return checksum, str(target)


def order_named_in(sentence: str, pattern: str = r"\d{6,12}") -> str | None:
    """The order number a sentence gives as one ("ma commande 123456789 ..."), or None:
    a phone number, a date or a carrier's number is not taken for it."""
    if not _ORDER_MENTION.search(sentence.lower()):
        return None
    numbers = _DATE_DIGITS.sub(" ", mask_contacts(sentence))  # no phone, date, tracking
    try:
        return parse_order_number(numbers, pattern)
    except FieldError:
        return None


@dataclass
class FlowRunner:
    calendar: BusinessCalendar
    dates: DateParser
    files: FileStore
    clock: Callable[[], datetime]
    order_pattern: str = r"\d{6,12}"
    max_file_bytes: int = 20 * 1024 * 1024
    seller_wait_hours: float = 48.0
    cue_words: dict[str, frozenset[str]] = field(default_factory=dict)  # lexicon date_cues
    negation_words: frozenset[str] = frozenset()  # lexicon negations ("pas reçu")

    # -- navigation ---------------------------------------------------------

    def start(
        self,
        flow: Flow,
        lang: str,
        said: str = "",
        order: str | None = None,
        meaning: Interpretation | None = None,
        files: list[FileRecord] | None = None,
    ) -> tuple[FlowState, list[Reply]]:
        """A new run of ``flow``; ``said`` is the message that started it, whose plain
        answers to choice questions are taken ("jamais reçu" answers "what happened"),
        ``order`` an order number already given (in a request they switched from)."""
        state = FlowState(flow.id)
        if said:  # kept folded and masked: it is only ever matched against choice names
            state.said = normalise(mask_personal_data(said[:500]))
            if _tells_a_story(said):  # and as told, for the description
                state.story = mask_card_numbers(" ".join(said.split()))[0]
            if (order_named := self.order_named_in(said[:500])) is not None:
                state.said_order = order_named  # and the order it names, if one
        if order:
            state.said_order = order
        if meaning is not None:  # the dates, tracking, e-mail the first message gave
            state.said_values = _values_given(meaning)
        self._file_early(flow, state, files or [])
        replies = [Reply(text(lang, "flow_start", title=flow.title.get(lang)))]
        if flow.intro:
            replies.append(Reply(flow.intro.get(lang)))
        first = self._next_step(flow, state, None)
        state.step = first.id if first else CONFIRM
        replies += self._prefill(flow, state, lang)
        replies.append(self.prompt(flow, state, lang))
        return state, replies

    @staticmethod
    def _file_early(flow: Flow, state: FlowState, files: list[FileRecord]) -> None:
        """Files sent before the request began go to its first question for files that
        takes their kind."""
        for step in flow.steps:
            if step.type is not FieldType.ATTACHMENTS:
                continue
            fits = [f for f in files if f.kind in {k.value for k in step.kinds}]
            if fits:
                state.files[step.id] = fits[: step.max_count]
                return

    def order_named_in(self, sentence: str) -> str | None:
        return order_named_in(sentence, self.order_pattern)

    def _next_step(self, flow: Flow, state: FlowState, after: str | None) -> Step | None:
        ids = [s.id for s in flow.steps]
        begin = 0 if after is None else ids.index(after) + 1
        for step in flow.steps[begin:]:
            if step.when is None or self._holds(step.when, state):
                return step
        return None

    @staticmethod
    def _holds(cond: Condition, state: FlowState) -> bool:
        return str(state.answers.get(cond.field)) in cond.values

    def _is_optional(self, step: Step, state: FlowState) -> bool:
        if step.required_when is not None and self._holds(step.required_when, state):
            return False
        return step.optional or (step.type is FieldType.ATTACHMENTS and step.min_count == 0)

    def _advance(self, flow: Flow, state: FlowState, lang: str) -> list[Reply]:
        current = state.step
        state.history.append(current)
        nxt = self._next_step(flow, state, current)
        kept = state.kept
        while (
            nxt is not None
            and nxt.id in kept
            and not nxt.rule
            and (
                nxt.id in state.answers or state.files.get(nxt.id) or self._is_optional(nxt, state)
            )
        ):
            kept.remove(nxt.id)  # answered before going back: still the answer
            state.history.append(nxt.id)
            nxt = self._next_step(flow, state, nxt.id)
        state.step = nxt.id if nxt else CONFIRM
        return [*self._prefill(flow, state, lang), self.prompt(flow, state, lang)]

    def _prefill(self, flow: Flow, state: FlowState, lang: str) -> list[Reply]:
        """Questions the starting message already answered (a choice it names, the order
        number it gives): noted, said, skipped."""
        said = state.said
        notes: list[Reply] = []
        given = state.said_values
        while (said or state.said_order or not given.empty) and state.step != CONFIRM:
            step = flow.step(state.step)
            if step.stop_if or step.rule is Rule.SELLER_WAIT:
                break
            if step.id in state.answers or step.id in state.corrected:
                break
            value: str | None = None
            if step.type is FieldType.CHOICE and said:
                value = choice_named_in(said, step.choices)
            elif step.type is FieldType.ORDER_NUMBER:
                value = state.said_order or given.fields.get(FieldType.ORDER_NUMBER)
            elif step.type in (FieldType.DATE, FieldType.DATETIME):
                value = self._pick_date(step, given.dates, asked=False)
            elif step.type in given.fields:
                value = given.fields[step.type]
            elif step.from_story and (told := self._story(step, state.story)):
                state.answers[step.id] = told  # shown with the question, to keep
                break
            if value is None:
                break
            state.answers[step.id] = value
            shown = self.display(step, state, lang)
            notes.append(Reply(text(lang, "prefilled", label=step.label.get(lang), value=shown)))
            if step.rule is Rule.RETURN_ELIGIBILITY:
                notes.append(Reply(self._eligibility(state, date.fromisoformat(value), lang)))
            if step.notice_if is not None and value in step.notice_if.values:
                notes.append(Reply(step.notice_if.message.get(lang)))
            state.history.append(step.id)
            nxt = self._next_step(flow, state, step.id)
            state.step = nxt.id if nxt else CONFIRM
        return notes

    @staticmethod
    def _story(step: Step, story: str | None) -> str | None:
        """The message that started the request, as the answer to its description."""
        if not story:
            return None
        try:
            return parse_text(story, step.min_length, step.max_length)
        except FieldError:
            return None

    def prompt(self, flow: Flow, state: FlowState, lang: str) -> Reply:
        """The current question (or the summary), with its buttons."""
        if state.step == CONFIRM:
            return self._summary(flow, state, lang)
        step = flow.step(state.step)
        body = step.prompt.get(lang)
        buttons: list[Button] = []
        if step.type is FieldType.CHOICE:
            buttons += [Button(c.label.get(lang), make(Kind.CHOICE, c.value)) for c in step.choices]
        elif step.type is FieldType.YESNO:
            buttons += [
                Button(text(lang, "btn_yes"), make(Kind.CHOICE, "yes")),
                Button(text(lang, "btn_no"), make(Kind.CHOICE, "no")),
            ]
        elif step.type is FieldType.ATTACHMENTS:
            count = len(state.files.get(step.id, []))
            if count >= max(step.min_count, 1):
                body += "\n" + text(lang, "attach_already", count=count)  # sent earlier
                buttons.append(Button(text(lang, "btn_done"), make(Kind.DONE)))
        if step.id in state.answers and step.type is not FieldType.ATTACHMENTS:
            shown = self.display(step, state, lang)  # back on an answered question
            told = step.from_story and state.answers[step.id] == state.story
            body += "\n" + text(lang, "story_answer" if told else "current_answer", value=shown)
            buttons.append(Button(text(lang, "btn_keep"), make(Kind.KEEP)))
        if self._is_optional(step, state):
            body += "\n" + text(lang, "optional_hint")
            buttons.append(Button(text(lang, "btn_skip"), make(Kind.SKIP)))
        if state.history:
            buttons.append(Button(text(lang, "btn_back"), make(Kind.BACK)))
        buttons.append(Button(text(lang, "btn_cancel"), make(Kind.CANCEL)))
        return Reply(body, tuple(buttons))

    def _summary(self, flow: Flow, state: FlowState, lang: str) -> Reply:
        lines = [text(lang, "summary_title", title=flow.title.get(lang))]
        for step_id in state.history:
            step = flow.step(step_id)
            colon = ":" if lang == "en" else " :"  # French puts a space before the colon
            lines.append(f"• {step.label.get(lang)}{colon} {self.display(step, state, lang)}")
        lines.append(text(lang, "summary_confirm"))
        buttons = (
            Button(text(lang, "btn_confirm"), make(Kind.CONFIRM)),
            Button(text(lang, "btn_back"), make(Kind.BACK)),
            Button(text(lang, "btn_cancel"), make(Kind.CANCEL)),
        )
        return Reply("\n".join(lines), buttons)

    def display(self, step: Step, state: FlowState, lang: str) -> str:
        if step.type is FieldType.ATTACHMENTS:
            files = state.files.get(step.id, [])
            names = ", ".join(f.name for f in files)
            if not files:
                return text(lang, "skipped")
            return text(lang, "files_count", count=len(files)) + f" ({names})"
        value = state.answers.get(step.id)
        if value is None:
            return text(lang, "skipped")
        if step.type is FieldType.CHOICE:
            for choice in step.choices:
                if choice.value == value:
                    return choice.label.get(lang)
        if step.type is FieldType.YESNO:
            return text(lang, "btn_yes" if value == "yes" else "btn_no")
        if step.type is FieldType.DATE:
            return shown_date(date.fromisoformat(value), lang)
        if step.type is FieldType.DATETIME:
            moment = datetime.fromisoformat(value)
            return f"{shown_date(moment.date(), lang)} {moment:%H:%M}"
        return str(value)

    # -- handling input ------------------------------------------------------

    def handle(
        self,
        flow: Flow,
        state: FlowState,
        inbound: Inbound,
        lang: str,
        meaning: Interpretation | None = None,
    ) -> FlowOutcome:
        """One message at the current question. The policy, in order: cancel, back, the
        summary (corrections, the answer named to fix, confirm), nothing to give, files,
        then the answer itself, with corrections of earlier answers and facts for later
        questions found in the same sentence."""
        pressed = Payload.parse(inbound.payload)
        # a bare button ("cancel", "done") and the same word typed are one command
        word = inbound.payload or normalise(inbound.text)
        if word == "cancel" or self._cancels(flow, state, meaning):
            return FlowOutcome([Reply(text(lang, "flow_cancelled"))], finished=True)
        if word == "back" or (meaning is not None and meaning.only(Act.BACK)):
            return FlowOutcome(self._back(flow, state, lang))
        if state.step == CONFIRM:
            return self._at_summary(flow, state, word, meaning, lang)
        step = flow.step(state.step)
        if word == "keep" and step.id in state.answers:  # back here, and it was right
            return self._after_answer(flow, step, state, state.answers[step.id], lang)
        optional = self._is_optional(step, state)
        if optional and meaning is not None and self._nothing_to_give(step, meaning):
            word = "skip"  # "pas de suivi", "j'ai jamais eu de numéro de suivi", "non"
        skipping = word == "skip" or (meaning is not None and meaning.only(Act.SKIP))
        nothing = skipping or (meaning is not None and meaning.only(Act.NOTHING))
        if nothing and self._enough_files(step, state):
            word, skipping = "done", False  # the files sent earlier are all: "rien d'autre"
        if skipping:
            if not optional:
                return FlowOutcome(
                    [Reply(text(lang, "cannot_skip")), self.prompt(flow, state, lang)],
                    refused=True,
                )
            state.answers.pop(step.id, None)
            return FlowOutcome(self._advance(flow, state, lang))
        if meaning is not None and meaning.names_only and not inbound.files:
            named = self._named_step(flow, state, meaning)
            if named is not None and named != step.id:  # "la date": back to that answer
                return FlowOutcome(self._edit(flow, state, named, lang))
        if step.type is FieldType.ATTACHMENTS:
            if meaning is not None and (meaning.has(Act.DONE) or meaning.only(Act.CONFIRM)):
                word = "done"
            elif meaning is not None and not inbound.files:
                fixed = self._corrections(flow, state, meaning, lang, exclude=step.id)
                if fixed:  # "pardon, c'était le 26/11" while sending photos
                    return FlowOutcome([*fixed, self.prompt(flow, state, lang)])
                enough = len(state.files.get(step.id, [])) >= self._files_needed(step, state)
                says_more = meaning.words >= 3 and not meaning.whole  # "voici" says nothing
                if enough and says_more and "?" not in inbound.text:
                    # words, not files, once the files asked for are there (or none were
                    # needed): done with files; the words may answer the next question
                    # ("no return tracking yet")
                    state.answers.pop(step.id, None)
                    skipped = self._advance(flow, state, lang)
                    if state.step == CONFIRM:
                        return FlowOutcome(skipped)
                    return self.handle(flow, state, inbound, lang, meaning)
            return self._attachments(flow, step, state, inbound, word, lang)
        early: list[Reply] = []
        if inbound.files:  # a photo sent before its question is kept for that question
            early = self._keep_for_later(flow, state, inbound, lang)
            if not inbound.text.strip():
                return FlowOutcome([*early, self.prompt(flow, state, lang)])
        chatter = meaning is not None and meaning.whole and meaning.whole <= _NOT_CONTENT
        if step.type is FieldType.TEXT and chatter:
            # "oui c'est bon", "merci": an act, not the description the question asks for
            asked = text(lang, "text_expected", label=step.label.get(lang).lower())
            return FlowOutcome([Reply(asked), self.prompt(flow, state, lang)], refused=True)
        chose = pressed is not None and pressed.kind is Kind.CHOICE
        raw = pressed.arg if pressed is not None and chose else inbound.payload or inbound.text
        notes: list[Reply] = []
        try:
            value = self._parse(step, raw)
            if meaning is not None and step.type is FieldType.TEXT and _corrects(meaning):
                fixed = self._corrections(flow, state, meaning, lang, exclude=step.id)
                if fixed:  # "pardon, c'était le 2/12": a correction, not the description
                    return FlowOutcome([*fixed, self.prompt(flow, state, lang)])
        except FieldError as err:
            found = self._value_for(step, meaning) if meaning is not None else None
            fixed = (
                self._corrections(flow, state, meaning, lang, exclude=step.id)
                if meaning is not None
                else []
            )
            if found is not None:
                value, notes = found, fixed
            elif fixed or early:  # a new order number at the date question: taken, same question
                return FlowOutcome([*early, *fixed, self.prompt(flow, state, lang)])
            elif meaning is not None and (later := self._keep_facts(flow, state, step, meaning)):
                # "the account e-mail is x@y.com" before it is asked: kept for its question
                labels = ", ".join(flow.step(i).label.get(lang) for i in later)
                kept = Reply(text(lang, "facts_kept", labels=labels))
                return FlowOutcome([kept, self.prompt(flow, state, lang)])
            elif err.key != "bad_text_long":
                refusal = self._refusal(step, err, lang)
                return FlowOutcome([Reply(refusal), self.prompt(flow, state, lang)], refused=True)
            else:
                # A long story is not thrown away: its beginning is kept, the rest can follow.
                value = " ".join(raw.split())[: step.max_length].rsplit(" ", 1)[0]
                notes.append(Reply(text(lang, "text_cut", **err.values)))
        if step.type is FieldType.TEXT:  # never a card number in a ticket
            value, hidden = mask_card_numbers(value)
            if hidden:
                notes.insert(0, Reply(text(lang, "card_masked")))
        elif meaning is not None:  # facts for later questions given with this answer
            self._keep_facts(flow, state, step, meaning)
        state.answers[step.id] = value
        outcome = self._after_answer(flow, step, state, value, lang)
        outcome.replies[:0] = notes
        return outcome

    # -- understanding what was typed ------------------------------------------

    def _cancels(self, flow: Flow, state: FlowState, meaning: Interpretation | None) -> bool:
        """ "laissez tomber j'arrête", "finalement je n'en ai plus besoin, annulez"."""
        if meaning is None or not meaning.has(Act.CANCEL):
            return False
        # an answer that mentions stopping is still an answer
        return state.step == CONFIRM or not self._value_for(flow.step(state.step), meaning)

    def _at_summary(
        self,
        flow: Flow,
        state: FlowState,
        word: str,
        meaning: Interpretation | None,
        lang: str,
    ) -> FlowOutcome:
        pressed = Payload.parse(word)
        if pressed is not None and pressed.kind is Kind.EDIT and pressed.arg in state.history:
            return FlowOutcome(self._edit(flow, state, pressed.arg, lang))
        if meaning is not None:
            fixed = self._corrections(flow, state, meaning, lang)
            if fixed:  # "non pardon, le numéro c'est 554433221": fixed, summary again
                return FlowOutcome([*fixed, self.prompt(flow, state, lang)])
            named = self._named_step(flow, state, meaning)
            if named is not None and not meaning.only(Act.CONFIRM):  # "la date"
                return FlowOutcome(self._edit(flow, state, named, lang))
        confirmed = word == "confirm"
        if meaning is not None and not confirmed:
            refuses = meaning.has(Act.DENY) or meaning.has(Act.CORRECT)
            # a long message confirms when it says to send ("..., go ahead with it")
            says_send = meaning.has(Act.FILE) and meaning.intent != "ask"
            confirmed = (
                meaning.has(Act.CONFIRM) and not refuses and (meaning.words <= 8 or says_send)
            )
        if confirmed:
            return FlowOutcome(finished=True, submit=True)
        fix = meaning is not None and meaning.has(Act.DENY)
        if (fix or (meaning is not None and meaning.has(Act.CORRECT))) and state.history:
            return FlowOutcome([self._fix_menu(flow, state, lang)])  # which answer, then
        return FlowOutcome(
            [Reply(text(lang, "confirm_expected")), self.prompt(flow, state, lang)],
            refused=True,  # a question typed at the summary is answered (engine)
        )

    def _pick_date(
        self, step: Step, dates: list[SaidDate], old: Any = None, asked: bool = True
    ) -> str | None:
        """The date that answers this question among those a message gives: the one said
        with this moment's words ("commandée le 16/11, bloqué depuis le 24"); for a
        question not asked yet, never one said with another moment's words only ("reçue
        hier" in a first message is no order date)."""

        def said(found: SaidDate) -> str:
            return found.day if step.type is FieldType.DATE else found.at

        if old is not None and len(dates) > 1:  # a correction: not the answer it repeats
            dates = [d for d in dates if said(d) != str(old)[: len(said(d))]]

        def moment(found: SaidDate) -> str | None:
            return _moment(found.before, self.cue_words, self.negation_words)

        if step.date_of is not None:
            if step.date_of != WAITING:  # "en retard, ça fait 10 jours": no moment of its own
                dates = [d for d in dates if moment(d) != WAITING]
            if len(dates) > 1:
                dates = [d for d in dates if moment(d) == step.date_of] or dates
            if not asked:
                dates = [d for d in dates if moment(d) in (step.date_of, None)]
        if len({d.day for d in dates}) > 1:
            # "lundi dernier, le 30 novembre" said a week later: the calendar date is meant
            dates = [d for d in dates if d.dated] or dates
        if step.type is not FieldType.DATE and len({d.day for d in dates}) == 1:
            # one day said twice ("lundi dernier, le 30 novembre"): its time, if one was said
            dates = [d for d in dates if d.timed] or dates[:1]
        return _one([said(d) for d in dates])

    def _said_for(self, step: Step, meaning: Interpretation) -> bool:
        """A date said with this question's own words ("commandée le 13/11")."""
        if step.date_of is None:
            return False
        return any(
            _moment(d.before, self.cue_words, self.negation_words) == step.date_of
            for d in _dates_given(meaning)
        )

    def _nothing_to_give(self, step: Step, meaning: Interpretation) -> bool:
        """Nothing to give for this (optional) question: "pas de suivi", a bare "non", or
        a negation about this very question with no value ("j'ai jamais eu de suivi")."""
        if step.type is FieldType.YESNO or self._value_for(step, meaning) is not None:
            return False
        if Act.SKIP in meaning.opening and not meaning.has_values:
            return True  # "jsp, le vendeur m'a jamais envoyé de numéro"
        named = _KIND_OF.get(step.type) in meaning.fields_named
        if meaning.fields_named and not named:
            return False  # "pas de suivi" said at the photos question is about the tracking
        if meaning.has(Act.NOTHING) or meaning.only(Act.DENY):
            return True
        if meaning.whole and meaning.whole <= _NOT_CONTENT:
            return True  # "ok", "yes, send it" at an optional question: nothing to add
        if named and Act.DENY in meaning.opening and not meaning.has_values:
            return True  # "no return tracking yet"
        return meaning.negated and named and not meaning.has_values

    def _value_for(self, step: Step, meaning: Interpretation, old: Any = None) -> str | None:
        """The one value of this question's kind the message gives (not one it denies,
        nor, for a correction, the ``old`` answer it repeats: "le 26 en fait, le 25
        c'était sa réponse")."""
        kind = step.type
        if kind is FieldType.ORDER_NUMBER:
            return _one([f.value for f in meaning.order_numbers if not f.negated], old)
        if kind in (FieldType.DATE, FieldType.DATETIME):
            return self._pick_date(step, _dates_given(meaning), old)
        if kind is FieldType.TRACKING:
            return _one([f.value for f in meaning.trackings if not f.negated], old)
        if kind is FieldType.EMAIL:
            return _one([f.value for f in meaning.emails if not f.negated], old)
        if kind is FieldType.YESNO:
            return meaning.yes_or_no
        return None

    def _corrections(
        self,
        flow: Flow,
        state: FlowState,
        meaning: Interpretation,
        lang: str,
        exclude: str | None = None,
    ) -> list[Reply]:
        """Earlier answers the message gives anew ("le numéro c'est 554433221 pas
        554433220"): changed, and said."""
        replies: list[Reply] = []
        for step_id in list(state.history):
            step = flow.step(step_id)
            if step_id == exclude or step.type not in _VALUE_KINDS or step.rule:
                continue
            old = state.answers.get(step_id)
            dated = step.type in (FieldType.DATE, FieldType.DATETIME)
            if dated and not _corrects(meaning) and not self._said_for(step, meaning):
                continue  # a date in passing ("bloqué depuis le 24") changes no answer
            value = self._value_for(step, meaning, old)
            if value is None or value == old:
                continue
            replies.append(self._corrected(step, state, value, lang))
        if meaning.has(Act.CORRECT) or meaning.has(Act.DENY):
            replies += self._choice_corrections(flow, state, meaning, lang, exclude)
        for step_id in list(state.history):  # a receipt date changed: eligibility again
            step = flow.step(step_id)
            if step.rule is not Rule.RETURN_ELIGIBILITY or step_id == exclude:
                continue
            value = self._value_for(step, meaning, state.answers.get(step_id))
            if value is None or value == state.answers.get(step_id):
                continue
            replies.append(self._corrected(step, state, value, lang))
            replies.append(Reply(self._eligibility(state, date.fromisoformat(value), lang)))
        return replies

    def _corrected(self, step: Step, state: FlowState, value: str, lang: str) -> Reply:
        """An earlier answer replaced, and said so."""
        state.answers[step.id] = value
        shown = self.display(step, state, lang)
        return Reply(text(lang, "corrected", label=step.label.get(lang), value=shown))

    def _choice_corrections(
        self,
        flow: Flow,
        state: FlowState,
        meaning: Interpretation,
        lang: str,
        exclude: str | None,
    ) -> list[Reply]:
        """ "pardon, je veux pas les supprimer, je veux les récupérer": an earlier choice
        named anew (the denied one left out) is changed."""
        replies: list[Reply] = []
        for step_id in list(state.history):
            step = flow.step(step_id)
            if step_id == exclude or step.type is not FieldType.CHOICE or step.rule:
                continue
            named = choices_named(meaning.norm.split(), step.choices)
            wanted = {value for value, at in named if not meaning.denied_near(at)}
            old = state.answers.get(step_id)
            if len(wanted) != 1 or old in wanted:
                continue
            replies.append(self._corrected(step, state, wanted.pop(), lang))
        return replies

    def _named_step(self, flow: Flow, state: FlowState, meaning: Interpretation) -> str | None:
        """The one answered question the message names ("la date", "le suivi")."""
        named = set(meaning.fields_named)
        hits = [
            step_id for step_id in state.history if _KIND_OF.get(flow.step(step_id).type) in named
        ]
        return hits[0] if len(hits) == 1 else None

    def _keep_facts(
        self, flow: Flow, state: FlowState, step: Step, meaning: Interpretation
    ) -> list[str]:
        """Values for questions still to come, given with this answer: asked no more.
        The ids of the questions still to come that they answer."""
        given = state.said_values
        new = _values_given(meaning)
        if new.empty:
            return []
        dated = (FieldType.DATE, FieldType.DATETIME)
        if step.type not in dated:  # every date said so far; each question picks its own
            given.dates = [*given.dates, *new.dates]
        for kind, value in new.fields.items():
            if kind is not step.type:
                given.fields[kind] = value  # said again, differently: the last word holds
        ids = [s.id for s in flow.steps]
        later = flow.steps[ids.index(step.id) + 1 :]
        return [
            s.id
            for s in later
            if s.id not in state.answers
            and (
                (s.type in new.fields)
                or (s.type in dated and self._pick_date(s, new.dates, asked=False))
            )
        ]

    def _after_answer(
        self, flow: Flow, step: Step, state: FlowState, value: Any, lang: str
    ) -> FlowOutcome:
        replies: list[Reply] = []
        if step.stop_if is not None and str(value) in step.stop_if.values:
            return FlowOutcome([Reply(step.stop_if.message.get(lang))], finished=True)
        if step.notice_if is not None and str(value) in step.notice_if.values:
            replies.append(Reply(step.notice_if.message.get(lang)))
        if step.rule is Rule.RETURN_ELIGIBILITY:
            replies.append(Reply(self._eligibility(state, date.fromisoformat(value), lang)))
        elif step.rule is Rule.SELLER_WAIT:
            come_back = self.calendar.add(datetime.fromisoformat(value), self.seller_wait_hours)
            if come_back > self.clock():
                when = say_moment(come_back.astimezone(self.calendar.tz), lang)
                return FlowOutcome([Reply(text(lang, "seller_wait", when=when))], finished=True)
        return FlowOutcome(replies + self._advance(flow, state, lang))

    def _eligibility(self, state: FlowState, received: date, lang: str) -> str:
        today = self.clock().astimezone(self.calendar.tz).date()
        days = (today - received).days
        if days <= 14:
            verdict = "legal"
        elif days <= 30:
            verdict = "commercial"
        else:
            verdict = "expired"
        state.answers["eligibility"] = verdict
        ago = {0: "received_today", 1: "received_yesterday"}.get(days, "received_days_ago")
        return text(lang, f"eligibility_{verdict}", ago=text(lang, ago, days=days))

    def _fix_menu(self, flow: Flow, state: FlowState, lang: str) -> Reply:
        """At the summary: one button per answer, to correct just that one."""
        buttons = [
            Button(
                text(lang, "btn_fix", label=flow.step(step_id).label.get(lang)),
                make(Kind.EDIT, step_id),
            )
            for step_id in state.history
        ]
        return Reply(
            text(lang, "which_to_fix"),
            (*buttons, Button(text(lang, "btn_cancel"), make(Kind.CANCEL))),
        )

    def _edit(self, flow: Flow, state: FlowState, step_id: str, lang: str) -> list[Reply]:
        """Straight to one answered question from the summary; the others are kept."""
        at = state.history.index(step_id)
        later = state.history[at + 1 :]
        state.history = state.history[:at]
        state.kept += [s for s in later if s not in state.kept]  # answered, or skipped on purpose
        state.step = step_id
        state.corrected.append(step_id)
        return [self.prompt(flow, state, lang)]

    def _back(self, flow: Flow, state: FlowState, lang: str) -> list[Reply]:
        """One question back, its answer shown; the answers after it are kept, so that
        correcting one answer from the summary does not mean typing the others again."""
        if not state.history:
            return [Reply(text(lang, "at_first_step")), self.prompt(flow, state, lang)]
        previous = state.history.pop()
        if state.step != CONFIRM and state.step in state.answers:
            state.kept.append(state.step)
        state.step = previous
        state.corrected.append(previous)  # never prefilled again
        return [self.prompt(flow, state, lang)]

    def _files_needed(self, step: Step, state: FlowState) -> int:
        """How many files a question for files needs before "done": none if optional."""
        return 0 if self._is_optional(step, state) else max(step.min_count, 1)

    def _enough_files(self, step: Step, state: FlowState) -> bool:
        """A question for files that already holds what it needs (files sent earlier)."""
        if step.type is not FieldType.ATTACHMENTS:
            return False
        return len(state.files.get(step.id, [])) >= max(self._files_needed(step, state), 1)

    def _parse(self, step: Step, raw: str) -> Any:
        kind = step.type
        if kind is FieldType.TEXT:
            return parse_text(raw, step.min_length, step.max_length)
        if kind is FieldType.CHOICE:
            return parse_choice(raw, step.choices)
        if kind is FieldType.YESNO:  # read from the message's meaning, never from here
            raise FieldError("bad_yesno")
        if kind is FieldType.ORDER_NUMBER:
            return parse_order_number(raw, self.order_pattern)
        if kind is FieldType.EMAIL:
            return parse_email(raw)
        if kind is FieldType.TRACKING:
            return parse_tracking(raw)
        if kind is FieldType.DATE:
            return self.dates.parse(raw, self.clock()).date().isoformat()
        if kind is FieldType.DATETIME:
            return self.dates.parse(raw, self.clock(), with_time=True).isoformat(timespec="minutes")
        raise AssertionError(f"unhandled field type {kind}")

    def _refusal(self, step: Step, err: FieldError, lang: str) -> str:
        values = dict(err.values)
        if err.key == "bad_choice":
            values["choices"] = ", ".join(c.label.get(lang) for c in step.choices)
        return text(lang, err.key, **values)

    def _attachments(
        self, flow: Flow, step: Step, state: FlowState, inbound: Inbound, word: str, lang: str
    ) -> FlowOutcome:
        stored = state.files.setdefault(step.id, [])
        if not inbound.files:
            if word == "done":
                required = self._files_needed(step, state)
                if len(stored) < required:
                    msg = text(lang, "attach_need_more", min=required, count=len(stored))
                    return FlowOutcome([Reply(msg), self.prompt(flow, state, lang)], refused=True)
                return FlowOutcome(self._advance(flow, state, lang))
            kinds = _kinds_in_words(tuple(step.kinds), lang)
            return FlowOutcome(
                [Reply(text(lang, "attach_expected", kinds=kinds)), self.prompt(flow, state, lang)],
                refused=True,  # a question typed here is answered; stuck twice, a person
            )
        replies: list[Reply] = []
        for incoming in inbound.files:
            if len(stored) >= step.max_count:
                replies.append(Reply(text(lang, "attach_full")))
                break
            problem = self.check_file(step.kinds, incoming, lang)
            if problem:
                replies.append(Reply(problem))
                continue
            record = self.store_file(incoming)
            if any(record.same_as(r) for r in stored):
                name = incoming.name or "?"
                replies.append(Reply(text(lang, "attach_duplicate", name=name)))
                continue  # the same file twice counts once
            stored.append(record)
        if len(stored) >= step.max_count:
            return FlowOutcome(replies + self._advance(flow, state, lang))
        if stored:
            replies.append(
                Reply(
                    text(lang, "attach_received", count=len(stored), max=step.max_count),
                    self.prompt(flow, state, lang).buttons,
                )
            )
        else:
            replies.append(self.prompt(flow, state, lang))
        return FlowOutcome(replies)

    def _keep_for_later(
        self, flow: Flow, state: FlowState, inbound: Inbound, lang: str
    ) -> list[Reply]:
        """Files sent before the question that asks for them: kept for that question
        (checked as it will check them) rather than refused and sent again later."""
        ids = [s.id for s in flow.steps]
        later = next(
            (s for s in flow.steps[ids.index(state.step) + 1 :] if s.type is FieldType.ATTACHMENTS),
            None,
        )
        if later is None:
            return [Reply(text(lang, "answer_expected"))]
        stored = state.files.setdefault(later.id, [])
        replies: list[Reply] = []
        for incoming in inbound.files:
            problem = self.check_file(later.kinds, incoming, lang)
            if problem:
                replies.append(Reply(problem))
            elif len(stored) < later.max_count:
                record = self.store_file(incoming)
                if not any(r.checksum == record.checksum for r in stored):
                    stored.append(record)
        if stored:
            label = later.label.get(lang)
            replies.append(Reply(text(lang, "attach_kept", count=len(stored), step=label)))
        return replies

    def check_file(
        self, kinds: tuple[AttachmentKind, ...], incoming: IncomingFile, lang: str
    ) -> str | None:
        """Why this file is refused (kind, size), in the customer's language, or None."""
        kind = MIME_KINDS.get(incoming.mime.lower())
        if kind is None or kind not in kinds:
            listed = _kinds_in_words(kinds, lang)
            return text(lang, "attach_bad_kind", name=incoming.name or "?", kinds=listed)
        if incoming.size > self.max_file_bytes:
            size = f"{incoming.size / 1024 / 1024:.1f}"
            return text(lang, "attach_too_big", name=incoming.name or "?", size=size)
        return None

    def store_file(self, incoming: IncomingFile) -> FileRecord:
        """Copy an accepted file into the store; its record as kept in the flow state."""
        checksum, path = self.files.save(Path(incoming.path)) if incoming.path else (None, None)
        return FileRecord(
            kind=MIME_KINDS[incoming.mime.lower()].value,
            name=incoming.name,
            mime=incoming.mime,
            size=incoming.size,
            file_id=incoming.file_id,
            file_unique_id=incoming.file_unique_id,
            checksum=checksum,
            path=path,
        )


# Acts that are never the content a free-text question asks for ("oui c'est bon", "merci");
# "rien" is one ("what did you already try?").
_NOT_CONTENT = frozenset({Act.CONFIRM, Act.ACKNOWLEDGE, Act.THANKS, Act.GREETING, Act.DONE})
_VALUE_KINDS = (
    FieldType.ORDER_NUMBER,
    FieldType.DATE,
    FieldType.DATETIME,
    FieldType.TRACKING,
    FieldType.EMAIL,
)
# The lexicon's date cue for a wait ("en retard", "j'attends"): a date said with it is
# how long something has not happened, never the moment a question asks for.
WAITING = "waiting"
_KIND_OF = {
    FieldType.ORDER_NUMBER: "order_number",
    FieldType.DATE: "date",
    FieldType.DATETIME: "date",
    FieldType.TRACKING: "tracking",
    FieldType.EMAIL: "email",
    FieldType.CHOICE: "choice",
    FieldType.TEXT: "text",
    FieldType.ATTACHMENTS: "files",
}


def _moment(
    before: Iterable[str], cues: dict[str, frozenset[str]], negations: frozenset[str] = frozenset()
) -> str | None:
    """The moment the nearest cue word before a date names ("reçue hier": receipt). A
    cue said with a negation ("pas reçu depuis 10 jours") names a moment still awaited:
    the date is how long they have waited (``WAITING``, like "en retard")."""
    words = list(before)
    for i in range(len(words) - 1, -1, -1):
        for name, cue in cues.items():
            if words[i] in cue:
                denied = any(w in negations for w in words[max(0, i - 2) : i])
                return WAITING if denied else name
    return None


def _corrects(meaning: Interpretation) -> bool:
    """Said as a correction: "pardon", "en fait", or a value said not to be the one
    ("c'est 987654312 pas 987654321")."""
    if meaning.has(Act.CORRECT) or meaning.has(Act.DENY):
        return True  # "pardon", "the date is wrong, it was nov 24"
    values = (*meaning.order_numbers, *meaning.trackings, *meaning.emails)
    return any(f.negated for f in values) or any(d.negated for d in meaning.dates)


def _one(values: Iterable[str], old: Any = None) -> str | None:
    """The one value given; of two, the one that is not the ``old`` answer."""
    distinct = list(dict.fromkeys(values))
    if len(distinct) > 1 and old is not None:
        distinct = [v for v in distinct if v != old]
    return distinct[0] if len(distinct) == 1 else None


def _dates_given(meaning: Interpretation) -> list[SaidDate]:
    """The dates a message gives (not those it denies), as kept in the flow's state."""
    return [
        SaidDate(
            day=d.moment.date().isoformat(),
            at=d.moment.isoformat(timespec="minutes"),
            timed=_TIME_SAID.search(d.words) is not None,  # "hier à 18h", "12/11 14:30"
            dated=any(c.isdigit() for c in d.words),  # "le 30 novembre", not "lundi dernier"
            before=tuple(d.before),
        )
        for d in meaning.dates
        if not d.negated
    ]


def _values_given(meaning: Interpretation) -> SaidValues:
    """The values a message gives unambiguously, by field type; its dates, all of them
    (which one answers which question is decided there)."""
    given = SaidValues(_dates_given(meaning))
    for kind, found in (
        (FieldType.ORDER_NUMBER, meaning.order_numbers),
        (FieldType.TRACKING, meaning.trackings),
        (FieldType.EMAIL, meaning.emails),
    ):
        value = _one(f.value for f in found if not f.negated)
        if value is not None:
            given.fields[kind] = value
    return given


def _kinds_in_words(kinds: tuple[AttachmentKind, ...], lang: str) -> str:
    """ "les photos (JPEG, ...) et les vidéos MP4": what a step accepts, said to a person."""
    names = [text(lang, f"kind_{k.value}") for k in kinds]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + text(lang, "kinds_and") + names[-1]
