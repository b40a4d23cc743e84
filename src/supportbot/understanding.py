"""Reads one customer message once: what they do (acts) and the values they give.

The rest of the bot acts on an :class:`Interpretation`; it does not look at raw
words for meaning. Acts come from the lexicon (lexicon/*.yaml, every language
at once: customers mix them); values are found anywhere in the sentence (order
numbers, dates, e-mail addresses, tracking numbers, a rating), each marked when
the customer says it is *not* the one ("le 2/12 pas le 22/11").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from supportbot.fields import DateParser, FoundDate
from supportbot.lexicon import Act, Lexicon, intent_in, phrases_in
from supportbot.masking import mask_contacts
from supportbot.normalise import normalise

_EMAIL = re.compile(r"[a-z0-9._%+'-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}", re.IGNORECASE)
_TRACKING = re.compile(r"\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{10,34}\b|\b\d{13,34}\b")
_DIGIT_DATE = re.compile(r"\b\d{1,4}[./-]\d{1,2}(?:[./-]\d{2,4})?\b")
_RATING = re.compile(r"\b([1-5])\s*(?:/|sur|out of)\s*(?:5|cinq|five)\b")


_COURSE_CHANGING = frozenset(
    {Act.CANCEL, Act.BACK, Act.SKIP, Act.NOTHING, Act.DENY, Act.CORRECT, Act.HUMAN, Act.STATUS}
)


@dataclass(frozen=True)
class Found:
    """A value given in the message; ``negated`` when said not to be it."""

    value: str
    negated: bool = False


@dataclass(frozen=True)
class Interpretation:
    text: str
    norm: str
    acts: frozenset[Act]
    # Acts that make up the whole message (with filler): "oui c'est bon" is only a yes.
    whole: frozenset[Act]
    order_numbers: tuple[Found, ...] = ()
    emails: tuple[Found, ...] = ()
    trackings: tuple[Found, ...] = ()
    fields_named: tuple[str, ...] = ()
    rating: int | None = None
    words: int = 0
    intent: str | None = None  # "ask" (a question), "act" (a request), None (unclear)
    negated: bool = False  # a negation is said ("pas", "jamais", "never")
    negated_at: frozenset[int] = frozenset()  # the positions of its words
    # Acts the message opens with ("oui je veux ouvrir un ticket, ...").
    opening: frozenset[Act] = frozenset()
    # Nothing but a field's name, acts and polite words: "la date", "non, le suivi".
    names_only: bool = False
    # Dates cost a few milliseconds to find: read when first asked for (flows), not for
    # every question the FAQ answers.
    find_dates: Callable[[], list[FoundDate]] = field(default=list, repr=False, compare=False)

    @cached_property
    def dates(self) -> tuple[FoundDate, ...]:
        return tuple(_unique(self.find_dates()))

    def has(self, act: Act) -> bool:
        return act in self.acts

    def only(self, act: Act) -> bool:
        """The message is this act and nothing else ("ok envoyez", "non"): polite words
        may come with it, another act that changes the course ("pas de suivi retour")
        may not."""
        return act in self.whole and not (self.whole & _COURSE_CHANGING) - {act}

    @property
    def yes_or_no(self) -> str | None:
        """ "yes" or "no" to a yes/no question ("oui", "ouais bien sûr", "non pas encore",
        "no I haven't, I'd rather you deal with it"): the one it opens with, or the one it
        is; None for "oui et non" or a sentence that says neither first."""
        if {Act.CONFIRM, Act.DENY} <= self.whole:
            return None  # "oui et non"
        opens = self.opening & {Act.CONFIRM, Act.DENY}
        if len(opens) == 1:
            return "yes" if Act.CONFIRM in opens else "no"
        if self.only(Act.CONFIRM):
            return "yes"
        if self.only(Act.DENY):
            return "no"
        return None

    def denied_near(self, position: int) -> bool:
        """A negation in the three words before ``position`` ("pas les supprimer")."""
        return any(p in self.negated_at for p in range(max(0, position - 3), position))

    @property
    def has_values(self) -> bool:
        return bool(self.order_numbers or self.emails or self.trackings or self.dates)


@dataclass
class Understanding:
    lexicon: Lexicon
    dates: DateParser
    order_pattern: str = r"\d{6,12}"

    def read(self, text: str, now: datetime) -> Interpretation:
        """The message once, read whole: acts, values, the field it names."""
        norm = normalise(text, keep_politeness=True)
        tokens = norm.split()
        negated_at = self._negation_positions(tokens)
        acts, covered, opening = self._acts(tokens, negated_at)
        whole = self._whole(tokens, acts, covered)
        named, field_words = self._fields_named(tokens)
        filler = self.lexicon.filler
        names_only = bool(named) and all(
            i in covered or i in field_words or t in filler for i, t in enumerate(tokens)
        )
        trackings = tuple(Found(t) for t in dict.fromkeys(_TRACKING.findall(text.upper())))
        masked = mask_contacts(text) if any(c.isdigit() or c == "@" for c in text) else text
        orders = self._orders(masked, {t.value for t in trackings})
        emails = tuple(Found(e.lower().strip(".")) for e in dict.fromkeys(_EMAIL.findall(text)))
        return Interpretation(
            text=text,
            norm=norm,
            acts=frozenset(acts),
            opening=frozenset(opening),
            intent=intent_in(tokens, text, self.lexicon),
            negated=bool(negated_at),
            negated_at=frozenset(negated_at),
            whole=frozenset(whole),
            order_numbers=orders,
            find_dates=lambda: self.dates.find(
                masked, now, with_time=True, lasting=self.lexicon.lasting
            ),
            emails=emails,
            trackings=trackings,
            fields_named=named,
            names_only=names_only,
            rating=self._rating(text, tokens),
            words=len(tokens),
        )

    # -- acts -----------------------------------------------------------------

    def _acts(self, tokens: list[str], negated_at: set[int]) -> tuple[set[Act], set[int], set[Act]]:
        """Acts whose phrase appears as whole words and is not negated; the token positions
        the phrases cover; the acts the message opens with."""
        found: set[Act] = set()
        opening: set[Act] = set()
        covered: set[int] = set()
        greeted = 0  # "bonjour, vous êtes un robot ?" opens with the question all the same
        for start, act, phrase in phrases_in(tokens, self.lexicon.acts_index):
            covered.update(range(start, start + len(phrase)))
            if act is Act.CANCEL and len(phrase) == 1 and len(tokens) > 4:
                continue  # "arrêté à la douane" is not "arrête"; "laissez tomber" is
            negated = any(p in negated_at for p in range(max(0, start - 2), start))
            if negated and act in (Act.CONFIRM, Act.CANCEL, Act.DONE):
                if act is Act.CONFIRM:  # "pas bon", "not right"
                    found.add(Act.DENY)
                continue
            found.add(act)
            if start == greeted:
                opening.add(act)
                if act is Act.GREETING:
                    greeted = start + len(phrase)
        return found, covered, opening

    def _negation_positions(self, tokens: list[str]) -> set[int]:
        return {
            i
            for start, _, phrase in phrases_in(tokens, self.lexicon.negations_index)
            for i in range(start, start + len(phrase))
        }

    def _whole(self, tokens: list[str], acts: set[Act], covered: set[int]) -> set[Act]:
        """The acts that alone make the message (all its words are theirs or filler)."""
        filler = self.lexicon.filler
        if not tokens or any(i not in covered and t not in filler for i, t in enumerate(tokens)):
            return set()
        return set(acts)

    # -- values ---------------------------------------------------------------

    def _orders(self, masked: str, trackings: set[str]) -> tuple[Found, ...]:
        """Order numbers in ``masked`` (the message with contacts masked)."""
        if not any(c.isdigit() for c in masked):
            return ()
        plain = _DIGIT_DATE.sub(" ", masked)
        # digits grouped by spaces ("123 456 789") are one number
        plain = re.sub(r"(?<=\d)[ .](?=\d{3}\b)", "", plain)
        found: dict[str, bool] = {}
        words = plain.split()
        for i, word in enumerate(words):
            token = re.sub(r"^(?:n°|no|#|cmd|cde|commande|order)", "", word.lower()).strip(
                ".,;:!?()\"'"
            )
            if token.upper() in trackings or not re.fullmatch(self.order_pattern, token):
                continue
            if not token.strip("0"):
                continue
            before = {normalise(w) for w in words[max(0, i - 2) : i]}
            negated = bool(before & {"pas", "not", "non", "no"})
            found.setdefault(token, negated)
        return tuple(Found(v, n) for v, n in found.items())

    def _fields_named(self, tokens: list[str]) -> tuple[tuple[str, ...], set[int]]:
        """The kinds of field the message names, and the words that name them."""
        named: list[str] = []
        words: set[int] = set()
        for start, kind, phrase in phrases_in(tokens, self.lexicon.fields_index):
            words.update(range(start, start + len(phrase)))
            if kind not in named:
                named.append(kind)
        return tuple(named), words

    def _rating(self, text: str, tokens: list[str]) -> int | None:
        """'4 sur 5', '4/5', 'je mets 4', 'quatre étoiles', 'I'd give it 5'."""
        words = self.lexicon.rating_numbers
        has_digit = any(len(t) == 1 and t in "12345" for t in tokens)
        scale_words = {p[0] for p in self.lexicon.rating_out_of}
        in_words = any(t in words for t in tokens) and (
            len(tokens) <= 2 or not scale_words.isdisjoint(tokens)
        )
        if not has_digit and not in_words:
            return None  # no small number said ("un" alone is an article): most messages
        match = _RATING.search(text.lower())
        if match:
            return int(match.group(1))
        # "trois sur cinq": the scale is not the rating
        scale = {
            i
            for p in self.lexicon.rating_out_of
            for s in _positions(tokens, p)
            for i in range(s, s + len(p))
        }
        said = [t for i, t in enumerate(tokens) if i not in scale]
        digits = [int(t) for t in said if len(t) == 1 and t in "12345"]
        # a digit says it best ("je mets 4, un peu long": not "un"); a number in words
        # only said alone or out of five ("quatre étoiles"): "un" is also an article.
        # Read as a rating only where one was asked for (the caller knows).
        alone = bool(scale) or len(tokens) <= 2
        numbers = digits or [words[t] for t in said if t in words and alone]
        return numbers[0] if len(set(numbers)) == 1 else None


def _unique(dates: list[FoundDate]) -> list[FoundDate]:
    """One per moment: "il y a 3 jours vers 18h" is read twice, one date."""
    seen: set[str] = set()
    kept: list[FoundDate] = []
    for found in dates:
        moment = found.moment.isoformat()[:16]
        if moment not in seen:
            seen.add(moment)
            kept.append(found)
    return kept


def _positions(tokens: list[str], phrase: tuple[str, ...]) -> list[int]:
    n = len(phrase)
    if n == 0 or n > len(tokens):
        return []
    first = phrase[0]
    return [
        i
        for i, token in enumerate(tokens[: len(tokens) - n + 1])
        if token == first and tuple(tokens[i : i + n]) == phrase
    ]
