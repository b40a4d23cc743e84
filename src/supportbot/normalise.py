"""Turns a chat message into the canonical form the matcher compares.

French customers type without accents, glue elisions ("jai"), abbreviate
("cmd", "svp", "pk") and punctuate freely; all of that is folded here so the
matcher sees one spelling per word.
"""

from __future__ import annotations

import re
import unicodedata

# Chat abbreviations and glued elisions, mapped to what they stand for.
# An empty expansion removes the token (pure politeness carries no topic).
ABBREVIATIONS: dict[str, str] = {
    "jai": "j ai",
    "jsuis": "je suis",
    "chui": "je suis",
    "jsp": "je sais pas",
    "jveux": "je veux",
    "jpeux": "je peux",
    "jarrive": "j arrive",
    "g": "j ai",
    "cmd": "commande",
    "cmde": "commande",
    "cde": "commande",
    "svp": "",
    "stp": "",
    "slt": "",
    "bjr": "",
    "bsr": "",
    "cc": "",
    "merci": "",
    "mrc": "",
    "pls": "",
    "plz": "",
    "please": "",
    "thx": "",
    "thanks": "",
    "dsl": "",
    "cmt": "comment",
    "kesk": "qu est ce que",
    "keske": "qu est ce que",
    "pb": "probleme",
    "pbm": "probleme",
    "dmd": "demande",
    "num": "numero",
    "tel": "telephone",
    "cb": "carte bancaire",
    "auj": "aujourd hui",
    "ajd": "aujourd hui",
    "mtn": "maintenant",
    "tps": "temps",
    "vrmt": "vraiment",
    "tjr": "toujours",
    "qqun": "quelqu un",
    "pk": "pourquoi",
    "pq": "pourquoi",
    "pkoi": "pourquoi",
    "pcq": "parce que",
    "rdv": "rendez vous",
    "koi": "quoi",
    "kwa": "quoi",
    "ke": "que",
    "ki": "qui",
    "kan": "quand",
    "qd": "quand",
    "tjs": "toujours",
    "tjrs": "toujours",
    "bcp": "beaucoup",
    "msg": "message",
    "msgs": "messages",
    "mdp": "mot de passe",
    "dc": "donc",
    "ds": "dans",
    "pr": "pour",
    "tt": "tout",
    "ts": "tous",
    "mm": "meme",
    "qqn": "quelqu un",
    "qq": "quelque",
    "qqch": "quelque chose",
    "ya": "il y a",
    "yen": "il y en",
    "c": "c est",
    "cest": "c est",
    "jme": "je me",
    "ptit": "petit",
    "vs": "vous",
    "nn": "non",
    "ok": "oui",
    "u": "you",
    "ur": "your",
    "r": "are",
    "im": "i am",
    "dont": "do not",
    "didnt": "did not",
    "doesnt": "does not",
    "cant": "can not",
    "wont": "will not",
    "pwd": "password",
    "acct": "account",
    "asap": "",
    "infos": "informations",
    "info": "information",
    "rgpd": "rgpd donnees personnelles",
    "gdpr": "gdpr personal data",
    "2fa": "double authentification",
    "sav": "service client",
    "colisssimo": "colissimo",
}

# Elided articles and pronouns ("l'", "j'", "qu'") become whole words so that
# "l'article" and "article" share their topic word.
_ELISION = re.compile(r"\b(l|d|j|m|t|s|n|c|qu|jusqu|lorsqu|puisqu)['’`´]", re.IGNORECASE)
_NON_WORD = re.compile(r"[^a-z0-9@.]+")
_DOTS = re.compile(r"(?<![a-z0-9])\.|\.(?![a-z0-9])")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"),
    None,
)


def strip_accents(text: str) -> str:
    """Return ``text`` without combining accents ("é" -> "e", "ç" -> "c")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise(text: str, *, keep_politeness: bool = False) -> str:
    """Folded text for matching; ``keep_politeness`` keeps "merci", "svp"... (which carry
    no topic, but are what a thank-you is made of)."""
    """Fold case, accents, elisions, punctuation and chat abbreviations."""
    text = text.translate(_INVISIBLE).lower()
    text = strip_accents(text.replace("œ", "oe").replace("æ", "ae"))
    text = _ELISION.sub(r"\1 ", text)
    text = text.replace("'", " ").replace("’", " ")
    text = _NON_WORD.sub(" ", text)
    text = _DOTS.sub(" ", text)
    text = _REPEATS.sub(r"\1\1", text)
    words: list[str] = []
    for token in text.split():
        expansion = ABBREVIATIONS.get(token)
        if expansion is None or (keep_politeness and not expansion):
            words.append(token)
        elif expansion:
            words.extend(expansion.split())
    return " ".join(words)


def plain_words(text: str) -> list[str]:
    """Lower-case words without accents, nothing dropped ("j'ai" -> j, ai): for the
    rules that read a message word by word (language, small talk)."""
    return re.findall(r"[a-z0-9]+", strip_accents(text.lower()))
