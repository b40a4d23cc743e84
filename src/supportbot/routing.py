"""Decides what a customer's message asks for: an FAQ answer, a flow, or nothing.

The generic matcher ranks labels; this layer adds what only the content knows:
phrasings marked out of scope (a match there is an honest "I cannot answer"),
and, when an FAQ entry and a flow are close, the customer's intent (a question
"comment ouvrir un litige ?" wants the answer, "je veux ouvrir un litige" wants
the flow).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from supportbot.lexicon import Act, Lexicon, intent_in, phrases_in, shipped_lexicon
from supportbot.matching import Match, Matcher, Resolution
from supportbot.normalise import normalise

OUT_OF_SCOPE = "none:out-of-scope"
# The catalog's request for whatever is not about an order (its FAQ: non-order-request).
OTHER_REQUEST = "flow:other-request"
# A message is read sentence by sentence when the whole decides nothing; a sentence of
# fewer words than this carries no request of its own ("Hi there.").
MIN_CLAUSE_WORDS = 4
_CLAUSES = re.compile(r"(?<=[.!?;:])\s+|\s*\n+\s*|,?\s+(?:but|mais|however|cependant)\s+", re.I)
# Beyond this many words a sentence is also read piece by piece, between its commas.
MAX_SENTENCE_WORDS = 12
_PIECES = re.compile(r"\s*,\s*")
# Within this many points, an FAQ entry and a flow are decided by intent.
INTENT_MARGIN = 12.0


def reports_trouble(text: str, lexicon: Lexicon | None = None) -> bool:
    """The customer says something does not work for them (lexicon act ``trouble``)."""
    lexicon = lexicon or shipped_lexicon()
    tokens = normalise(text, keep_politeness=True).split()
    return any(act is Act.TROUBLE for _, act, _ in phrases_in(tokens, lexicon.acts_index))


def intent_of(text: str, lexicon: Lexicon | None = None) -> str | None:
    """'act' for a first-person request, 'ask' for a question, None when unclear (the
    words are the lexicon's: acts ``question`` and ``want``)."""
    lexicon = lexicon or shipped_lexicon()
    return intent_in(normalise(text, keep_politeness=True).split(), text, lexicon)


@dataclass
class Router:
    matcher: Matcher
    # FAQ label -> label of the flow its answer offers (FaqEntry.flow): the entry explains
    # the procedure the flow runs, so a question about it wants the entry, a request the flow.
    links: dict[str, str] = field(default_factory=dict)
    # FAQ labels whose answer gives what is wanted ("je veux ma facture": FaqEntry.gives)
    gives: frozenset[str] = frozenset()

    def resolve(self, text: str, limit: int = 3) -> Resolution:
        whole = self._resolve(text, limit)
        if whole.out_of_scope:
            request = self._request_in(text, limit)
            return request if request is not None else self._trouble(text, whole)
        if whole.best is not None and not whole.ambiguous:
            wanted = self._wanted(text, limit)
            return wanted if wanted is not None else whole
        clause = self._by_clause(text, limit)
        if clause is not None:
            return clause
        return self._trouble(text, whole) if whole.best is None else whole

    def _trouble(self, text: str, found: Resolution) -> Resolution:
        """Something that does not work for the customer, on a topic no answer covers (a
        refused promo code, an error at checkout, a profile that will not save): not a
        question to turn down but a problem for Support, the catalog's request for
        anything not about an order."""
        if OTHER_REQUEST not in self.matcher.labels or not reports_trouble(text):
            return found
        score = next((m.score for m in found.candidates if m.label == OTHER_REQUEST), 0.0)
        chosen = Match(OTHER_REQUEST, max(score, self.matcher.params.threshold))
        others = tuple(m for m in found.candidates if m.label != OTHER_REQUEST)
        return Resolution(chosen, (chosen, *others)[: len(found.candidates) or 1])

    def _request_in(self, text: str, limit: int) -> Resolution | None:
        """A message that mentions something the support does not cover ("... addresses,
        phone number, everything") while one of its parts asks, in the first person, for
        something it does ("I'd like you to delete my account"): that request. Parts are
        sentences and, in a long sentence, the pieces between commas."""
        parts = _parts(text)
        if len(parts) < 2:
            return None
        read = [(p, intent_of(p), self._resolve(p, limit)) for p in parts]
        wanted = [
            r
            for p, intent, r in read
            if intent == "act" and len(p.split()) >= MIN_CLAUSE_WORDS
            if r.best is not None and not r.ambiguous
        ]
        if len({r.best.label for r in wanted if r.best is not None}) != 1:
            return None  # none, or two different requests: the whole message decides
        uncovered = [intent for _, intent, r in read if r.out_of_scope]
        if not uncovered or "ask" in uncovered:
            # the request itself is what is not covered, or they also ask about what is not
            return None
        return wanted[0]

    def _wanted(self, text: str, limit: int) -> Resolution | None:
        """The one request a story states in the first person ("..., i want a refund or
        a replacement please"), when it names another request than the whole story."""
        parts = [c for c in _parts(text) if len(c.split()) >= MIN_CLAUSE_WORDS]
        if len(parts) < 2:
            return None
        wanted = [
            r
            for c in parts
            if intent_of(c) == "act"
            for r in [self._resolve(c, limit)]
            if r.best is not None and not r.ambiguous and r.best.label.startswith("flow:")
        ]
        if len({r.best.label for r in wanted if r.best is not None}) != 1:
            return None
        return max(wanted, key=lambda r: r.best.score if r.best else 0.0)

    def _by_clause(self, text: str, limit: int) -> Resolution | None:
        """A long message tells its story in several sentences, one of which says what
        the customer wants ("... it keeps flickering. I'd like to return it."): when the
        whole message decides nothing, its clearest sentence does."""
        clauses = [c for c in _parts(text) if len(c.split()) >= MIN_CLAUSE_WORDS]
        if len(clauses) < 2:
            return None
        found = [self._resolve(c, limit) for c in clauses]
        clear = [r for r in found if r.best is not None and not r.ambiguous]
        if not clear:
            return None
        # the sentence that says what they want ("I need help with a disagreement with a
        # seller") over those that tell what happened ("I first wrote to the seller...")
        wanted = [
            r for c, r in zip(clauses, found, strict=True) if r in clear and intent_of(c) == "act"
        ]
        if len({r.best.label for r in wanted if r.best is not None}) == 1:
            return max(wanted, key=lambda r: r.best.score if r.best else 0.0)
        best = max(clear, key=lambda r: r.best.score if r.best else 0.0)
        labels = {r.best.label for r in clear if r.best is not None}
        if len(labels) > 1 and best.best is not None:
            # two sentences ask for two things: the request (a flow) when there is one,
            # it is what a customer telling a story wants done
            flows = [r for r in clear if r.best is not None and r.best.label.startswith("flow:")]
            if len({r.best.label for r in flows if r.best}) == 1:
                best = flows[0]
        return best

    def _resolve(self, text: str, limit: int) -> Resolution:
        result = self.matcher.resolve(text, limit=max(limit, 3))
        candidates = tuple(m for m in result.candidates if m.label != OUT_OF_SCOPE)
        best = result.best
        if best is None or best.label == OUT_OF_SCOPE:
            return Resolution(None, candidates[:limit], out_of_scope=best is not None)
        chosen = self._by_intent(text, best, candidates[:3])
        if chosen is not None:
            others = tuple(m for m in candidates if m is not chosen)
            return Resolution(chosen, (chosen, *others)[:limit], ambiguous=False)
        return Resolution(best, candidates[:limit], result.ambiguous)

    def _by_intent(self, text: str, best: Match, top: tuple[Match, ...]) -> Match | None:
        """Between the best FAQ entry and the best flow, follow the intent when they are
        close in score, or when the entry is the one that explains that flow."""
        faq = next((m for m in top if m.label.startswith("faq:")), None)
        flow = next((m for m in top if m.label.startswith("flow:")), None)
        if faq is None or flow is None or best not in (faq, flow):
            return None
        linked = self.links.get(faq.label) == flow.label
        if not linked and abs(faq.score - flow.score) >= INTENT_MARGIN:
            return None
        threshold = self.matcher.params.threshold
        intent = intent_of(text)
        if intent == "act" and faq.label in self.gives and not linked:
            # "je veux ma facture": what is wanted is what the answer gives
            return faq if faq.score >= threshold else None
        if intent == "act" and flow.score >= threshold:
            return flow
        if intent == "ask" and faq.score >= threshold:
            return faq
        return None

    def match(self, text: str) -> Match | None:
        return self.resolve(text).best


def _parts(text: str) -> list[str]:
    """The sentences of a message; a long sentence, the pieces between its commas."""
    return [
        p.strip()
        for c in _CLAUSES.split(text)
        for p in (_PIECES.split(c) if len(c.split()) > MAX_SENTENCE_WORDS else [c])
        if p.strip()
    ]
