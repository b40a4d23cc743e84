"""A crash in the middle of a flow or of ticket creation loses nothing and half-stores nothing."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading

import pytest

from conftest import ROOT, Chat
from supportbot.engine import Engine


def test_kill_9_mid_flow_then_resume(env: dict[str, str]) -> None:
    chat = subprocess.Popen(
        [sys.executable, "-m", "supportbot.cli", "chat", "--user", "dan"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert chat.stdin is not None and chat.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in chat.stdout], daemon=True).start()
    chat.stdin.write("je veux retourner mon article\n123456789\n")
    chat.stdin.flush()
    seen = ""
    while "avez-vous reçu l'article" not in seen:
        seen += lines.get(timeout=60)
    os.kill(chat.pid, signal.SIGKILL)  # no clean shutdown of any kind
    chat.wait(timeout=30)
    again = subprocess.run(
        [sys.executable, "-m", "supportbot.cli", "chat", "--user", "dan"],
        input="hier\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert "Reprenons" in again.stdout
    assert "avez-vous reçu l'article" in again.stdout  # the same question, asked again
    assert "choice:" not in again.stdout and "[1]" in again.stdout  # then the next step


def test_failure_during_ticket_creation_stores_nothing_half_way(
    chat: Chat, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat.press("flow:human-agent")
    chat.say("Besoin d'un conseiller pour ma commande")

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(engine.tickets, "_assign_reference", crash)
    with pytest.raises(RuntimeError):
        chat.press("confirm")
    with engine.sessions() as db:
        assert engine.tickets.search(db) == []
    monkeypatch.undo()
    assert "SAV-" in chat.press("confirm")  # still at the summary: confirm again
    with engine.sessions() as db:
        assert len(engine.tickets.search(db)) == 1
