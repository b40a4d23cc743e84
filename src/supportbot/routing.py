"""Decides what a customer's message asks for: an FAQ answer, a flow, or nothing.

The generic matcher ranks labels; this layer adds what only the content knows:
phrasings marked out of scope (a match there is an honest "I cannot answer"),
and, when an FAQ entry and a flow are close, the customer's intent (a question
"comment ouvrir un litige ?" wants the answer, "je veux ouvrir un litige" wants
the flow).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from supportbot.lexicon import Lexicon, intent_in, shipped_lexicon
from supportbot.matching import Match, Matcher, Resolution
from supportbot.normalise import normalise

OUT_OF_SCOPE = "none:out-of-scope"
# Within this many points, an FAQ entry and a flow are decided by intent.
INTENT_MARGIN = 12.0


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

    def resolve(self, text: str, limit: int = 3) -> Resolution:
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
        if intent == "act" and flow.score >= threshold:
            return flow
        if intent == "ask" and faq.score >= threshold:
            return faq
        return None

    def match(self, text: str) -> Match | None:
        return self.resolve(text).best
