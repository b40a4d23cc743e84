"""The matcher's figures on development data only, for choosing its parameters.

The test splits that ``run.py`` reports are never read here:

* Banking77 10-shot: the same 10 training phrasings per intent as ``run.py``
  (``random.Random(0)``), queried with the *rest* of train (1 query in ``--stride``);
* CLINC150: trained on train; val + oos_val cut in two folds (even / odd positions),
  the rejection threshold chosen on one fold as the published protocol does and
  scored on the other, then the other way round; oos_train (which the protocol
  never uses) adds out-of-scope queries to both scored folds.

Usage: ``.venv/bin/python benchmarks/dev.py [--stride N] [name=value ...]`` where each
``name=value`` overrides a field of :class:`MatcherParams`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np

from accuracy import choose_threshold
from bench_data import OOS, Pairs, banking77, data_dir
from methods import Prediction
from supportbot.matching import Matcher, MatcherParams


def params_from(overrides: list[str]) -> MatcherParams:
    """``MatcherParams()`` with ``name=value`` overrides, each cast to the field's type."""
    defaults = MatcherParams()
    changes: dict[str, object] = {}
    for item in overrides:
        name, _, value = item.partition("=")
        kind = type(getattr(defaults, name))
        changes[name] = kind(value)
    return dataclasses.replace(defaults, **changes)


def predict(matcher: Matcher, texts: list[str]) -> list[Prediction]:
    out: list[Prediction] = []
    for text in texts:
        ranked = matcher.rank(text, limit=1)
        out.append((ranked[0].label, ranked[0].score) if ranked else (None, 0.0))
    return out


def banking_dev(params: MatcherParams, stride: int) -> float:
    root = data_dir()
    few = banking77(root, 10)
    full = banking77(root, None)
    chosen = set(few.train)
    queries = [pair for pair in full.train if pair not in chosen][::stride]
    matcher = Matcher.from_pairs(few.train, params)
    predicted = predict(matcher, [text for _, text in queries])
    return float(np.mean([p == g for (g, _), (p, _s) in zip(queries, predicted, strict=True)]))


def clinc_dev(params: MatcherParams) -> tuple[float, float, float, float]:
    """In-scope accuracy and OOS recall (two folds), top-1 accuracy with no rejection, and
    in-scope accuracy at the threshold that rejects half the out-of-scope queries."""
    raw = json.loads((data_dir() / "clinc150" / "data_full.json").read_text(encoding="utf-8"))

    def pairs(split: str) -> Pairs:
        return [(intent, text) for text, intent in raw[split]]

    matcher = Matcher.from_pairs(pairs("train"), params)
    val = pairs("val") + pairs("oos_val")
    extra_oos = pairs("oos_train")
    val_pred = predict(matcher, [t for _, t in val])
    extra_pred = predict(matcher, [t for _, t in extra_oos])
    in_right: list[bool] = []
    oos_rejected: list[bool] = []
    for pick, score_on in ((0, 1), (1, 0)):
        fold = [(g, p) for i, (g, p) in enumerate(zip(val, val_pred, strict=True)) if i % 2 == pick]
        threshold = choose_threshold([g for (g, _), _p in fold], [p for _g, p in fold])
        scored = [
            (g, p) for i, (g, p) in enumerate(zip(val, val_pred, strict=True)) if i % 2 == score_on
        ]
        scored += list(zip(extra_oos, extra_pred, strict=True))
        for (gold, _), (label, score) in scored:
            accepted = score >= threshold
            if gold == OOS:
                oos_rejected.append(not accepted)
            else:
                in_right.append(accepted and label == gold)
    in_scope = [(g, p) for (g, _), p in zip(val, val_pred, strict=True) if g != OOS]
    oos_scores = [s for (g, _), (_p, s) in zip(val, val_pred, strict=True) if g == OOS]
    half = float(np.median(oos_scores + [s for _p, s in extra_pred]))
    top1 = float(np.mean([label == g for g, (label, _s) in in_scope]))
    at_half = float(np.mean([label == g and s > half for g, (label, s) in in_scope]))
    return float(np.mean(in_right)), float(np.mean(oos_rejected)), top1, at_half


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stride", type=int, default=3, help="Banking77: 1 dev query in N")
    parser.add_argument("--only", choices=("b77", "clinc"), help="one set only")
    parser.add_argument("overrides", nargs="*", help="MatcherParams fields as name=value")
    args = parser.parse_args()
    params = params_from(args.overrides)
    started = time.process_time()
    cells = [" ".join(args.overrides) or "defaults"]
    if args.only != "clinc":
        cells.append(f"B77 dev {100 * banking_dev(params, args.stride):.1f}%")
    if args.only != "b77":
        in_scope, oos, top1, at_half = clinc_dev(params)
        cells.append(f"CLINC dev in-scope {100 * in_scope:.1f}% OOS {100 * oos:.1f}%")
        cells.append(f"top-1 {100 * top1:.1f}% in@OOS50 {100 * at_half:.1f}%")
    cells.append(f"({time.process_time() - started:.0f} s CPU)")
    print(" | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
