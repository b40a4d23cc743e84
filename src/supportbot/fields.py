"""Parses and checks one answer to a flow question, as customers type it.

Each parser returns the stored value (JSON-friendly) or raises FieldError with
the key of a message that says what is expected, with an example.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dateparser
import simplemma
from rapidfuzz import fuzz, process

from supportbot.content import AttachmentKind, Choice
from supportbot.lemmas import LANGUAGES, analyse
from supportbot.normalise import normalise, strip_accents


class FieldError(ValueError):
    """An answer was refused; ``key`` names the interface text explaining why."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


# -- choices ----------------------------------------------------------------


def _choice_names(choices: tuple[Choice, ...]) -> dict[str, str]:
    names: dict[str, str] = {}
    for choice in choices:
        for name in (
            choice.value.replace("_", " "),
            choice.label.fr,
            choice.label.en,
            *choice.aliases,
        ):
            for reading in _readings(normalise(name)):
                names[reading] = choice.value
    return names


def _idea_owners(choices: tuple[Choice, ...]) -> dict[str, str]:
    """Each word of the choices' ideas -> the choice it names."""
    return {word: choice.value for choice in choices for word in choice.idea_words}


def _spelt_names(choices: tuple[Choice, ...]) -> dict[str, str]:
    """Every name of every choice, the words of its ideas included: what a misspelt word
    is compared with."""
    return _idea_owners(choices) | _choice_names(choices)


def _idea_hits(words: list[str], choices: tuple[Choice, ...]) -> list[tuple[str, int]]:
    """Choices named by a word of their ideas, said as it is or as one of its forms
    ("tordus": tordu), with the word's position; never by a near spelling (one wrong
    letter makes another word: "swapped" is not "snapped")."""
    owners = _idea_owners(choices)
    if not owners:
        return []
    found: list[tuple[str, int]] = []
    for position, word in enumerate(words):
        forms = {word, *(form for token in analyse(word) for form in token)}
        found.extend((owners[form], position) for form in forms if form in owners)
    return found


_ELIDED = frozenset("cdjlmst") | {"qu"}


def _readings(norm: str) -> tuple[str, ...]:
    """The words as they are spoken, read twice. French negation is typed the way it is
    spoken: "ne correspond pas" is typed "correspond pas", so the particle never decides a
    match. An elided word is joined to the next one, as typed without its apostrophe
    ("changé davis": changé d'avis), and kept apart, as typed with it ("it's defective",
    "that's broken": the apostrophe of English is not an elision)."""
    words = norm.split()
    return tuple(
        dict.fromkeys(" ".join(w for _, w in _spoken_words(words, join)) for join in (True, False))
    )


def _spoken_words(words: list[str], join: bool = True) -> list[tuple[int, str]]:
    """The words without the particle "ne", each elided word joined to the next (when
    ``join``), with the position each starts at."""
    kept: list[tuple[int, str]] = []
    glue = False
    for i, word in enumerate(words):
        if word in ("ne", "n"):
            continue
        if glue:
            kept[-1] = (kept[-1][0], kept[-1][1] + word)
        else:
            kept.append((i, word))
        glue = join and word in _ELIDED
    return kept


def _named(norm: str, names: dict[str, str]) -> set[str]:
    """The choices whose name is said within the sentence ("c'est la mauvaise taille")."""
    return {
        value
        for reading in _readings(norm)
        for name, value in names.items()
        if f" {name} " in f" {reading} "
    }


def choice_named_in(sentence: str, choices: tuple[Choice, ...], *, near: bool = True) -> str | None:
    """The one choice a sentence names, e.g. the message that started a flow ("je n'ai
    jamais reçu mon colis": late; "I want my data deleted": erasure, a word form of
    "delete"); None if none or several."""
    names = _choice_names(choices)
    norm = normalise(sentence)
    said = _named(norm, names) | _ideas_said(norm, choices)
    said = said or (_misspelt(norm, choices) if near else set())
    return said.pop() if len(said) == 1 else None


def _ideas_said(norm: str, choices: tuple[Choice, ...]) -> set[str]:
    """Choices named by a word of their ideas, in either reading of the sentence."""
    return {v for reading in _readings(norm) for v, _ in _idea_hits(reading.split(), choices)}


def _misspelt(norm: str, choices: tuple[Choice, ...]) -> set[str]:
    """Choices a misspelt word of either reading of the sentence names (_near_words)."""
    return _near_words(" ".join(_readings(norm)), _spelt_names(choices))


