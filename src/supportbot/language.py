"""Which of the two languages a message is written in, when it is plain enough to tell.

Only function words count (articles, pronouns, question words): content words
travel between the languages ("ok", "email", "tracking"). A message gives its
language when it holds at least two words of one and none of the other;
otherwise the conversation keeps the language it has.
"""

from __future__ import annotations

from supportbot.normalise import normalise

_ENGLISH_WORDS = (
    "the is are am my where what how when why which can could i you your do does did "
    "to of for with it have has not please and was will would this that get need want "
    "hi hello hey thanks thank there any me"
)
_FRENCH_WORDS = (
    "le la les est mon ma mes ou quoi comment quand pourquoi quel quelle je j tu vous "
    "votre vos du des pour avec il elle pas ne et un une ce cette c qu que qui ai suis "
    "bonjour merci svp jai jveux veux sont au aux"
)
# Folded as messages are: normalise drops or expands some words ("merci", "c").
_ENGLISH = frozenset(normalise(_ENGLISH_WORDS).split())
_FRENCH = frozenset(normalise(_FRENCH_WORDS).split())


def guess_language(message: str) -> str | None:
    """ "en" or "fr" when the message says so clearly, else None."""
    words = normalise(message).split()
    english = sum(word in _ENGLISH for word in words)
    french = sum(word in _FRENCH for word in words)
    if english >= 2 and french == 0:
        return "en"
    if french >= 2 and english == 0:
        return "fr"
    return None
