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

from supportbot.content import Choice
from supportbot.fields import choice_named_in
from supportbot.flows import order_named_in
from supportbot.lexicon import Act, Lexicon, intent_in, phrases_in, shipped_lexicon
from supportbot.matching import Match, Matcher, Resolution
from supportbot.normalise import normalise

OUT_OF_SCOPE = "none:out-of-scope"
# The catalog's request for whatever is not about an order (its FAQ: non-order-request).
OTHER_REQUEST = "flow:other-request"
HUMAN_REQUEST = "flow:human-agent"
ORDER_REQUEST = "flow:order-problem"
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


@dataclass(frozen=True)
class Cases:
    """What makes a message the facts of a case rather than a question: the number of an
    order, or a kind of problem that a request asks about ("l'objet est fendu")."""

    # flow label -> the choices of each of its choice questions
    kinds: dict[str, tuple[tuple[Choice, ...], ...]] = field(default_factory=dict)
    order_pattern: str = r"\d{6,12}"

    def names_a_kind(self, label: str, text: str) -> bool:
        """The message names one of the request's kinds of problem, other than "other"."""
        return any(
            choice_named_in(text, choices, near=False) not in (None, "other")
            for choices in self.kinds.get(label, ())
        )

    def more_specific(self, label: str, text: str) -> str:
        """The catch-all request, when the message names the kind of problem another
        request asks about ("déposer une réclamation, l'objet est fendu": damaged, an
        order problem): that request."""
        if label != OTHER_REQUEST:
            return label
        if ORDER_REQUEST in self.kinds and order_named_in(text, self.order_pattern) is not None:
            return ORDER_REQUEST  # the catch-all is for what is not about an order
        named = {
            flow
            for flow in self.kinds
            if flow not in (OTHER_REQUEST, HUMAN_REQUEST) and self.names_a_kind(flow, text)
        }
        if len(named) > 1 and ORDER_REQUEST in named:
            return ORDER_REQUEST  # the general request about an order, whose kinds it names
        return named.pop() if len(named) == 1 else label


