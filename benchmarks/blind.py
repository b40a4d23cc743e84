"""The blind sets' figures, both halves: single questions (matcher and routing) and scripted
conversations (the whole engine). Dev = even positions (tuned on), test = odd (reported only).

Usage: ``.venv/bin/python benchmarks/blind.py`` (part of ``make bench``).
"""

from __future__ import annotations

from pathlib import Path

from supportbot.app import build_matcher
from supportbot.config import Settings
from supportbot.content import load_content
from supportbot.conversation_eval import half, load_conversations, run_conversations
from supportbot.evaluation import evaluate_cases, load_cases

ROOT = Path(__file__).resolve().parents[1]
# Each folder is one blind set, written by someone who read only the support page.
SETS = sorted(p for p in (ROOT / "evals").glob("blind*") if p.is_dir())
# Issue 13's targets, checked on the test halves (sets kept apart from the tuning).
TARGETS = {"in_scope": 0.95, "rejected": 0.90, "conversations": 0.90}


def main() -> None:
    settings = Settings(_env_file=None, content_dir=ROOT)
    content = load_content(ROOT)
    matcher = build_matcher(content, settings)
    verdicts: list[str] = []
    for folder in SETS:
        print(f"== {folder.name}: single questions (in scope right / out of scope rejected)")
        print(f"{'set':<16}{'dev':>24}{'test':>24}")
        for name in ("questions-fr", "questions-en"):
            if not (folder / f"{name}.yaml").exists():
                continue
            cases = load_cases(folder / f"{name}.yaml")
            cells = []
            for which in ("dev", "test"):
                report = evaluate_cases(matcher, half(cases, which))
                cells.append(f"{report.accuracy:6.1%} / {report.rejection:6.1%}")
                if which == "test":
                    verdicts.append(
                        f"{folder.name} {name} test: in scope {report.accuracy:.1%} (target "
                        f"{TARGETS['in_scope']:.0%}), rejected {report.rejection:.1%} "
                        f"(target {TARGETS['rejected']:.0%})"
                    )
            print(f"{name:<16}{cells[0]:>24}{cells[1]:>24}")
        if not (folder / "conversations").is_dir():
            continue
        conversations = load_conversations(folder / "conversations")
        print(f"{folder.name}: conversations completed correctly")
        for which in ("dev", "test"):
            report = run_conversations(half(conversations, which), ROOT, content, matcher)
            print(f"  {which:<5} {report.passed}/{len(report.results)} = {report.rate:.1%}")
            if which == "test":
                verdicts.append(
                    f"{folder.name} conversations test: {report.rate:.1%} "
                    f"(target {TARGETS['conversations']:.0%})"
                )
        print()
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
