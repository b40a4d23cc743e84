"""Finds which labelled entry a free-text question belongs to, or abstains.

Each label (an FAQ entry, a flow) owns several example phrasings. A question
is scored against every label by pooling the evidence of all its phrasings:

* every text is normalised (see :mod:`supportbot.normalise`) and turned into
  weighted features: words, word pairs and character n-grams inside words
  (n-grams survive typos and missing accents);
* rare features weigh more than common ones (smoothed IDF, sublinear TF);
* a label's score blends its closest phrasing with its centroid, so one short
  phrasing cannot capture everything and many phrasings reinforce each other;
* query words unknown to the index are corrected against the vocabulary with
  rapidfuzz (edit-distance ratio), so "remboursment" still counts as
  "remboursement"; what stays unknown dilutes the score, which is what lets
  the matcher reject questions about topics it has never seen;
* the final 0-100 score blends that similarity with rapidfuzz's token ratio
  against the best phrasing, and one threshold decides between answering and
  abstaining. Two labels within ``ambiguity_margin`` of each other make the
  result ambiguous, so the caller can ask "did you mean ...".

The index is built once; a query costs one sparse product.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from supportbot.normalise import normalise

DEFAULT_THRESHOLD = 42.0
DEFAULT_AMBIGUITY_MARGIN = 4.0


@dataclass(frozen=True, slots=True)
class Match:
    """One candidate label for a question, with its calibrated 0-100 score."""

    label: str
    score: float
    example: str = ""


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

    @property
    def alternatives(self) -> tuple[Match, ...]:
        return self.candidates[1:]


@dataclass(frozen=True, slots=True)
class MatcherParams:
    """Tunable weights; defaults were chosen on the public evaluation set."""

    threshold: float = DEFAULT_THRESHOLD
    ambiguity_margin: float = DEFAULT_AMBIGUITY_MARGIN
    ngram_min: int = 3
    ngram_max: int = 5
    char_weight: float = 1.0
    word_weight: float = 1.6
    bigram_weight: float = 1.0
    nearest_weight: float = 0.5
    fuzzy_weight: float = 0.15
    correction_cutoff: float = 80.0
    unknown_penalty: float = 1.0


def _ngrams(token: str, low: int, high: int) -> Iterable[str]:
    padded = f" {token} "
    for n in range(low, high + 1):
        if len(padded) < n:
            break
        for i in range(len(padded) - n + 1):
            yield padded[i : i + n]


@dataclass
class _Features:
    """Feature extraction shared by the index and the queries."""

    params: MatcherParams

    def extract(self, norm: str) -> Counter[str]:
        tokens = norm.split()
        feats: Counter[str] = Counter()
        p = self.params
        for tok in tokens:
            feats["w " + tok] += 1
            for gram in _ngrams(tok, p.ngram_min, p.ngram_max):
                feats["c" + gram] += 1
        for a, b in itertools.pairwise(tokens):
            feats["b " + a + " " + b] += 1
        return feats

    def kind_weight(self, feature: str) -> float:
        p = self.params
        if feature[0] == "w":
            return p.word_weight
        if feature[0] == "b":
            return p.bigram_weight
        return p.char_weight


@dataclass
class Matcher:
    """A labelled index of phrasings; see the module docstring."""

    labels: list[str]
    examples: list[str]
    example_labels: np.ndarray
    params: MatcherParams = field(default_factory=MatcherParams)
    _vocab: dict[str, int] = field(default_factory=dict, repr=False)
    _idf: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    _by_feature: sp.csr_matrix | None = field(default=None, repr=False)
    _centroids_by_feature: sp.csr_matrix | None = field(default=None, repr=False)
    _words: list[str] = field(default_factory=list, repr=False)
    _word_set: frozenset[str] = field(default_factory=frozenset, repr=False)
    _label_starts: np.ndarray = field(default_factory=lambda: np.zeros(0, int), repr=False)
    _norm_examples: list[str] = field(default_factory=list, repr=False)

    @classmethod
    def from_pairs(
        cls, pairs: Iterable[tuple[str, str]], params: MatcherParams | None = None
    ) -> Matcher:
        """Build the index from ``(label, text)`` pairs (any order)."""
        params = params or MatcherParams()
        grouped: dict[str, list[str]] = {}
        for label, text in pairs:
            grouped.setdefault(label, []).append(text)
        if not grouped:
            raise ValueError("a matcher needs at least one (label, text) pair")
        labels = sorted(grouped)
        examples: list[str] = []
        owners: list[int] = []
        for idx, label in enumerate(labels):
            for text in grouped[label]:
                examples.append(text)
                owners.append(idx)
        matcher = cls(labels, examples, np.asarray(owners, dtype=np.int64), params)
        matcher._build()
        return matcher

    def _build(self) -> None:
        extractor = _Features(self.params)
        self._norm_examples = [normalise(t) for t in self.examples]
        counted = [extractor.extract(n) for n in self._norm_examples]
        vocab: dict[str, int] = {}
        doc_freq: Counter[int] = Counter()
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for row, feats in enumerate(counted):
            for feat, count in feats.items():
                col = vocab.setdefault(feat, len(vocab))
                doc_freq[col] += 1
                rows.append(row)
                cols.append(col)
                vals.append((1.0 + math.log(count)) * extractor.kind_weight(feat))
        n_docs = len(counted)
        idf = np.ones(len(vocab))
        for col, df in doc_freq.items():
            idf[col] = math.log((1 + n_docs) / (1 + df)) + 1.0
        data = np.asarray(vals) * idf[np.asarray(cols, dtype=np.int64)]
        matrix = sp.csr_matrix((data, (rows, cols)), shape=(n_docs, len(vocab)))
        matrix = _l2_rows(matrix)
        # Centroid per label: mean of its normalised phrasings, re-normalised.
        n_labels = len(self.labels)
        owner = sp.csr_matrix(
            (np.ones(n_docs), (self.example_labels, np.arange(n_docs))),
            shape=(n_labels, n_docs),
        )
        centroids = _l2_rows(owner @ matrix)
        self._vocab = vocab
        self._idf = idf
        self._by_feature = matrix.T.tocsr()
        self._centroids_by_feature = centroids.T.tocsr()
        self._label_starts = np.searchsorted(self.example_labels, np.arange(n_labels))
        self._words = sorted({f[2:] for f in vocab if f[0] == "w"})
        self._word_set = frozenset(self._words)

    # -- querying -------------------------------------------------------------

    def _correct(self, tokens: list[str]) -> list[str]:
        """Replace unknown words by their closest vocabulary word, if close."""
        fixed: list[str] = []
        for tok in tokens:
            if tok in self._word_set or len(tok) < 4 or tok.isdigit():
                fixed.append(tok)
                continue
            found = process.extractOne(
                tok,
                self._words,
                scorer=Levenshtein.normalized_similarity,
                score_cutoff=self.params.correction_cutoff / 100,
            )
            fixed.append(found[0] if found else tok)
        return fixed

    def _query_vector(self, norm: str) -> tuple[np.ndarray, np.ndarray]:
        extractor = _Features(self.params)
        feats = extractor.extract(norm)
        idx: list[int] = []
        weights: list[float] = []
        unknown_mass = 0.0
        max_idf = float(self._idf.max()) if self._idf.size else 1.0
        for feat, count in feats.items():
            w = (1.0 + math.log(count)) * extractor.kind_weight(feat)
            col = self._vocab.get(feat)
            if col is None:
                unknown_mass += (w * max_idf) ** 2
                continue
            idx.append(col)
            weights.append(w * float(self._idf[col]))
        vec = np.asarray(weights)
        norm2 = float(vec @ vec) + self.params.unknown_penalty * unknown_mass
        if norm2 > 0:
            vec = vec / math.sqrt(norm2)
        return np.asarray(idx, dtype=np.int64), vec

    def _label_scores(self, norm: str) -> np.ndarray:
        assert self._by_feature is not None and self._centroids_by_feature is not None
        idx, vec = self._query_vector(norm)
        n_labels = len(self.labels)
        if idx.size == 0:
            return np.zeros(n_labels)
        per_example = np.asarray(vec @ self._by_feature[idx].toarray()).ravel()
        nearest = np.maximum.reduceat(per_example, self._label_starts)
        centroid = np.asarray(vec @ self._centroids_by_feature[idx].toarray()).ravel()
        w = self.params.nearest_weight
        return w * nearest + (1 - w) * centroid

    def rank(self, text: str, limit: int = 5) -> list[Match]:
        """All labels ranked by calibrated score, best first (at most ``limit``)."""
        norm = " ".join(self._correct(normalise(text).split()))
        if not norm:
            return []
        scores = self._label_scores(norm)
        top = np.argsort(-scores)[: max(limit, 1)]
        results: list[Match] = []
        fw = self.params.fuzzy_weight
        for li in top:
            base = float(scores[li])
            if base <= 0:
                break
            start = int(self._label_starts[li])
            end = (
                int(self._label_starts[li + 1]) if li + 1 < len(self.labels) else len(self.examples)
            )
            best = process.extractOne(
                norm, self._norm_examples[start:end], scorer=fuzz.token_sort_ratio
            )
            fuzzy, pos = (best[1], best[2]) if best else (0.0, 0)
            score = 100 * (1 - fw) * base + fw * fuzzy
            results.append(Match(self.labels[li], round(score, 1), self.examples[start + pos]))
        results.sort(key=lambda m: -m.score)
        return results[:limit]

    def resolve(self, text: str, limit: int = 3) -> Resolution:
        """Rank, then decide: one answer, an ambiguity, or nothing."""
        ranked = self.rank(text, limit=max(limit, 2))
        threshold = self.params.threshold
        if not ranked or ranked[0].score < threshold:
            return Resolution(None, tuple(ranked[:limit]))
        ambiguous = (
            len(ranked) > 1
            and ranked[1].score >= threshold
            and ranked[0].score - ranked[1].score < self.params.ambiguity_margin
        )
        return Resolution(ranked[0], tuple(ranked[:limit]), ambiguous)

    def match(self, text: str) -> Match | None:
        """The best label if it clears the threshold, else None."""
        return self.resolve(text).best

    def with_params(self, params: MatcherParams) -> Matcher:
        """A matcher over the same phrasings with other weights."""
        pairs = [
            (self.labels[i], t) for i, t in zip(self.example_labels, self.examples, strict=True)
        ]
        return Matcher.from_pairs(pairs, params)


def _l2_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ matrix)