def choices_named(words: list[str], choices: tuple[Choice, ...]) -> list[tuple[str, int]]:
    """Each choice the words name, with the position where its name starts (so that a
    caller can tell "je veux pas les supprimer" from "je veux les supprimer")."""
    names = _choice_names(choices)
    spelt = _spelt_names(choices)
    found: dict[tuple[str, int], None] = {}
    for join in (True, False):  # read as names are (_readings)
        kept = _spoken_words(words, join)
        tokens = [w for _, w in kept]
        found.update(((value, kept[i][0]), None) for value, i in _idea_hits(tokens, choices))
        for name, value in names.items():
            parts = name.split()
            for i in range(len(tokens) - len(parts) + 1):
                if tokens[i : i + len(parts)] == parts:
                    found[(value, kept[i][0])] = None
        for position, word in kept:
            for value in _near_words(word, spelt):
                found[(value, position)] = None
    return list(found)


def _near_words(norm: str, names: dict[str, str]) -> set[str]:
    """Choices whose one-word name is close to a misspelt word of the sentence ("cassee":
    casse). Only a word no dictionary knows is a misspelling ("swapped", "others" and
    "shipped" are words of their own, not "snapped", "other" and "chipped"), and a typo
    keeps the word's first letter."""
    words = [name for name in names if " " not in name and len(name) >= 5]
    return {
        names[hit[0]]
        for word in norm.split()
        if len(word) >= 5
        and word not in names
        and not _is_a_word(word)
        and (
            hit := process.extractOne(
                word,
                [w for w in words if w[0] == word[0]],
                scorer=fuzz.ratio,
                score_cutoff=85,
            )
        )
    }


def _is_a_word(word: str) -> bool:
    return any(simplemma.is_known(word, lang=lang) for lang in LANGUAGES)


def parse_choice(answer: str, choices: tuple[Choice, ...]) -> str:
    norm = normalise(answer)
    if norm.isdigit() and 1 <= int(norm) <= len(choices):
        return choices[int(norm) - 1].value
    names = _choice_names(choices)
    whole = next((names[r] for r in _readings(norm) if r in names), None)
    if whole is not None:
        return whole
    said = _named(norm, names) | _ideas_said(norm, choices)
    if len(said) == 1:
        return said.pop()
    if said:
        raise FieldError("bad_choice")  # two at once: the customer picks one
    # a name with a typo ("defectuex"): the whole answer must be close, not a part of it
    spoken = _readings(norm)[0]
    found = process.extractOne(spoken, list(names), scorer=fuzz.ratio, score_cutoff=85)
    if found and len(spoken) >= 4:
        return names[found[0]]
    # one word of the sentence close to a one-word name: "elle est cassee" (casse)
    near = _misspelt(norm, choices)
    if len(near) == 1:
        return near.pop()
    # a word of only one choice's label: "pas comme sur l'annonce" (Non conforme à
    # l'annonce)
    shared = {owner for form in _forms(answer) if (owner := _distinctive(choices).get(form))}
    if len(shared) == 1:
        return shared.pop()
    raise FieldError("bad_choice")


# A word of fewer letters than this ("pas", "sur", "la") tells no choice from another.
DISTINCTIVE_LETTERS = 4


def _forms(text: str, lemmas: bool = True) -> set[str]:
    """The words of ``text`` long enough to tell choices apart, and their lemmas."""
    return {
        form
        for token in analyse(text)
        for form in (token if lemmas else token[:1])
        if len(form) >= DISTINCTIVE_LETTERS
    }


def _distinctive(choices: tuple[Choice, ...]) -> dict[str, str]:
    """The words (and lemmas) of one choice's label only, with that choice (the labels
    are what the customer reads on the buttons; aliases hold everyday words, "colis",
    "rien", that tell nothing apart)."""
    owners: dict[str, set[str]] = {}
    for choice in choices:
        for name in (choice.label.fr, choice.label.en):
            for form in _forms(name, lemmas=False):  # "à" is no "avoir"
                owners.setdefault(form, set()).add(choice.value)
    return {form: next(iter(values)) for form, values in owners.items() if len(values) == 1}


# -- text, e-mail, order and tracking numbers -------------------------------


