"""Loads the public benchmark sets (Banking77, CLINC150) and the shipped FAQ phrasings."""

from __future__ import annotations

import csv
import json
import os
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "bench"

Pairs = list[tuple[str, str]]
"""``(label, text)`` pairs, the shape :meth:`Matcher.from_pairs` takes."""

OOS = "oos"


@dataclass(frozen=True)
class Split:
    """Training pairs plus labelled queries; a query labelled ``OOS`` must be rejected."""

    name: str
    train: Pairs
    test: Pairs
    val: Pairs = field(default_factory=list)


def data_dir() -> Path:
    """Where the data lives: $SUPPORTBOT_BENCH_DATA, else ../shared/bench; exits if absent."""
    root = Path(os.environ.get("SUPPORTBOT_BENCH_DATA", DEFAULT_DATA))
    needed = [root / "banking77" / f for f in ("train.csv", "test.csv")]
    needed.append(root / "clinc150" / "data_full.json")
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        sys.exit(
            "benchmark data not found: " + ", ".join(missing) + "\n"
            "Set SUPPORTBOT_BENCH_DATA to the folder holding banking77/ and clinc150/ "
            f"(default {DEFAULT_DATA})."
        )
    return root


def _read_banking(path: Path) -> Pairs:
    with path.open(newline="", encoding="utf-8") as handle:
        return [(row["category"], row["text"]) for row in csv.DictReader(handle)]


def banking77(root: Path, shots: int | None) -> Split:
    """Banking77; with ``shots``, that many train rows per intent (seeded as published)."""
    train = _read_banking(root / "banking77" / "train.csv")
    test = _read_banking(root / "banking77" / "test.csv")
    if shots is None:
        return Split("Banking77 full", train, test)
    rng = random.Random(0)
    by_intent: dict[str, list[str]] = {}
    for label, text in train:
        by_intent.setdefault(label, []).append(text)
    sampled = [
        (label, text) for label in sorted(by_intent) for text in rng.sample(by_intent[label], shots)
    ]
    return Split(f"Banking77 {shots}-shot", sampled, test)


def clinc150(root: Path) -> Split:
    """CLINC150 "full": train, val + oos_val (threshold), test + oos_test (report)."""
    raw = json.loads((root / "clinc150" / "data_full.json").read_text(encoding="utf-8"))

    def pairs(*splits: str) -> Pairs:
        return [(intent, text) for s in splits for text, intent in raw[s]]

    return Split("CLINC150", pairs("train"), pairs("test", "oos_test"), pairs("val", "oos_val"))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        sys.exit(f"{path}: not valid YAML ({exc})")
    return doc if isinstance(doc, dict) else {}


def shipped_faq() -> Pairs:
    """Phrasings of the FAQ entries (faq/*.yaml), flow triggers (flows/*.yaml) and
    out-of-scope topics (scope/out-of-scope.yaml).

    The same pairs as ``supportbot.content.Content.pairs()``, read without the
    content validation so a half-written entry does not stop the benchmark.
    """
    pairs: Pairs = []
    for path in sorted((REPO / "faq").glob("*.yaml")):
        for entry in _read_yaml(path).get("entries") or []:
            for texts in (entry.get("questions") or {}).values():
                pairs.extend((f"faq:{entry['id']}", t) for t in texts or [])
    for path in sorted((REPO / "flows").glob("*.yaml")):
        doc = _read_yaml(path)
        for texts in (doc.get("triggers") or {}).values():
            pairs.extend((f"flow:{doc['id']}", t) for t in texts or [])
    scope = REPO / "scope" / "out-of-scope.yaml"
    if scope.is_file():
        for texts in _read_yaml(scope).values():
            pairs.extend(("none:out-of-scope", t) for t in texts or [])
    return pairs
