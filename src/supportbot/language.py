"""Which of the two languages a message is written in, when it is plain enough to tell.

Only function words count (articles, pronouns, question words): content words
travel between the languages ("ok", "email", "tracking"). A message gives its
language when it holds at least two words of one and none of the other (one
suffices in a short message); otherwise the conversation keeps the language it
has. A few topic words that exist in one language only count too ("refund",
"colis").
"""

from __future__ import annotations

from supportbot.normalise import plain_words

_ENGLISH_WORDS = (
    "the is are am my where what how when why which can could i you your do does did "
    "to of for with it have has not please and was will would this that get need want "
    "hi hello hey thanks thank there any "
    # words of the support's own topics that exist in one language only
    "never arrived received package parcel refund invoice broken damaged item delete "
    "wrong yet still sorry speak english"
)
_FRENCH_WORDS = (
    "le la les est mon ma mes ou quoi comment quand pourquoi quel quelle je j tu vous "
    "votre vos du des pour avec il elle pas ne et un une ce cette c qu que qui ai suis "
    "bonjour merci svp jai jveux veux sont au aux "
    "colis commande recu jamais facture remboursement rembourse casse livraison toujours "
    "francais"
)


# plain_words, not the matcher's folding: that drops "thanks" and "please", which tell
# the language.
_words = plain_words


_GREETINGS = frozenset({"hi", "hello", "hey", "bonjour", "salut"})
_ENGLISH = frozenset(_words(_ENGLISH_WORDS))
_FRENCH = frozenset(_words(_FRENCH_WORDS))


def guess_language(message: str, short: bool = True) -> str | None:
    """ "en" or "fr" when the message says so clearly, else None: two words of one
    language and none of the other, or one in a message of at most three words
    ("hello", "refund status?") unless ``short`` is False (an answer in a flow: "the X
    helmet" is a product, not a language)."""
    words = _words(message)
    english = sum(word in _ENGLISH for word in words)
    french = sum(word in _FRENCH for word in words)
    # "hello" alone is said in French chats too: a greeting never tells it by itself
    enough = 1 if short and len(words) <= 3 and not set(words) & _GREETINGS else 2
    if english >= enough and french == 0:
        return "en"
    if french >= enough and english == 0:
        return "fr"
    return None
