"""The methods compared: supportbot's matcher and two plain 1-nearest-neighbour baselines.

Each method answers a query with its best label and a score (higher = surer),
which the CLINC150 protocol thresholds to reject out-of-scope queries.
"""

from __future__ import annotations

import multiprocessing
import re
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import scipy.sparse as sp
from rank_bm25 import BM25Okapi
from rapidfuzz import fuzz, process, utils

from bench_data import Pairs
from supportbot.matching import Matcher

Prediction = tuple[str | None, float]
# Words for BM25: letters and digits (accented ones too), apostrophes inside words kept.
_WORD = re.compile(r"\w+(?:'\w+)*")


class Method(Protocol):
    name: str

    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...


class SupportbotMatcher:
    """Our matcher, built through the public API; its score is the top ``rank`` score."""

    name = "supportbot Matcher"

    def __init__(self, train: Pairs) -> None:
        self.matcher = Matcher.from_pairs(train)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        out: list[Prediction] = []
        for text in texts:
            ranked = self.matcher.rank(text, limit=1)
            out.append((ranked[0].label, ranked[0].score) if ranked else (None, 0.0))
        return out


# Set before the worker pool forks, so the choices are not pickled per task.
_FUZZ_CHOICES: list[str] = []


def _fuzz_best(text: str) -> tuple[int, float]:
    # Choices were put through default_process once; the query gets it here.
    # Same result as processor=default_process on both, without redoing the choices.
    found = process.extractOne(
        utils.default_process(text), _FUZZ_CHOICES, scorer=fuzz.token_set_ratio, processor=None
    )
    return (found[2], float(found[1])) if found else (-1, 0.0)


class FuzzExtractOne:
    """``rapidfuzz.process.extractOne`` with token_set_ratio and ``default_process``, 1-NN.

    token_set_ratio is rapidfuzz's best scorer on these sets (Banking77 10-shot 52%,
    against 50% for ratio and 12% for WRatio, whose partial matching lets any short
    phrasing contained in the query win; ../shared/bench/README.md).
    """

    name = "rapidfuzz extractOne token_set_ratio 1-NN"

    def __init__(self, train: Pairs, workers: int = 2) -> None:
        self.labels = [label for label, _ in train]
        self.choices = [utils.default_process(text) for _, text in train]
        self.workers = workers

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        global _FUZZ_CHOICES
        _FUZZ_CHOICES = self.choices
        if self.workers > 1 and len(texts) > 200:
            with multiprocessing.get_context("fork").Pool(self.workers) as pool:
                found = pool.map(_fuzz_best, texts, chunksize=64)
        else:
            found = [_fuzz_best(t) for t in texts]
        return [(self.labels[i] if i >= 0 else None, score) for i, score in found]


class Bm25:
    """``rank_bm25.BM25Okapi`` on lowercase word tokens (punctuation dropped), 1-NN.

    The score is the top BM25. Splitting on whitespace alone would keep "card?" and
    "card" apart (49% instead of 57% on Banking77 10-shot).

    ``get_scores`` loops in Python over every document for every query word,
    minutes per data set; the same formula with the same fitted idf, lengths and
    k1/b is evaluated here as one sparse product, checked against it at start.
    """

    name = "BM25Okapi (rank-bm25) 1-NN"

    def __init__(self, train: Pairs) -> None:
        self.labels = [label for label, _ in train]
        self.bm25 = BM25Okapi([self.tokens(text) for _, text in train])
        bm = self.bm25
        self.columns = {word: i for i, word in enumerate(bm.idf)}
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[float] = []
        for row, freqs in enumerate(bm.doc_freqs):
            for word, tf in freqs.items():
                rows.append(row)
                cols.append(self.columns[word])
                tfs.append(tf)
        tf = np.asarray(tfs)
        doc_len = np.asarray(bm.doc_len, dtype=float)[rows]
        idf = np.asarray(list(bm.idf.values()))[cols]
        weight = idf * tf * (bm.k1 + 1) / (tf + bm.k1 * (1 - bm.b + bm.b * doc_len / bm.avgdl))
        shape = (len(train), len(self.columns))
        self.weights = sp.csc_matrix((weight, (rows, cols)), shape=shape)
        self._check(train)

    @staticmethod
    def tokens(text: str) -> list[str]:
        return _WORD.findall(text.lower())

    def scores(self, text: str) -> np.ndarray:
        counts = Counter(w for w in self.tokens(text) if w in self.columns)
        if not counts:
            return np.zeros(self.weights.shape[0])
        cols = [self.columns[w] for w in counts]
        return np.asarray(self.weights[:, cols] @ np.asarray(list(counts.values()), float))

    def _check(self, train: Pairs) -> None:
        for _, text in train[:: max(1, len(train) // 10)][:10]:
            query = text + " unseen-word"
            expected = self.bm25.get_scores(self.tokens(query))
            if not np.allclose(self.scores(query), expected):
                raise AssertionError("vectorised BM25 disagrees with rank_bm25.get_scores")

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        out: list[Prediction] = []
        for text in texts:
            scores = self.scores(text)
            best = int(np.argmax(scores))
            out.append((self.labels[best], float(scores[best])))
        return out