def parse_text(answer: str, min_length: int, max_length: int) -> str:
    value = " ".join(answer.split())
    if len(value) < min_length:
        raise FieldError("bad_text_short", min=min_length)
    if len(value) > max_length:
        raise FieldError("bad_text_long", max=max_length, length=len(value))
    return value


_ADDRESS = r"[a-z0-9._%+'-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}"
_EMAIL = re.compile(f"^{_ADDRESS}$")
_EMAIL_IN_TEXT = re.compile(_ADDRESS)


def parse_email(answer: str) -> str:
    """The address as typed, or the one address in a sentence ("mon mail est x@y.fr")."""
    value = answer.strip().strip("<>").lower()
    if not _EMAIL.match(value):
        found = {m.group().strip(".") for m in _EMAIL_IN_TEXT.finditer(answer.lower())}
        value = found.pop() if len(found) == 1 else value
    if len(value) > 254 or not _EMAIL.match(value) or ".." in value:
        raise FieldError("bad_email")
    return value


_GLUED = re.compile(r"(?:commande|cmd|cde|order|no|n)?(\d+)")
_ORDER_WORDS = re.compile(r"\b(commande|cmd|cde|order|numero|number|num|no|n)\b|#|°|:")


def parse_order_number(answer: str, pattern: str) -> str:
    """The order number as typed ("123 456 789", "n° 123456789"), or the one number of the
    right shape in a sentence ("c'est la 123456789", "CMD123456789")."""
    text = strip_accents(answer.lower())
    compact = re.sub(r"[\s._/-]+", "", _ORDER_WORDS.sub(" ", text))
    if re.fullmatch(pattern, compact, flags=re.IGNORECASE):
        return _real_order(compact.upper())
    # Digits glued to letters are another code (a tracking number "6A12345678901",
    # "XX123456789FR"), unless the letters say "order" ("CMD123456789", "n123456789").
    numbers = (_GLUED.fullmatch(token) for token in re.findall(r"[a-z0-9]+", text))
    found = {m.group(1) for m in numbers if m and re.fullmatch(pattern, m.group(1))}
    if not found:  # grouped digits inside a sentence: "la commande 123 456 789 du 12/11"
        grouped = (re.sub(r"\D", "", g) for g in re.findall(r"\d+(?:[ .-]\d+)+", text))
        found = {n for n in grouped if re.fullmatch(pattern, n)}
    if len(found) != 1:  # none, or two numbers that could each be it: ask again
        raise FieldError("bad_order_number")
    return _real_order(found.pop())


def _real_order(number: str) -> str:
    if not number.strip("0"):
        raise FieldError("bad_order_number")  # 000000: a placeholder, not an order
    return number


def parse_tracking(answer: str) -> str:
    """The carrier's number as typed ("6A 1234 5678 901"), or the one code of the right
    shape in a sentence ("le suivi colissimo c'est 6A12345678901")."""
    compact = re.sub(r"[\s-]+", "", answer).upper()
    # in a sentence, a carrier's code mixes letters and digits or is long: 9 digits
    # alone are an order number ("en fait la commande c'est 987654329")
    codes = {
        word
        for word in re.findall(r"[A-Z0-9]+", answer.upper())
        if 8 <= len(word) <= 34
        and any(c.isdigit() for c in word)
        and (not word.isdigit() or len(word) >= 13)
    }
    if len(codes) == 1 and len(answer.split()) > 1:
        compact = codes.pop()
    if not re.fullmatch(r"[A-Z0-9]{8,34}", compact) or not any(c.isdigit() for c in compact):
        raise FieldError("bad_tracking")
    return compact


# -- dates ------------------------------------------------------------------

