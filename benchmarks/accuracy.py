"""Accuracy protocols: plain test accuracy (Banking77) and CLINC150 with out-of-scope rejection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench_data import OOS, Pairs, Split
from methods import Method, Prediction


def every(pairs: Pairs, stride: int) -> Pairs:
    """Every ``stride``-th pair: a deterministic sample that keeps the label mix."""
    return pairs[::stride]


def plain_accuracy(method: Method, split: Split, stride: int = 1) -> float:
    queries = every(split.test, stride)
    predicted = method.predict([text for _, text in queries])
    return float(
        np.mean([p == gold for (gold, _), (p, _s) in zip(queries, predicted, strict=True)])
    )


@dataclass(frozen=True)
class OosResult:
    in_scope_accuracy: float
    oos_recall: float
    threshold: float


def _decide(predicted: list[Prediction], threshold: float) -> list[str | None]:
    return [label if score >= threshold else OOS for label, score in predicted]


def choose_threshold(gold: list[str], predicted: list[Prediction]) -> float:
    """The threshold maximising accuracy with out-of-scope as its own class.

    Candidates sit halfway between consecutive distinct scores (and below the
    lowest), so the choice does not depend on how ties are broken.
    """
    scores = np.asarray([s for _, s in predicted])
    distinct = np.unique(scores)
    candidates = np.concatenate(([distinct[0] - 1.0], (distinct[1:] + distinct[:-1]) / 2))
    right = np.asarray([p == g for g, (p, _s) in zip(gold, predicted, strict=True)])
    is_oos = np.asarray([g == OOS for g in gold])
    order = np.argsort(scores)
    sorted_scores = scores[order]
    # Accepting the queries scoring >= t: right answers among them, plus oos among the rest.
    right_above = np.cumsum(right[order][::-1])[::-1]
    oos_below = np.concatenate(([0], np.cumsum(is_oos[order])))
    cut = np.searchsorted(sorted_scores, candidates, side="left")
    accepted_right = np.where(cut < len(scores), right_above[np.minimum(cut, len(scores) - 1)], 0)
    accuracy = accepted_right + oos_below[cut]
    return float(candidates[int(np.argmax(accuracy))])


def oos_protocol(method: Method, split: Split, stride: int = 1) -> OosResult:
    """Threshold chosen on val + oos_val, reported on test + oos_test (Larson et al. 2019)."""
    val, test = every(split.val, stride), every(split.test, stride)
    threshold = choose_threshold([g for g, _ in val], method.predict([t for _, t in val]))
    decided = _decide(method.predict([t for _, t in test]), threshold)
    in_scope = [d == g for (g, _), d in zip(test, decided, strict=True) if g != OOS]
    rejected = [d == OOS for (g, _), d in zip(test, decided, strict=True) if g == OOS]
    return OosResult(float(np.mean(in_scope)), float(np.mean(rejected)), threshold)


@dataclass(frozen=True)
class AccuracyRow:
    method: str
    banking_few: float
    banking_full: float
    clinc: OosResult
    stride: int = 1

    @property
    def sampled(self) -> bool:
        return self.stride > 1


def accuracy_row(
    name: str,
    build: Callable[[Pairs], Method],
    few: Split,
    full: Split,
    clinc: Split,
    stride: int = 1,
) -> AccuracyRow:
    """One table row; ``stride`` > 1 scores every stride-th query of the large sets only."""
    return AccuracyRow(
        name,
        plain_accuracy(build(few.train), few),
        plain_accuracy(build(full.train), full, stride),
        oos_protocol(build(clinc.train), clinc, stride),
        stride,
    )
