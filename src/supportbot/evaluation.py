"""Scores the matcher on labelled cases: in-scope top-1 accuracy and out-of-scope rejection."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz, process

from supportbot.content import Content, Problem
from supportbot.matching import Matcher
from supportbot.normalise import normalise
from supportbot.routing import Router

NONE = "none"
# An eval case this close (rapidfuzz ratio after the matcher's folding) to a training
# phrasing measures recall of a copy, not understanding: `faq check` refuses it.
LEAK_RATIO = 90.0


@dataclass(frozen=True)
class Case:
    text: str
    expect: tuple[str, ...]


def load_cases(path: Path) -> list[Case]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a YAML list of {{text, expect}}")
    cases: list[Case] = []
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict) or "text" not in item or "expect" not in item:
            raise ValueError(f"{path}: case #{i} needs 'text' and 'expect'")
        expect = item["expect"]
        labels = tuple(expect if isinstance(expect, list) else [expect])
        cases.append(Case(str(item["text"]), tuple(str(label) for label in labels)))
    return cases


@dataclass
class Report:
    in_scope: int = 0
    in_scope_ok: int = 0
    out_scope: int = 0
    out_scope_ok: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.in_scope_ok / self.in_scope if self.in_scope else 0.0

    @property
    def rejection(self) -> float:
        return self.out_scope_ok / self.out_scope if self.out_scope else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "in_scope": self.in_scope,
            "in_scope_accuracy": round(self.accuracy, 4),
            "out_of_scope": self.out_scope,
            "out_of_scope_rejection": round(self.rejection, 4),
            "misses": self.misses,
        }

    def render(self) -> str:
        lines = [
            f"in scope      : {self.in_scope_ok}/{self.in_scope} = {self.accuracy:.1%}",
            f"out of scope  : {self.out_scope_ok}/{self.out_scope} rejected = {self.rejection:.1%}",
            f"misses ({len(self.misses)}):",
        ]
        for miss in self.misses:
            lines.append(
                f"  - {miss['text']!r}: expected {'/'.join(miss['expect'])}, "
                f"got {miss['got'] or NONE} ({miss['score']})"
            )
        return "\n".join(lines)


def evaluate_cases(matcher: Matcher | Router, cases: list[Case]) -> Report:
    report = Report()
    for case in cases:
        result = matcher.resolve(case.text)
        got = result.best.label if result.best else None
        score = (
            result.best.score
            if result.best
            else (result.candidates[0].score if result.candidates else 0.0)
        )
        if NONE in case.expect:
            report.out_scope += 1
            ok = got is None
            report.out_scope_ok += ok
        else:
            report.in_scope += 1
            ok = got in case.expect
            report.in_scope_ok += ok
        if not ok:
            report.misses.append(
                {"text": case.text, "expect": list(case.expect), "got": got, "score": score}
            )
    return report


def eval_files(root: Path) -> list[Path]:
    """The labelled question sets that measure the matcher: public and blind."""
    found = [root / "evals" / "public.yaml"]
    found += sorted((root / "evals" / "blind").glob("questions-*.yaml"))
    return [path for path in found if path.is_file()]


def eval_leaks(root: Path, content: Content, cutoff: float = LEAK_RATIO) -> list[Problem]:
    """Every eval case within ``cutoff`` of a FAQ variant, flow trigger or scope phrasing.

    The problem names the case by its position, not its text (blind test halves
    stay unread), and the training phrasing to remove.
    """
    pairs = content.pairs()
    choices = [normalise(text) for _, text in pairs]
    problems: list[Problem] = []
    for path in eval_files(root):
        where = str(path.relative_to(root))
        for number, case in enumerate(load_cases(path), 1):
            hits = process.extract(
                normalise(case.text), choices, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None
            )
            for _, score, index in hits:
                label, text = pairs[index]
                problems.append(
                    Problem(
                        where,
                        f"case #{number}",
                        "",
                        f"within ratio {score:.0f} of the training phrasing {text!r} ({label}): "
                        "remove the copy from the content (or the case from public.yaml)",
                    )
                )
    return problems
