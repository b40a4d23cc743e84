"""Finds which labelled entry a free-text question belongs to, or abstains.

Each label (an FAQ entry, a flow) owns several example phrasings. A question
is scored against every label by pooling the evidence of all its phrasings:

* every text is normalised (see :mod:`supportbot.normalise`) and turned into
  weighted features: words, word pairs and character n-grams inside words
  (n-grams survive typos and missing accents);
* rare features weigh more than common ones: the IDF blends rarity among
  phrasings with rarity among labels, so a word shared by every phrasing of
  one entry still counts as that entry's signature;
* a label's evidence averages its two closest phrasings (one lucky overlap is
  not enough) with its centroid (many phrasings reinforce each other);
* query words unknown to the index are corrected against the vocabulary with
  rapidfuzz (edit-distance ratio), so "remboursment" still counts as
  "remboursement"; what stays unknown dilutes the score, which is what lets
  the matcher reject questions about topics it has never seen;
* the score is calibrated: a share of the best rival label's evidence is
  subtracted (a question that fits two entries equally is less certain than
  one that fits a single entry), and a near-verbatim phrasing (rapidfuzz token
  ratio) earns a small bonus. Scores run 0-100, higher is more confident, and
  one threshold decides between answering and abstaining. Two labels within
  ``ambiguity_margin`` of each other make the result ambiguous, so the caller
  can ask "did you mean ...".

The index is built once; a query reads only the postings of its own features.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise, repeat

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from supportbot.lemmas import Token, analyse

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

# Set for the shipped FAQ: on evals/public.yaml 9 right answers in 10 score
# above 25 and 3 unrelated questions in 4 below 15. Retune when content changes.
DEFAULT_THRESHOLD = 18.0
# The shipped FAQ's threshold (app.build_matcher), chosen on the tuning sets only:
# evals/public.yaml and the dev halves of evals/blind/questions-{fr,en}.yaml (best mean
# of in-scope accuracy and out-of-scope rejection over the three). Retune when content
# or weights change; never on the blind test halves.
FAQ_THRESHOLD = 14.0
DEFAULT_AMBIGUITY_MARGIN = 6.0
# Phrasings compared with rapidfuzz per re-ranked label: the closest by TF-IDF.
_FUZZY_PHRASINGS = 3
# Corrections remembered per index; bounded so a long-running bot cannot grow it forever.
_CORRECTION_CACHE = 8192


@dataclass(frozen=True, slots=True)
class Match:
    """One candidate label for a question, its calibrated 0-100 score and closest phrasing."""

    label: str
    score: float
    example: str = ""
    # The pooled-evidence part of the score (how much the phrasings overlap the question).
    evidence: float = 0.0


@dataclass(frozen=True, slots=True)
class Resolution:
    """What the matcher concluded about a question.

    ``best`` is None when nothing scored above the threshold. ``ambiguous``
    is true when the runner-up is too close to the best to pick one.
    ``candidates`` are all labels ranked by score (above a floor), best first.
    """

    best: Match | None
    candidates: tuple[Match, ...]
    ambiguous: bool = False
    out_of_scope: bool = False  # best matched what the content marks as not covered

    @property
    def alternatives(self) -> tuple[Match, ...]:
        return self.candidates[1:]


@dataclass(frozen=True, slots=True)
class MatcherParams:
    """Tunable weights, chosen on Banking77 and CLINC150 (benchmarks/run.py)."""

    threshold: float = DEFAULT_THRESHOLD
    ambiguity_margin: float = DEFAULT_AMBIGUITY_MARGIN
    ngram_min: int = 3
    ngram_max: int = 4
    char_weight: float = 1.0
    word_weight: float = 1.6
    bigram_weight: float = 1.0
    # Share of the IDF computed over labels instead of phrasings.
    label_idf: float = 0.5
    # Weight of the two closest phrasings against the centroid.
    nearest_weight: float = 0.5
    # Share of the best rival label's evidence subtracted from a label's.
    margin_weight: float = 0.3
    # Points per token-ratio point above ``fuzzy_floor`` (near-verbatim phrasings).
    fuzzy_bonus: float = 0.2
    fuzzy_floor: float = 70.0
    # Labels re-scored with rapidfuzz; the rest keep their TF-IDF score. Off: since the
    # linear model, the same figures on every tuning set for a fifth of a query's time.
    rerank: int = 0
    correction_cutoff: float = 80.0
    unknown_penalty: float = 1.0
    # Weight of a word's lemma ("l "), and of the idea it names in the synonym table ("s ").
    lemma_weight: float = 2.0
    synonym_weight: float = 3.0
    # Share of the final score given by the linear model (its probability, 0-100).
    linear_weight: float = 0.5
    # Inverse regularisation of the linear model (scikit-learn's C).
    linear_c: float = 20.0
    # Two labels whose pooled evidence is this close are ambiguous whatever the model says.
    evidence_margin: float = 3.0
    # Power of the known share of the question applied to the linear model's probability.
    coverage_power: float = 1.0


@lru_cache(maxsize=1 << 16)
def _token_grams(token: str, low: int, high: int) -> tuple[str, ...]:
    """Character n-grams ("c") of one word, padded so that its start and end count."""
    padded = f" {token} "
    return tuple(
        "c" + padded[i : i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1)
    )


def _features(tokens: list[Token], params: MatcherParams, synonyms: dict[str, str]) -> Counter[str]:
    """Words ("w "), lemmas ("l "), synonym ideas ("s "), lemma pairs ("b ") and in-word
    character n-grams ("c")."""
    feats = Counter("w " + surface for surface, _ in tokens)
    for surface, _ in tokens:
        feats.update(_token_grams(surface, params.ngram_min, params.ngram_max))
    lemmas = [lemma for _, lemma in tokens]
    if params.lemma_weight > 0:
        feats.update("l " + lemma for lemma in lemmas)
    if synonyms:
        feats.update(
            "s " + idea
            for surface, lemma in tokens
            if (idea := synonyms.get(lemma) or synonyms.get(surface)) is not None
        )
    feats.update("b " + a + " " + b for a, b in pairwise(lemmas))
    return feats


def _kind_weight(feature: str, params: MatcherParams) -> float:
    kind = feature[0]
    if kind == "w":
        return params.word_weight
    if kind == "b":
        return params.bigram_weight
    if kind == "l":
        return params.lemma_weight
    if kind == "s":
        return params.synonym_weight
    return params.char_weight


def _smoothed_idf(freq: Floats, total: int) -> Floats:
    return np.log((1 + total) / (1 + freq)) + 1.0


def _l2_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ matrix)


def _gather(postings: sp.csr_matrix, idx: Ints, vec: Floats) -> Floats:
    """``vec @ postings[idx]``: sums the weighted postings of the query's features.

    Plain numpy on the CSR arrays; scipy's row slicing costs more than the
    arithmetic at FAQ sizes.
    """
    starts = postings.indptr[idx]
    lengths = postings.indptr[idx + 1] - starts
    # Positions of every posting of every query feature, in one flat array.
    before = np.cumsum(lengths) - lengths
    offsets = np.arange(int(lengths.sum())) + np.repeat(starts - before, lengths)
    weights = postings.data[offsets] * np.repeat(vec, lengths)
    found = np.bincount(postings.indices[offsets], weights=weights, minlength=postings.shape[1])
    return np.asarray(found, dtype=np.float64)


def fit_softmax(
    rows: sp.csr_matrix, labels: Ints, n_labels: int, params: MatcherParams
) -> tuple[Floats, Floats]:
    """Multinomial logistic regression as scikit-learn fits it: the mean log-loss plus
    the squared weights over 2·C·rows (intercepts free), by L-BFGS stopped at a
    gradient of 1e-3 (early stopping is part of the regularisation).

    Written on scipy rather than imported from scikit-learn: its import costs a second
    at start-up and leaves ~50k objects that every garbage collection of the engine
    then walks. Returns the (features x labels) weights and the intercepts.
    """
    from scipy.optimize import minimize  # only when building
    from threadpoolctl import threadpool_limits

    n_rows, n_feats = rows.shape
    target = np.zeros((n_rows, n_labels))
    target[np.arange(n_rows), labels] = 1.0
    transposed = rows.T.tocsr()
    penalty = 1.0 / (params.linear_c * n_rows)

    def objective(theta: Floats) -> tuple[float, Floats]:
        weights = theta[: n_feats * n_labels].reshape(n_feats, n_labels)
        bias = theta[n_feats * n_labels :]
        logits = np.asarray(rows @ weights) + bias
        logits -= logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(logits).sum(axis=1, keepdims=True))
        log_prob = logits - log_norm
        loss = -float((log_prob * target).sum()) / n_rows
        loss += 0.5 * penalty * float((weights * weights).sum())
        error = (np.exp(log_prob) - target) / n_rows
        grad_w = np.asarray(transposed @ error) + penalty * weights
        return loss, np.concatenate([grad_w.ravel(), error.sum(axis=0)])

    start = np.zeros(n_feats * n_labels + n_labels)
    # L-BFGS-B's vector steps go through BLAS: on these sizes more threads only contend
    # (3-4x slower on 2 busy CPUs).
    with threadpool_limits(limits=1):
        found = minimize(
            objective,
            start,
            method="L-BFGS-B",
            jac=True,
            options={"maxiter": 300, "gtol": 1e-3, "ftol": 64 * np.finfo(float).eps, "maxls": 50},
        )
    theta = np.asarray(found.x, dtype=np.float64)
    return theta[: n_feats * n_labels].reshape(n_feats, n_labels), theta[n_feats * n_labels :]


class _Vocabulary:
    """Known words, bucketed by length so a typo is only compared with plausible words."""

    def __init__(self, words: Iterable[str], cutoff: float) -> None:
        self.known = frozenset(words)
        self.cutoff = cutoff / 100
        self.by_length: dict[int, list[str]] = {}
        for word in sorted(self.known):
            self.by_length.setdefault(len(word), []).append(word)
        self.cache: dict[str, str] = {}

    def correct(self, token: str) -> str:
        """The closest known word if close enough, else ``token`` itself."""
        if token in self.known or len(token) < 4 or token.isdigit():
            return token
        cached = self.cache.get(token)
        if cached is not None:
            return cached
        # normalized_similarity >= c needs the lengths within a factor c of each other.
        low = math.ceil(len(token) * self.cutoff)
        high = math.floor(len(token) / self.cutoff)
        choices = [w for n in range(low, high + 1) for w in self.by_length.get(n, ())]
        found = process.extractOne(
            token, choices, scorer=Levenshtein.normalized_similarity, score_cutoff=self.cutoff
        )
        fixed = found[0] if found else token
        if len(self.cache) < _CORRECTION_CACHE:
            self.cache[token] = fixed
        return fixed


@dataclass
class Matcher:
    """A labelled index of phrasings; see the module docstring."""

    labels: list[str]
    examples: list[str]
    example_labels: Ints
    params: MatcherParams = field(default_factory=MatcherParams)
    _vocab: dict[str, int] = field(default_factory=dict, repr=False)
    _col_weights: Floats = field(default_factory=lambda: np.zeros(0), repr=False)
    _max_idf: float = field(default=1.0, repr=False)
    _postings: sp.csr_matrix | None = field(default=None, repr=False)
    _centroid_postings: sp.csr_matrix | None = field(default=None, repr=False)
    _words: _Vocabulary = field(default_factory=lambda: _Vocabulary((), 100.0), repr=False)
    _starts: Ints = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    _sizes: Ints = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    _norm_examples: list[str] = field(default_factory=list, repr=False)
    synonyms: dict[str, str] = field(default_factory=dict, repr=False)
    _lemma_of: dict[str, str] = field(default_factory=dict, repr=False)
    _coef: npt.NDArray[np.float32] | None = field(default=None, repr=False)
    _intercept: Floats = field(default_factory=lambda: np.zeros(0), repr=False)

    @classmethod
    def from_pairs(
        cls,
        pairs: Iterable[tuple[str, str]],
        params: MatcherParams | None = None,
        synonyms: dict[str, str] | None = None,
    ) -> Matcher:
        """Build the index from ``(label, text)`` pairs (any order).

        ``synonyms`` maps a folded word or lemma to the idea it names (see
        :mod:`supportbot.synonyms`): words of one idea then count as one feature.
        """
        grouped: dict[str, list[str]] = {}
        for label, text in pairs:
            grouped.setdefault(label, []).append(text)
        if not grouped:
            raise ValueError("a matcher needs at least one (label, text) pair")
        labels = sorted(grouped)
        examples = [text for label in labels for text in grouped[label]]
        owners = [i for i, label in enumerate(labels) for _ in grouped[label]]
        matcher = cls(
            labels, examples, np.asarray(owners, dtype=np.int64), params or MatcherParams()
        )
        matcher.synonyms = dict(synonyms or {})
        matcher._build()
        return matcher

    def _build(self) -> None:
        """TF-IDF rows per phrasing, label centroids, and the vocabulary for corrections."""
        p = self.params
        analysed = [analyse(t) for t in self.examples]
        self._norm_examples = [" ".join(surface for surface, _ in toks) for toks in analysed]
        # An accent-less form ("recu") gets the lemma its accented twin ("reçu") got.
        self._lemma_of = {}
        for toks in analysed:
            for surface, lemma in toks:
                if lemma != surface:
                    self._lemma_of.setdefault(surface, lemma)
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        counts: list[int] = []
        for row, toks in enumerate(analysed):
            feats = _features(self._lemmatised(toks), p, self.synonyms)
            rows.extend(repeat(row, len(feats)))
            cols.extend([vocab.setdefault(f, len(vocab)) for f in feats])
            counts.extend(feats.values())
        n_docs, n_labels = len(self.examples), len(self.labels)
        kinds = np.asarray([_kind_weight(f, p) for f in vocab], dtype=np.float64)
        weights = (1.0 + np.log(np.asarray(counts, dtype=np.float64))) * kinds[cols]
        tf = sp.csr_matrix((weights, (rows, cols)), shape=(n_docs, len(vocab)))
        present = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=tf.shape)
        owner = sp.csr_matrix(
            (np.ones(n_docs), (self.example_labels, np.arange(n_docs))), shape=(n_labels, n_docs)
        )
        doc_freq = np.asarray(present.sum(axis=0)).ravel()
        label_freq = np.asarray(((owner @ present) > 0).sum(axis=0)).ravel()
        idf = (1 - p.label_idf) * _smoothed_idf(doc_freq, n_docs) + p.label_idf * _smoothed_idf(
            label_freq, n_labels
        )
        matrix = _l2_rows(tf @ sp.diags(idf))
        # Feature-major layouts: a query slices the rows of its own features only.
        self._postings = matrix.T.tocsr()
        self._centroid_postings = _l2_rows(owner @ matrix).T.tocsr()
        self._vocab = vocab
        self._col_weights = idf * kinds
        self._max_idf = float(idf.max()) if idf.size else 1.0
        self._sizes = np.bincount(self.example_labels, minlength=n_labels).astype(np.int64)
        self._starts = np.concatenate(([0], np.cumsum(self._sizes)[:-1])).astype(np.int64)
        self._words = _Vocabulary((f[2:] for f in vocab if f[0] == "w"), p.correction_cutoff)
        self._train_linear(matrix)

    def _lemmatised(self, tokens: list[Token]) -> list[Token]:
        return [(s, self._lemma_of.get(s, s) if lem == s else lem) for s, lem in tokens]

    def _train_linear(self, matrix: sp.csr_matrix) -> None:
        """A multinomial logistic regression on the same TF-IDF rows: it learns which
        features tell the labels apart, where the pooled evidence only measures overlap."""
        self._coef = None
        if self.params.linear_weight <= 0 or len(self.labels) < 2:
            return
        coef, intercept = fit_softmax(matrix, self.example_labels, len(self.labels), self.params)
        self._coef = np.ascontiguousarray(coef, dtype=np.float32)
        self._intercept = intercept

    # -- querying -------------------------------------------------------------

    def _query_vector(self, tokens: list[Token]) -> tuple[Ints, Floats]:
        """Known features and their weights, normalised as if unknown ones were there too."""
        feats = _features(tokens, self.params, self.synonyms)
        cols = np.fromiter((self._vocab.get(f, -1) for f in feats), np.int64, len(feats))
        tf = 1.0 + np.log(np.fromiter(feats.values(), np.float64, len(feats)))
        known = cols >= 0
        idx = cols[known]
        vec = tf[known] * self._col_weights[idx]
        # Unseen features count as maximally rare: a question about something
        # the index never saw must not look like a match.
        unseen = [_kind_weight(f, self.params) for f, c in zip(feats, cols, strict=True) if c < 0]
        unknown = tf[~known] * np.asarray(unseen) * self._max_idf
        norm2 = float(vec @ vec) + self.params.unknown_penalty * float(unknown @ unknown)
        if norm2 > 0:
            vec = vec / math.sqrt(norm2)
        return idx, vec

    def _evidence(self, idx: Ints, vec: Floats) -> tuple[Floats, Floats]:
        """Cosine to each phrasing, and each label's pooled similarity."""
        assert self._postings is not None and self._centroid_postings is not None
        per_example = _gather(self._postings, idx, vec)
        centroid = _gather(self._centroid_postings, idx, vec)
        starts, sizes = self._starts, self._sizes
        best = np.maximum.reduceat(per_example, starts)
        at_best = per_example == np.repeat(best, sizes)
        ties = np.add.reduceat(at_best, starts)
        rest = np.maximum.reduceat(np.where(at_best, -np.inf, per_example), starts)
        second = np.where(ties > 1, best, rest)
        # A label with a single phrasing has no second one: its only one counts twice.
        second = np.where(sizes > 1, second, best)
        w = self.params.nearest_weight
        pooled: Floats = w * (best + second) / 2 + (1 - w) * centroid
        return per_example, pooled

    def _calibrate(self, pooled: Floats) -> Floats:
        """0-100 scores: each label's evidence minus a share of its best rival's."""
        if pooled.size < 2:
            return 100 * np.clip(pooled, 0.0, None)
        first, second = np.argpartition(-pooled, 1)[:2]
        if pooled[second] > pooled[first]:
            first, second = second, first
        rival = np.full_like(pooled, pooled[first])
        rival[first] = pooled[second]
        return 100 * np.clip(pooled - self.params.margin_weight * rival, 0.0, None)

    def _query_tokens(self, text: str) -> list[Token]:
        """The query's words, misspelt ones corrected against the index's vocabulary."""
        out: list[Token] = []
        for surface, lemma in analyse(text):
            fixed = self._words.correct(surface)
            if fixed != surface:
                out.append((fixed, self._lemma_of.get(fixed, fixed)))
            else:
                out.append(
                    (surface, self._lemma_of.get(surface, surface) if lemma == surface else lemma)
                )
        return out

    def _probabilities(self, idx: Ints, vec: Floats) -> Floats:
        """The linear model's probability for each label (softmax of its logits)."""
        assert self._coef is not None
        logits = vec @ self._coef[idx] + self._intercept
        logits = np.exp(logits - logits.max())
        return np.asarray(logits / logits.sum(), dtype=np.float64)

    def _top(self, scores: Floats, count: int) -> Ints:
        count = min(count, scores.size)
        top = np.argpartition(-scores, count - 1)[:count]
        return top[np.argsort(-scores[top], kind="stable")].astype(np.int64)

    def rank(self, text: str, limit: int = 5) -> list[Match]:
        """Labels ranked by calibrated score, best first (at most ``limit``)."""
        tokens = self._query_tokens(text)
        norm = " ".join(surface for surface, _ in tokens)
        idx, vec = self._query_vector(tokens)
        if idx.size == 0 or limit < 1:
            return []
        per_example, pooled = self._evidence(idx, vec)
        scores = evidence = self._calibrate(pooled)
        if self._coef is not None:
            # The linear model's probabilities sum to 1 whatever the question; scaled by
            # the share of the question's weight the index knows (``vec`` was normalised
            # with the unknown features in), a question about something never seen
            # does not inherit a label's confidence.
            w = self.params.linear_weight
            known = float(vec @ vec) ** (self.params.coverage_power / 2)
            scores = (1 - w) * scores + w * 100 * known * self._probabilities(idx, vec)
        p = self.params
        results: list[Match] = []
        for pos, li in enumerate(self._top(scores, max(limit, p.rerank))):
            score = float(scores[li])
            if score <= 0:
                break
            start = int(self._starts[li])
            size = int(self._sizes[li])
            near = start + self._top(per_example[start : start + size], _FUZZY_PHRASINGS)
            if pos < p.rerank:
                # The bonus only rewards near-verbatim phrasings; below the floor
                # token ratios reward shared filler words as much as topics.
                fuzzy = max(fuzz.token_sort_ratio(norm, self._norm_examples[j]) for j in near)
                score = min(100.0, score + p.fuzzy_bonus * max(0.0, fuzzy - p.fuzzy_floor))
            results.append(
                Match(
                    self.labels[li],
                    round(score, 1),
                    self.examples[near[0]],
                    round(float(evidence[li]), 1),
                )
            )
        results.sort(key=lambda m: -m.score)
        return results[:limit]

    def resolve(self, text: str, limit: int = 3) -> Resolution:
        """Rank, then decide: one answer, an ambiguity, or nothing."""
        ranked = self.rank(text, limit=max(limit, 2))
        threshold = self.params.threshold
        if not ranked or ranked[0].score < threshold:
            return Resolution(None, tuple(ranked[:limit]))
        # Ambiguous when the runner-up is close, or when the phrasings themselves do not
        # tell the two apart (the linear model can split near-twins on a filler word).
        margin = self.params.ambiguity_margin
        ambiguous = (
            len(ranked) > 1
            and ranked[1].score >= threshold
            and (
                ranked[0].score - ranked[1].score < margin
                or abs(ranked[0].evidence - ranked[1].evidence) < self.params.evidence_margin
            )
        )
        return Resolution(ranked[0], tuple(ranked[:limit]), ambiguous)

    def match(self, text: str) -> Match | None:
        """The best label if it clears the threshold, else None."""
        return self.resolve(text).best

    def with_params(self, params: MatcherParams) -> Matcher:
        """A matcher over the same phrasings with other weights."""
        owners = self.example_labels
        pairs = [(self.labels[i], t) for i, t in zip(owners, self.examples, strict=True)]
        return Matcher.from_pairs(pairs, params, self.synonyms)
