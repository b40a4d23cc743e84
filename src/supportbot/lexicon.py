"""The words of the conversation, per language, as data: dialogue acts and field names.

``src/supportbot/lexicon/<lang>.yaml`` (or a content folder's own ``lexicon/``) lists
how customers confirm, refuse, correct, cancel, skip, thank, ask for a person, ask
where their request stands, and how they name each kind of field ("la date", "le
suivi"). Loaded and validated once like faq/; the understanding step is the only reader.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import StrEnum
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from supportbot.normalise import normalise, plain_words


class Act(StrEnum):
    """What a customer does with a message, whatever the words."""

    CONFIRM = "confirm"
    DENY = "deny"
    CORRECT = "correct"
    CANCEL = "cancel"
    BACK = "back"
    SKIP = "skip"
    NOTHING = "nothing"  # nothing to give for this question ("pas de suivi")
    DONE = "done"  # no more files
    HUMAN = "human"
    THANKS = "thanks"
    ACKNOWLEDGE = "acknowledge"
    GREETING = "greeting"
    STATUS = "status"  # where does my request stand?
    FILE = "file"  # please file it: "ouvrez un ticket", "go ahead and log it"
    QUESTION = "question"  # how a question opens: "comment", "est-ce que", "how do I"
    WANT = "want"  # a first-person request: "je voudrais", "I'd like", "help me"
    PRESENCE = "presence"  # is anybody there? ("allo ?", "vous êtes là ?")
    ABOUT_BOT = "about_bot"  # am I talking to a machine?
    INSULT = "insult"
    # Something does not work for them ("le code promo ne marche pas", "error 500"): a
    # problem Support takes as a request even when its topic is not one the FAQ covers.
    TROUBLE = "trouble"
    WANTS_FRENCH = "wants_french"  # "en français svp", "I don't speak English"
    WANTS_ENGLISH = "wants_english"  # "sorry, I don't speak French"


SHIPPED_LEXICON = Path(__file__).with_name("lexicon")
MONTH_PARTS = ("start", "middle", "end")
FIELD_KINDS = ("order_number", "date", "tracking", "email", "choice", "text", "files")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _phrases(values: list[str]) -> list[str]:
    for value in values:
        if not normalise(str(value), keep_politeness=True):
            raise ValueError(f"{value!r} is empty once folded")
    return [str(v) for v in values]


class RatingWords(_Strict):
    out_of: list[str]
    numbers: dict[str, int]


class LexiconFile(_Strict):
    language: str
    acts: dict[Act, list[str]]
    negations: list[str] = Field(min_length=1)
    filler: list[str] = Field(default_factory=list)
    # Words that tell the language a message is written in (articles, pronouns, and
    # words of the support's topics that exist in this language only).
    language_words: list[str] = Field(min_length=10)
    # Words said just before a date that tell which moment it is ("commandée le 2/12",
    # "reçu hier"), by the names flows give their date questions (`date_of`).
    date_cues: dict[str, list[str]] = Field(default_factory=dict)
    # Words before a duration that say how long, not when ("for two weeks", "pendant 10 jours").
    lasting: list[str] = Field(default_factory=list)
    fields: dict[str, list[str]]
    rating: RatingWords
    # Part of a month said for a date ("début octobre", "late November"): start, middle, end.
    month_parts: dict[str, list[str]] = Field(default_factory=dict)
    # Numbers written in words before a unit of time ("il y a quinze jours").
    number_words: dict[str, int] = Field(default_factory=dict)

    @field_validator("month_parts")
    @classmethod
    def _known_parts(cls, parts: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(parts) - set(MONTH_PARTS))
        if unknown:
            raise ValueError(f"unknown parts {unknown}; known: {', '.join(MONTH_PARTS)}")
        return parts

    @field_validator("acts")
    @classmethod
    def _every_act(cls, acts: dict[Act, list[str]]) -> dict[Act, list[str]]:
        missing = [a.value for a in Act if a not in acts]
        if missing:
            raise ValueError(f"missing acts: {', '.join(missing)}")
        for act, values in acts.items():
            try:
                _phrases(values)
            except ValueError as err:
                raise ValueError(f"{act.value}: {err}") from None
        return acts

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, fields: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(fields) - set(FIELD_KINDS))
        if unknown:
            raise ValueError(f"unknown field kinds {unknown}; known: {', '.join(FIELD_KINDS)}")
        return fields


@dataclass(frozen=True)
class Lexicon:
    """Every language's words merged: customers mix them ("ok merci", "sorry, le 2/12")."""

    acts: dict[Act, tuple[tuple[str, ...], ...]]
    negations: tuple[tuple[str, ...], ...]
    fields: dict[str, tuple[tuple[str, ...], ...]]
    rating_out_of: tuple[tuple[str, ...], ...]
    rating_numbers: dict[str, int]
    filler: frozenset[str]  # words around an act that do not change it ("oui c'est bon")
    language_words: dict[str, frozenset[str]]  # per language
    date_cues: dict[str, frozenset[str]]  # moment -> folded words
    lasting: frozenset[str]  # words before a duration
    # (folded words, part of the month), the longest first
    month_parts: tuple[tuple[tuple[str, ...], str], ...] = ()
    number_words: dict[str, int] = dataclass_field(default_factory=dict)

    @cached_property
    def acts_index(self) -> PhraseIndex[Act]:
        return index_by_first_word((a, p) for a, phrases in self.acts.items() for p in phrases)

    @cached_property
    def fields_index(self) -> PhraseIndex[str]:
        return index_by_first_word((k, p) for k, phrases in self.fields.items() for p in phrases)

    @cached_property
    def negations_index(self) -> PhraseIndex[str]:
        return index_by_first_word(("negation", p) for p in self.negations)

    @classmethod
    def merge(cls, files: list[LexiconFile]) -> Lexicon:
        def tokens(values: list[str]) -> tuple[tuple[str, ...], ...]:
            folded = {tuple(_fold(v).split()) for v in values}
            return tuple(sorted(folded, key=lambda t: (-len(t), t)))

        acts = {act: tokens([p for f in files for p in f.acts.get(act, [])]) for act in Act}
        fields = {k: tokens([p for f in files for p in f.fields.get(k, [])]) for k in FIELD_KINDS}
        out_of = tokens([p for f in files for p in f.rating.out_of])
        numbers = {
            normalise(w, keep_politeness=True): n
            for f in files
            for w, n in f.rating.numbers.items()
        }
        negations = tokens([p for f in files for p in f.negations])
        filler = frozenset(w for f in files for p in f.filler for w in _fold(p).split())
        spoken = {
            f.language: frozenset(w for p in f.language_words for w in plain_words(p))
            for f in files
        }
        cues: dict[str, set[str]] = {}
        for f in files:
            for moment, words in f.date_cues.items():
                cues.setdefault(moment, set()).update(w for p in words for w in _fold(p).split())
        date_cues = {moment: frozenset(words) for moment, words in cues.items()}
        lasting = frozenset(w for f in files for p in f.lasting for w in _fold(p).split())
        parts = {
            (tuple(_fold(p).split()), part)
            for f in files
            for part, phrases in f.month_parts.items()
            for p in phrases
        }
        month_parts = tuple(sorted(parts, key=lambda item: (-len(item[0]), item)))
        counted = {_fold(w): n for f in files for w, n in f.number_words.items()}
        return cls(
            acts,
            negations,
            fields,
            out_of,
            numbers,
            filler,
            spoken,
            date_cues,
            lasting,
            month_parts,
            counted,
        )