@dataclass
class Router:
    matcher: Matcher
    # FAQ label -> label of the flow its answer offers (FaqEntry.flow): the entry explains
    # the procedure the flow runs, so a question about it wants the entry, a request the flow.
    links: dict[str, str] = field(default_factory=dict)
    # FAQ labels whose answer gives what is wanted ("je veux ma facture": FaqEntry.gives)
    gives: frozenset[str] = frozenset()
    # The requests' kinds of problem and the order numbers' shape: a case is handled.
    cases: Cases | None = None
    lexicon: Lexicon | None = None

    def resolve(self, text: str, limit: int = 3) -> Resolution:
        return self._as_case(text, self._decide(text, limit))

    def _as_case(self, text: str, found: Resolution) -> Resolution:
        """The facts of a case get the request that handles them, not an answer nor a
        "did you mean": "commande 402718836 du 16/11 toujours pas reçue" starts the order
        problem though it reads like the delivery-delay question."""
        if self.cases is None or found.best is None:
            return found
        if found.best.label.startswith("flow:") and not found.ambiguous:
            label = self.cases.more_specific(found.best.label, text)
            if label == found.best.label:
                return found
            return self._chosen(label, found, self._case_floor(found))
        top = found.candidates[:2] if found.ambiguous else found.candidates[:1]
        faq = next((m for m in top if m.label.startswith("faq:")), None)
        flow = self._case_to_handle(text, faq, found.candidates)
        if flow is None:
            return found
        # the catch-all a close answer offers, for an order's number: the order's request
        flow = self.cases.more_specific(flow, text)
        return self._chosen(flow, found, self._case_floor(found))

    def _case_floor(self, found: Resolution) -> float:
        """A case's request is as sure as what was found, up to the threshold."""
        best = found.best.score if found.best is not None else 0.0
        return min(best, self.matcher.params.threshold)

    @staticmethod
    def _chosen(label: str, found: Resolution, floor: float) -> Resolution:
        """``label`` as the one answer, scored at least ``floor``, the rest after it."""
        score = next((m.score for m in found.candidates if m.label == label), 0.0)
        chosen = Match(label, max(score, floor))
        others = tuple(m for m in found.candidates if m.label != label)
        return Resolution(chosen, (chosen, *others)[: max(len(found.candidates), 1)])

    def _case_to_handle(
        self, text: str, faq: Match | None, candidates: tuple[Match, ...]
    ) -> str | None:
        """The request a message that is not a question asks for, when it gives an order's
        number or names a kind of problem: the one the answer offers, or the best request
        among the close candidates."""
        cases = self.cases
        if cases is None:
            return None
        intent = intent_of(text, self.lexicon)
        # the facts of a case may come with a question ("order 28831907 still says
        # confirmation. Nothing has shipped. Is anyone working on it?"): the sentence that
        # gives the order's number is what counts, not the question after it
        numbered = any(
            order_named_in(part, cases.order_pattern) is not None
            and intent_of(part, self.lexicon) != "ask"
            for part in _CLAUSES.split(text)
            if part.strip()
        )
        if intent == "ask" and not numbered:
            return None
        # without a number, a kind of problem makes a case only in a request ("je voudrais
        # déposer une réclamation, l'objet est fendu"), not in a topic ("retard de livraison")
        complains = intent == "act"

        def is_case(label: str) -> bool:
            return label in cases.kinds and (
                numbered or (complains and cases.names_a_kind(label, text))
            )

        offered = self.links.get(faq.label) if faq is not None else None
        if offered is not None and is_case(offered):
            return offered
        if intent == "ask":
            return None  # a question beside the facts: only the request its answer offers
        floor = self.matcher.params.threshold / 2
        for match in candidates:  # the best request, or the one a close answer offers
            if match.score < floor:
                break
            if match.label.startswith("flow:") and match.label != HUMAN_REQUEST:
                if is_case(match.label):
                    return match.label
            elif (linked := self.links.get(match.label)) is not None and is_case(linked):
                return linked
        return None

    def _decide(self, text: str, limit: int) -> Resolution:
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
        if OTHER_REQUEST not in self.matcher.labels or not reports_trouble(text, self.lexicon):
            return found
        return self._chosen(OTHER_REQUEST, found, self.matcher.params.threshold)

    def _request_in(self, text: str, limit: int) -> Resolution | None:
        """A message that mentions something the support does not cover ("... addresses,
        phone number, everything") while one of its parts asks, in the first person, for
        something it does ("I'd like you to delete my account"): that request. Parts are
        sentences and, in a long sentence, the pieces between commas."""
        parts = _parts(text)
        if len(parts) < 2:
            return None
        read = [(p, intent_of(p, self.lexicon), self._resolve(p, limit)) for p in parts]
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
        stated = [
            (c, self._resolve(c, limit)) for c in parts if intent_of(c, self.lexicon) == "act"
        ]
        return self._one_stated(stated, flows_only=True)

    @staticmethod
    def _one_stated(
        stated: list[tuple[str, Resolution]], *, flows_only: bool = False
    ) -> Resolution | None:
        """Among sentences that state a request, the clearest, when they all name one."""
        clear = [
            r
            for _, r in stated
            if r.best is not None and not r.ambiguous
            if not flows_only or r.best.label.startswith("flow:")
        ]
        if len({r.best.label for r in clear if r.best is not None}) != 1:
            return None
        return max(clear, key=lambda r: r.best.score if r.best else 0.0)

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
        stated = [
            (c, r)
            for c, r in zip(clauses, found, strict=True)
            if intent_of(c, self.lexicon) == "act"
        ]
        wanted = self._one_stated(stated)
        if wanted is not None:
            return wanted
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
        intent = intent_of(text, self.lexicon)
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
