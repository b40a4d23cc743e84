"""Which of the two languages a message is written in, when it is plain enough to tell.

Only function words count (articles, pronouns, question words; the lexicon's
``language_words``): content words travel between the languages ("ok", "email",
"tracking"). A message gives its language when it holds at least two words of one and
none of the other (one suffices in a short message); otherwise the conversation keeps
the language it has. A few topic words that exist in one language only count too
("refund", "colis").
"""

from __future__ import annotations

from supportbot.lexicon import Act, Lexicon, shipped_lexicon
from supportbot.normalise import plain_words

# plain_words, not the matcher's folding: that drops "thanks" and "please", which tell
# the language.


def guess_language(message: str, short: bool = True, lexicon: Lexicon | None = None) -> str | None:
    """ "en" or "fr" when the message says so clearly, else None: two words of one
    language and none of the other, or one in a message of at most three words
    ("hello", "refund status?") unless ``short`` is False (an answer in a flow: "the X
    helmet" is a product, not a language). The words are the lexicon's."""
    lexicon = lexicon or shipped_lexicon()
    spoken = lexicon.language_words
    greetings = {p[0] for p in lexicon.acts[Act.GREETING] if len(p) == 1}
    english_words, french_words = spoken.get("en", frozenset()), spoken.get("fr", frozenset())
    words = plain_words(message)
    english = sum(word in english_words for word in words)
    french = sum(word in french_words for word in words)
    # "hello" alone is said in French chats too: a greeting never tells it by itself
    enough = 1 if short and len(words) <= 3 and not set(words) & greetings else 2
    if english >= enough and french == 0:
        return "en"
    if french >= enough and english == 0:
        return "fr"
    return None
