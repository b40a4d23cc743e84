"""Words and their lemmas, for the matcher: "remboursé", "remboursez" and "rembourser"
share one lemma, as do "parcels" and "parcel".

simplemma (its data ships with it, no download) lemmatises the word as typed, before
accents are folded: it knows "reçu" -> recevoir but not "recu". The matcher maps an
accent-less form to the lemma its accented twin got in the training phrasings.
French is tried first, then English (the support chats in both).
"""

from __future__ import annotations

import re
from functools import lru_cache

import simplemma

from supportbot.normalise import normalise, strip_accents

LANGUAGES = ("fr", "en")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_ELISION = re.compile(r"\b(l|d|j|m|t|s|n|c|qu|jusqu|lorsqu|puisqu)['’`´]")
_SPLIT = re.compile(r"[^\w@.]+|_")

Token = tuple[str, str]
"""A word as the matcher compares it (see :func:`normalise`) and its folded lemma."""


@lru_cache(maxsize=1 << 16)
def _word(raw: str) -> tuple[Token, ...]:
    folded = normalise(raw).split()
    if len(folded) != 1:  # an abbreviation that expands ("jai") or a dropped word ("svp")
        return tuple((tok, tok) for tok in folded)
    surface = folded[0]
    # An abbreviation ("cmd") is lemmatised in its expanded form.
    source = raw if strip_accents(raw) == surface else surface
    lemma = strip_accents(simplemma.lemmatize(source, lang=LANGUAGES).lower())
    return ((surface, lemma if lemma.isalnum() else surface),)


def analyse(text: str) -> list[Token]:
    """The words of ``text`` in the matcher's folding, each with its lemma."""
    text = text.translate(_INVISIBLE).lower().replace("œ", "oe").replace("æ", "ae")
    text = _ELISION.sub(r"\1 ", text).replace("'", " ").replace("’", " ")
    return [token for raw in _SPLIT.split(text) if raw for token in _word(raw)]


def warm_up() -> None:
    """Load both languages' data now (about half a second) rather than on a first customer."""
    for word in ("remboursée", "parcels"):
        _word(word)