_WEEKDAYS = {
    "lundi": 0,
    "mardi": 1,
    "mercredi": 2,
    "jeudi": 3,
    "vendredi": 4,
    "samedi": 5,
    "dimanche": 6,
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
_LAST_WEEKDAY = re.compile(
    r"^(?:(?P<a>\w+) (?:dernier|passe)|last (?P<b>\w+)|(?P<c>\w+) (?:d )?avant)$"
)
# "10h", "14h30", "hier a 9h", "lundi vers 8 h 15" (after normalise)
_CLOCK_TIME = re.compile(
    r"(?P<day>.*?)\s*(?:\b(?:a|vers|at|around|about|like)\s+)*(?P<h>[01]?\d|2[0-3])\s*"
    r"(?:h\s*(?P<m>[0-5]\d)?|(?P<m2>[0-5]\d)?\s*(?P<ap>am|pm))"
)
# "ce matin vers 6", "this morning around 6": a day said, then the hour alone
_BARE_HOUR = re.compile(r"(?P<day>.+?)\s+(?:vers|around|at|about|a|like)\s+(?P<h>[01]?\d|2[0-3])")
# "il y a 3h", "depuis 2h": a duration back from now, for dateparser, not a clock time
_DURATION = re.compile(r"(il y a|ca fait|depuis|since)\b|.*\b(ago)$")
# Parts of the day dateparser does not know (issues #459, #573, #1177).
_DAY_PARTS = {
    "ce matin": (0, time(9)),
    "this morning": (0, time(9)),
    "cet apres midi": (0, time(15)),
    "cet aprem": (0, time(15)),
    "this afternoon": (0, time(15)),
    "ce soir": (0, time(19)),
    "tonight": (0, time(19)),
    "this evening": (0, time(19)),
    "hier matin": (1, time(9)),
    "yesterday morning": (1, time(9)),
    "hier apres midi": (1, time(15)),
    "hier aprem": (1, time(15)),
    "yesterday afternoon": (1, time(15)),
    "hier soir": (1, time(20)),
    "yesterday evening": (1, time(20)),
    "last night": (1, time(20)),
    "avant hier": (2, time(12)),
    "aujourd hui": (0, None),
    "today": (0, None),
    "maintenant": (0, None),
    "now": (0, None),
}


_DATE_CUE = re.compile(
    r"\d|^(hier|avant|aujourd|ce|cette|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|"
    r"janv|fev|mars|avr|mai|juin|juil|aout|sept|oct|nov|dec|semaine|mois|jours?|il|ya|y|"
    r"yesterday|today|last|ago|week|month|days?|monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday|jan|feb|mar|apr|may|jun|jul|aug|sep|deux|trois|quatre|cinq|quinze|"
    r"huit|dix|une?|two|three|four|five|ten|couple)"
)
_DATE_WORDS = re.compile(
    r"\d[/.-]\d|\b(le|the|on|du|depuis|since)\s+\d|\d+\s*(er|st|nd|rd|th)\b|[a-z]{3,}\s+\d|"
    r"\d\s+[a-z]{3,}|\b(hier|avant|aujourd|ce matin|ce soir|cette|semaines?|mois|jours?|"
    r"yesterday|today|last|ago|weeks?|months?|days?|dernier|derniere|lundi|mardi|mercredi|jeudi|"
    r"vendredi|samedi|dimanche|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
)
# orders and tracking numbers, not ordinals ("3rd", "1er")
_LONG_NUMBER = re.compile(
    r"\d{5,}|[a-z]\d|\d(?!(?:st|nd|rd|th|er|eme|ème)\b)[a-z]{2}", re.IGNORECASE
)
_NOT_BEFORE = {"pas", "not", "non", "no", "plutot", "instead"}
# Words a date may end with besides those that carry one (_DATE_CUE): "lundi dernier",
# "hier soir". A span ending with another word ("le 3 un set") is read past its date.
_DATE_ENDS = frozenset(
    [
        "dernier",
        "derniere",
        "passe",
        "passee",
        "prochain",
        "soir",
        "matin",
        "midi",
        "minuit",
        "apres-midi",
        "night",
        "morning",
        "evening",
        "afternoon",
        "noon",
        "midnight",
        "am",
        "pm",
        "h",
    ]
)


# Words that open a date but never end one ("il y a un mois", "last week"): dateparser
# reads "le 3 un" as the 3rd of January.
_DATE_OPENERS = frozenset(["un", "une", "il", "y", "ya", "ce", "cette", "avant", "last", "the"])


def _ends_a_date(span: str) -> bool:
    last = strip_accents(span.split()[-1].lower()).strip(".,;:!?()")
    if last in _DATE_OPENERS:
        return False
    return bool(_DATE_CUE.search(last)) or last in _DATE_ENDS


@dataclass(frozen=True)
class FoundDate:
    """A date read inside a sentence; ``negated`` when the customer says it is not it
    ("le 2/12 pas le 22/11")."""

    moment: datetime
    words: str
    negated: bool = False
    before: tuple[str, ...] = ()  # the words before it in its clause, folded, nearest last


@dataclass(frozen=True)
class DateParser:
    """Reads dates the way French (and English) customers type them, in one time zone."""

    timezone: str = "Europe/Paris"
    max_age_days: int = 2 * 366
    # The lexicon's parts of a month ((folded words, "start" | "middle" | "end"), longest
    # first) and numbers in words: what the readers below do not know.
    month_parts: tuple[tuple[tuple[str, ...], str], ...] = ()
    number_words: Mapping[str, int] = field(default_factory=dict)

    def parse(self, answer: str, now: datetime, *, with_time: bool = False) -> datetime:
        """An aware datetime; refused when unreadable, in the future or too old."""
        tz = ZoneInfo(self.timezone)
        local_now = now.astimezone(tz)
        found = self._read(answer, local_now)
        if found is None:
            counted = self._counted(answer)  # "il y a quinze jours"
            found = self._read(counted, local_now) if counted != answer else None
        if found is None:
            found = self._month_part(answer, local_now)  # "début octobre", "late November"
        if found is None:
            raise FieldError("bad_date")
        if found.tzinfo is None:
            found = found.replace(tzinfo=tz)
        if not with_time:
            found = found.replace(hour=12, minute=0, second=0, microsecond=0)
        shown = f"{found:%d/%m/%Y}"
        if found.date() > local_now.date() or (
            with_time and found > local_now + timedelta(minutes=5)
        ):
            raise FieldError("bad_date_future", date=shown)
        if (local_now.date() - found.date()).days > self.max_age_days:
            raise FieldError("bad_date_old", date=shown)
        return found

    def _counted(self, answer: str) -> str:
        """Numbers written in words as digits: "quinze jours" -> "15 jours"."""
        words = normalise(answer).split()
        if not any(w in self.number_words for w in words):
            return answer
        return " ".join(str(self.number_words.get(w, w)) for w in words)

    def _month_part(self, answer: str, local_now: datetime) -> datetime | None:
        """The 1st, the 15th or the last day of the month said with a part of it."""
        opening = self._part_opening(answer)
        if opening is None:
            return None
        part, rest = opening
        # a day's number said with it ("début octobre, le 2"), not "last month"'s own day
        exact = self._read(rest, local_now) if re.search(r"\d", rest) else None
        if exact is not None:
            return exact  # "début octobre, le 2": the day said wins
        month = self._month_of(rest, local_now) if rest else None
        if month is None:
            return None
        last = monthrange(month.year, month.month)[1]
        day = {"start": 1, "middle": 15}.get(part, last)
        return month.replace(day=day, hour=12, minute=0, second=0, microsecond=0)

    def _part_opening(self, said: str) -> tuple[str, str] | None:
        """The part of a month the words open with ("early October": start) and the words
        after it, or None."""
        words = tuple(normalise(said).split())
        for phrase, part in self.month_parts:  # the longest first
            if words[: len(phrase)] == phrase:
                return part, " ".join(words[len(phrase) :])
        return None

    def _month_of(self, said: str, local_now: datetime) -> datetime | None:
        """The month a few words name ("octobre", "last month", "mois dernier"), in the past
        or this one."""
        for text in (said, f"le {said}"):
            month = dateparser.parse(
                text,
                languages=["fr", "en"],
                settings={
                    "PREFER_DATES_FROM": "past",
                    "PREFER_DAY_OF_MONTH": "first",
                    "RELATIVE_BASE": local_now.replace(tzinfo=None),
                    "REQUIRE_PARTS": ["month"],
                },
            )
            if month is not None:
                if (month.year, month.month) > (local_now.year, local_now.month):
                    month = month.replace(year=month.year - 1)
                found: datetime = month.replace(tzinfo=local_now.tzinfo)
                return found
        return None

    def _read(self, answer: str, local_now: datetime) -> datetime | None:
        answer = _spoken_date(answer)
        day_only = re.fullmatch(r"le (\d{1,2})(?:er)?", answer.lower().strip())
        if day_only:  # "le 12": this month's, or last month's when still to come
            return _day_of_month(int(day_only[1]), local_now)
        norm = normalise(answer).removeprefix("le ").removeprefix("on ").strip()
        if not norm:
            return None
        clock = (
            None
            if _DURATION.match(norm)
            else _CLOCK_TIME.fullmatch(norm) or _BARE_HOUR.fullmatch(norm)
        )
        if clock:  # "10h" is ten o'clock in French, not ten hours ago (dateparser's reading)
            return self._at_time(clock, local_now)
        if norm in _DAY_PARTS:
            days, at = _DAY_PARTS[norm]
            day = local_now - timedelta(days=days)
            return day if at is None else datetime.combine(day.date(), at, local_now.tzinfo)
        if norm in _WEEKDAYS:
            return local_now - timedelta(days=(local_now.weekday() - _WEEKDAYS[norm]) % 7)
        m = _LAST_WEEKDAY.match(norm)
        if m:
            name = m.group("a") or m.group("b") or m.group("c")
            if name in _WEEKDAYS:
                back = (local_now.weekday() - _WEEKDAYS[name]) % 7 or 7
                return local_now - timedelta(days=back)
        if re.fullmatch(r"\d{1,4}", norm):
            return None  # a bare "3" or "42" is not a date (dateparser guesses wildly)
        day_month = re.fullmatch(r"(?:le\s+|on\s+)?(\d{1,2})[./-](\d{1,2})", answer.strip(), re.I)
        if day_month:
            try:
                day = local_now.replace(
                    month=int(day_month[2]), day=int(day_month[1]), hour=12, minute=0
                )
            except ValueError:
                day_no, month_no = int(day_month[1]), int(day_month[2])
                if 1 <= month_no <= 12 and 1 <= day_no <= 31:  # "31/11": that day does not exist
                    raise FieldError(
                        "bad_date_no_such_day", date=f"{day_no:02d}/{month_no:02d}"
                    ) from None
                return None
            return _nearest_past(day, local_now)
        parsed: datetime | None = dateparser.parse(
            answer,
            languages=["fr", "en"],
            settings={
                "DATE_ORDER": "DMY",
                "PREFER_DATES_FROM": "past",
                "RELATIVE_BASE": local_now.replace(tzinfo=None),
                "TIMEZONE": self.timezone,
                "RETURN_AS_TIMEZONE_AWARE": True,
                "REQUIRE_PARTS": [] if norm in {"hier", "yesterday"} else ["day", "month"],
            },
        )
        if parsed is None:
            return None
        typed_year = re.search(r"\b(19|20)\d{2}\b", answer)
        if typed_year:  # "le 15 janvier 2027": the year typed, even in the future (refused)
            try:
                return parsed.replace(year=int(typed_year.group()))
            except ValueError:
                return None
        if parsed.date() < local_now.date():  # dateparser's "past" may be a year back
            this_year = _replace_year(parsed, local_now.year)
            if this_year is not None and this_year.date() > local_now.date():
                return _nearest_past(this_year, local_now)
        return parsed

    def find(
        self,
        sentence: str,
        now: datetime,
        *,
        with_time: bool = False,
        lasting: frozenset[str] = frozenset(),
    ) -> list[FoundDate]:
        """Every plausible date inside a sentence ("je l'ai reçue le 2 décembre", "reçu il
        y a deux semaines"), left to right: the longest readable run of words around each
        word that can carry a date, checked like an answer (past, not absurdly old). A
        span said right after one of the ``lasting`` words is how long, not when ("for
        two weeks")."""
        words = sentence.split()
        found: list[FoundDate] = []
        i = 0
        while i < len(words):
            if not _DATE_CUE.search(strip_accents(words[i].lower())) or _LONG_NUMBER.search(
                words[i]
            ):
                i += 1
                continue
            best: tuple[int, int, datetime] | None = None
            for start in range(max(0, i - 3), i + 1):
                for end in range(min(len(words), i + 4), i, -1):
                    if best and end - start <= best[1] - best[0]:
                        break
                    span = " ".join(words[start:end]).strip(" ,;:!?()")
                    if _LONG_NUMBER.search(span) or not span or not _ends_a_date(span):
                        continue
                    try:
                        moment = self.parse(span, now, with_time=with_time)
                    except FieldError:
                        continue
                    best = (start, end, moment)
            if best is None:
                i += 1
                continue
            start, end, moment = best
            said = " ".join(words[start:end])
            if (
                not _DATE_WORDS.search(strip_accents(said.lower()))
                and self._part_opening(said) is None
            ):
                i += 1  # a bare number ("4 sur 5") is not a date
                continue
            if start > 0 and normalise(words[start - 1]) in lasting:
                i = end  # "frozen for over two weeks": a duration
                continue
            negated = start > 0 and strip_accents(words[start - 1].lower()) in _NOT_BEFORE
            before = _clause_before(words, start)
            found.append(FoundDate(moment, " ".join(words[start:end]), negated, before))
            i = end
        return found

    def _at_time(self, clock: re.Match[str], local_now: datetime) -> datetime | None:
        found = clock.groupdict()
        hour = int(found["h"])
        if found.get("ap") == "pm" and hour < 12:
            hour += 12
        elif found.get("ap") == "am" and hour == 12:
            hour = 0
        at = time(hour, int(found.get("m") or found.get("m2") or 0))
        day_text = clock["day"].strip()
        if day_text:
            day = self._read(day_text, local_now)
            if day is None:
                return None
            return datetime.combine(day.date(), at, local_now.tzinfo)
        today = datetime.combine(local_now.date(), at, local_now.tzinfo)
        # a time alone is the last one that has passed: "22h" said at 9:00 is last night
        return today if today <= local_now + timedelta(minutes=5) else today - timedelta(days=1)

    def warm_up(self) -> None:
        """dateparser's first call costs ~150 ms; pay it at start-up, not on a customer."""
        dateparser.parse("12/11/2026", languages=["fr", "en"], settings={"DATE_ORDER": "DMY"})


_MONTHS = "janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre"
_DAYS = "lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche"
# How people say dates that the readers below do not know, said the way they do.
_SPOKEN: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(?:y a|ya|y'a|ca fait|cela fait)\b"), "il y a"),  # "ya 2 semaines"
    (re.compile(r"\bsemaine passee\b"), "semaine derniere"),
    (re.compile(rf"\b({_MONTHS}) dernier\b"), r"\1"),  # "le 12 novembre dernier"
    (re.compile(rf"^(?:le )?(?:{_DAYS}) (\d{{1,2}})(?:er)?$"), r"le \1"),  # "mardi 17"
    (re.compile(r"^(?:on )?the (\d{1,2})(?:st|nd|rd|th)?$"), r"le \1"),  # "on the 3rd"
)


def _spoken_date(answer: str) -> str:
    """``answer`` rewritten when it says a date in one of those ways, else unchanged."""
    plain = strip_accents(answer.lower()).strip()
    rewritten = plain
    for pattern, replacement in _SPOKEN:
        rewritten = pattern.sub(replacement, rewritten)
    return rewritten if rewritten != plain else answer


# A day and month said without a year in the future: last year's only when it is recent
# ("28/12" said on 5 January); further, it is a slip ("25/12" meant in November) and stays
# in the future, where it is refused with the date shown, rather than a year ago.
LAST_YEAR_WITHIN = timedelta(days=120)


def _clause_before(words: list[str], start: int, most: int = 8) -> tuple[str, ...]:
    """The folded words said before ``start`` in the same clause (up to a comma or a full
    stop), nearest last: "I ordered a set of chess pieces on Nov 3rd" gives "ordered"."""
    taken: list[str] = []
    for word in reversed(words[max(0, start - most) : start]):
        if word[-1:] in ",.;:!?":
            break
        taken.append(word)
    return tuple(normalise(" ".join(reversed(taken))).split())


def _nearest_past(day: datetime, local_now: datetime) -> datetime:
    if day <= local_now + timedelta(days=7):
        return day  # "26/11" said on the 25th: a slip of a day or two, refused as future
    last_year = _replace_year(day, day.year - 1)
    if last_year is not None and local_now - last_year <= LAST_YEAR_WITHIN:
        return last_year
    return day


def _replace_year(day: datetime, year: int) -> datetime | None:
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February
        return None


def _day_of_month(day: int, local_now: datetime) -> datetime | None:
    month_start = local_now.replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    for start in (month_start, (month_start - timedelta(days=1)).replace(day=1)):
        try:
            found = start.replace(day=day)
        except ValueError:
            continue  # no 31st this month
        if found.date() <= local_now.date():
            return found
    return None


# -- attachments ------------------------------------------------------------

MIME_KINDS: dict[str, AttachmentKind] = {
    "image/jpeg": AttachmentKind.IMAGE,
    "image/png": AttachmentKind.IMAGE,
    "image/webp": AttachmentKind.IMAGE,
    "image/heic": AttachmentKind.IMAGE,
    "image/heif": AttachmentKind.IMAGE,
    "application/pdf": AttachmentKind.PDF,
    "video/mp4": AttachmentKind.VIDEO,
}