def _fold(text: str) -> str:
    return normalise(text, keep_politeness=True)


K = TypeVar("K")
Phrase = tuple[str, ...]
# Phrases by their first word, each with what it says: a message is read in one pass.
PhraseIndex = dict[str, tuple[tuple[K, Phrase], ...]]


def index_by_first_word(labelled: Iterable[tuple[K, Phrase]]) -> PhraseIndex[K]:
    index: dict[str, list[tuple[K, Phrase]]] = {}
    for label, phrase in labelled:
        index.setdefault(phrase[0], []).append((label, phrase))
    return {word: tuple(items) for word, items in index.items()}


def phrases_in(tokens: list[str], index: PhraseIndex[K]) -> Iterator[tuple[int, K, Phrase]]:
    """Each phrase of the index said in the words: where it starts, its label, itself."""
    for start, token in enumerate(tokens):
        for label, phrase in index.get(token, ()):
            if tuple(tokens[start : start + len(phrase)]) == phrase:
                yield start, label, phrase


class LexiconError(ValueError):
    """A lexicon file is missing or wrong; each problem names the file, the entry, the field."""

    def __init__(self, problems: list[tuple[str, str, str, str]]) -> None:
        super().__init__("\n".join(" ".join(p) for p in problems))
        self.problems = problems


def intent_in(tokens: list[str], text: str, lexicon: Lexicon) -> str | None:
    """'ask' for a question (it opens like one, or has a question mark), 'act' for a
    first-person request ("je voudrais...", "I'd like..."), None when unclear."""
    said = [(start, act) for start, act, _ in phrases_in(tokens, lexicon.acts_index)]
    if (0, Act.QUESTION) in said:
        return "ask"
    if any(act is Act.WANT for _, act in said):
        return "act"
    return "ask" if "?" in text else None


@lru_cache(maxsize=1)
def shipped_lexicon() -> Lexicon:
    """The lexicon supportbot ships, for tools that work without a content folder."""
    return load_lexicon(SHIPPED_LEXICON)


def load_lexicon(folder: Path) -> Lexicon:
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise LexiconError([(str(folder), "", "", "no lexicon file (fr.yaml, en.yaml)")])
    parsed: list[LexiconFile] = []
    problems: list[tuple[str, str, str, str]] = []
    for path in files:
        try:
            raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
            parsed.append(LexiconFile.model_validate(raw))
        except yaml.YAMLError as err:
            problems.append((path.name, "", "", f"invalid YAML: {err}"))
        except ValidationError as err:
            for e in err.errors():
                entry, *rest = [str(p) for p in e["loc"]] or [""]
                problems.append((path.name, entry, ".".join(rest), e["msg"]))
    if problems:
        raise LexiconError(problems)
    return Lexicon.merge(parsed)
