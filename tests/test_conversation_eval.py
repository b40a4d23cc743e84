"""The conversation runner plays scripts on the real engine and judges what they left."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from supportbot.content import Content
from supportbot.conversation_eval import half, load_conversations, run_conversations
from supportbot.routing import Router

ROOT = Path(__file__).resolve().parents[1]

CASES = """
- id: damaged
  turns:
    - say: "ma commande 123456789 est arrivée cassée"
      expect: ["123456789"]
  when_asked:
    date: "12/11"
    tracking: "passer"
    text: ["la figurine est en deux morceaux"]
    files: photo
    done: "terminé"
    confirm: "confirmer"
  expect:
    ticket:
      flow: order-problem
      status: received
      fields: {order_number: "123456789", kind: damaged, date: 2026-11-12, files: 1}
- id: withdrawal
  turns:
    - say: "c'est quoi le délai de rétractation"
  expect:
    ticket: none
    replies_contain: [["14 jours", "14 days"]]
- id: story-told-again
  turns:
    - say: "bonjour, ma commande 123456789 est arrivée cassée"
  when_asked:
    date: "12/11"
    files: photo
    confirm: "oui"
  expect:
    ticket:
      flow: order-problem
      fields: {order_number: "123456789", kind: damaged}
- id: wrong-expectation
  turns:
    - say: "c'est quoi le délai de rétractation"
  expect:
    ticket: {flow: return-refund}
    replies_contain: ["CM2C"]
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "cases.yaml").write_text(CASES, encoding="utf-8")
    return tmp_path


def test_scripts_are_judged_on_the_ticket_and_the_replies(
    folder: Path, content: Content, matcher: Router
) -> None:
    report = run_conversations(load_conversations(folder), ROOT, content, matcher)
    verdicts = {r.case.id: r.failures for r in report.results}
    assert verdicts["damaged"] == [], "\n".join(report.results[0].transcript)
    assert verdicts["withdrawal"] == []
    # asked to describe with nothing scripted for it, the customer tells the story again
    assert verdicts["story-told-again"] == []
    assert verdicts["wrong-expectation"] == [
        "no reply contains 'CM2C'",
        "expected one ticket, got 0",
    ]
    assert report.passed == 3


def test_halves_alternate_and_cover_the_set() -> None:
    items = list(range(7))
    assert half(items, "dev") == [0, 2, 4, 6]
    assert half(items, "test") == [1, 3, 5]
    assert sorted(half(items, "dev") + half(items, "test")) == items


def test_a_broken_case_is_named_with_its_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("- id: x\n  turns:\n    - wait: soon\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.yaml, case x: turns.0.wait"):
        load_conversations(tmp_path)


def test_the_command_reports_completed_conversations(folder: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(ROOT / ".venv/bin/supportbot"), "eval", "conversations", str(folder)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "completed correctly: 3/4" in done.stdout
    assert "wrong-expectation" in done.stdout
