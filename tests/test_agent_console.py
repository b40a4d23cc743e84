"""The human handoff through the real commands: a customer chat, the agent console and its scripts.

Everything runs on one SQLite file, as a newcomer would try it in two terminals.
"""

from __future__ import annotations

import io
import json
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from supportbot.agent_console import AgentConsole
from supportbot.app import build_desk
from supportbot.channels.contract import EngineCore
from supportbot.channels.terminal.chat import TerminalChat
from supportbot.engine import Engine
from supportbot.replies import load_replies
from supportbot.texts import text

HANDOFF = "/agent\nJe n'arrive pas à changer l'adresse de livraison\n1\n"


def run(
    module: str, args: list[str], env: dict[str, str], stdin: str = "", code: int = 0
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert result.returncode == code, result.stderr
    return result


def agent(env: dict[str, str], *args: str, stdin: str = "", code: int = 0) -> str:
    result = run("supportbot.agent_cli", list(args), env, stdin, code)
    return result.stdout if code == 0 else result.stderr


def customer(env: dict[str, str], lines: str = "", user: str = "alice") -> str:
    return run("supportbot.cli", ["chat", "--user", user], env, lines).stdout


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    env.pop("USER", None)  # the agent's name must come from --name, then "agent"
    return env


@pytest.fixture
def ref(env: dict[str, str]) -> str:
    """A customer has asked for a human; the ticket's reference."""
    out = customer(env, HANDOFF)
    assert "conseiller" in out
    return next(w.strip(".,()") for w in out.split() if w.startswith("SAV-"))


def test_the_whole_handoff_through_the_real_commands(env: dict[str, str], ref: str) -> None:
    listed = json.loads(agent(env, "list", "--json"))
    assert [t["reference"] for t in listed] == [ref]
    assert listed[0]["status"] == "received" and listed[0]["category"] == "human"

    question = "Bonjour, quelle est la nouvelle adresse ?"
    replied = json.loads(agent(env, "reply", ref, question, "--name", "lea", "--json"))
    last = replied["events"][-1]
    assert (last["kind"], last["author"], last["text"]) == ("agent_message", "lea", question)

    out = customer(env, "12 rue des Lilas, 69003 Lyon\n")
    assert out.index("quelle est la nouvelle adresse") < out.index("transmis au conseiller")

    shown = json.loads(agent(env, "show", ref, "--json"))
    said = [(e["kind"], e["text"]) for e in shown["events"]]
    assert ("customer_message", "12 rue des Lilas, 69003 Lyon") in said

    closed = json.loads(agent(env, "template", ref, "closing-summary", "--name", "lea", "--json"))
    assert closed["status"] == "closed"  # a closing template closes the ticket with it
    assert agent(env, "list") == "no open tickets\n"

    out = customer(env)
    assert f"Nous clôturons votre demande {ref}" in out and "lea, Support 3DWorksPrints" in out
    assert text("fr", "status_closed") in out
    assert text("fr", "rating_question", ref=ref) in out
    again = customer(env)  # each message is delivered once; the unanswered rating is
    assert again.startswith("Toujours en attente de votre choix") and "★★★★★" in again
    assert "Nous clôturons" not in again  # offered again, not the messages


def test_english_customer_gets_the_template_in_english(env: dict[str, str]) -> None:
    handoff = "/agent\nI cannot change the delivery address\n1\n"
    out = run("supportbot.cli", ["chat", "--user", "eve", "--lang", "en"], env, handoff).stdout
    ref = next(w.strip(".,()") for w in out.split() if w.startswith("SAV-"))
    preview = agent(env, "template", ref, "seller-first", "--preview", "--name", "tom")
    assert preview.startswith("Hello eve,") and "My account > Orders" in preview
    assert customer(env, user="eve") == ""  # a preview sends nothing


def test_scripted_actions_print_the_new_state(env: dict[str, str], ref: str) -> None:
    asked = agent(env, "ask", ref, "Une photo du colis ?", "--name", "lea")
    assert asked.startswith(f"{ref}  info_requested")
    assert "status change by lea: received → info_requested · Une photo du colis ?" in asked
    assert "note by lea: client fidèle" in agent(env, "note", ref, "client fidèle", "--name", "lea")
    proposed = json.loads(agent(env, "propose", ref, "Nous corrigeons l'adresse.", "--json"))
    assert proposed["status"] == "solution_proposed"
    assert proposed["events"][-1]["author"] == "agent"  # no --name and no $USER
    card = agent(env, "show", ref)
    assert "customer: alice" in card and "summary: Je n'arrive pas" in card
    out = customer(env)
    assert "Une photo du colis ?" in out and "Nous corrigeons l'adresse." in out
    assert "client fidèle" not in out  # internal notes stay internal


def test_errors_go_to_stderr_with_exit_code_1(env: dict[str, str], ref: str) -> None:
    assert "no ticket with reference" in agent(env, "reply", "SAV-0000-XXXXX", "hi", code=1)
    agent(env, "close", ref)
    assert "cannot go from closed to info_requested" in agent(env, "ask", ref, "?", code=1)
    missing = agent(env, "template", ref, "no-such-template", code=1)
    assert "no reply template named 'no-such-template'" in missing and "mediation" in missing
    assert "empty" in agent(env, "note", ref, "  ", code=1)
    assert "empty" in agent(env, "reply", ref, "\u200b", code=1)  # invisible is empty


def test_a_retried_command_with_its_key_is_applied_once(env: dict[str, str], ref: str) -> None:
    args = ("reply", ref, "Votre colis repart demain.", "--name", "lea", "--key", "job-42")
    first = json.loads(agent(env, *args, "--json"))
    assert "repeated" not in first
    again = run("supportbot.agent_cli", [*args, "--json"], env)  # the script's retry
    assert json.loads(again.stdout)["repeated"] is True
    assert "already done with this --key" in again.stderr
    assert customer(env).count("Votre colis repart demain.") == 1
    agent(env, "close", ref, "--key", "close-42")
    agent(env, "close", ref, "--key", "close-42")  # not "cannot go from closed to closed"
    other = customer(env, HANDOFF.replace("adresse", "commande"), user="bob")
    bob_ref = next(w.strip(".,()") for w in other.split() if w.startswith("SAV-"))
    reused = agent(env, "note", bob_ref, "x", "--key", "job-42", code=1)
    assert "already used for another ticket" in reused
    # A key is a retry of one request: another action or text with it is a mistake.
    other_text = agent(env, "reply", ref, "Autre chose.", "--key", "job-42", code=1)
    assert "already used for another action or text" in other_text
    assert "already used for another action" in agent(
        env, "note", ref, "x", "--key", "close-42", code=1
    )
    assert "cannot be empty" in agent(env, "reply", ref, "Encore.", "--key", " ", code=1)
    assert customer(env).count("Autre chose.") == customer(env).count("Encore.") == 0


def test_buttons_shown_in_an_earlier_session_are_offered_again(
    env: dict[str, str], ref: str
) -> None:
    agent(env, "propose", ref, "Nous avons corrigé l'adresse.", "--name", "lea")
    shown = customer(env)  # the session that shows the proposal ends there
    assert "[1] Ça me convient" in shown
    again = customer(env, "1\n")  # a new session: "1" still means the proposal's button
    assert "Toujours en attente de votre choix" in again
    assert "Nous avons corrigé l'adresse." in again.split("Toujours en attente")[1]
    assert json.loads(agent(env, "show", ref, "--json"))["status"] == "closed"
    assert "[5] ★★★★★" in again  # the rating question came with the closing
    assert "Merci pour votre note" in customer(env, "5\n")  # the rating, offered again
    last = json.loads(agent(env, "show", ref, "--json"))["events"][-1]
    assert (last["kind"], last["text"]) == ("rating", "5")
    assert "Toujours en attente" not in customer(env)  # answered: offered no more


def test_broken_templates_stop_the_agent_commands(env: dict[str, str], tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    for folder in ("faq", "flows"):
        (content / folder).symlink_to(ROOT / folder)
    (content / "replies").mkdir()
    (content / "replies" / "bad.yaml").write_text(
        "name: hello\ntitle: {fr: Salut, en: Hi}\ntext: {fr: 'Bonjour {prenom}', en: Hello}\n"
    )
    env["SUPPORTBOT_CONTENT_DIR"] = str(content)
    result = run("supportbot.agent_cli", ["list"], env, code=2)
    assert "bad.yaml: entry 'hello', field 'text.fr': unknown variable {prenom}" in result.stderr


def test_interactive_console_through_a_pipe(env: dict[str, str], ref: str) -> None:
    script = "\n".join(
        [
            "reply too early",
            "open 1",
            "take",
            "reply Bonjour, je m'en occupe.",
            "note adresse à vérifier",
            "template mediation",
            "non",
            "template closing-summary",
            "oui",  # a closing template: sent and closed at once
            "close Bonne journée",  # too late: already closed
            "list",
            "quit",
            "reply never read",
        ]
    )
    out = agent(env, "--name", "lea", stdin=script + "\n")
    assert "signed in as lea" in out
    assert "error: no ticket is open; open REF first" in out
    assert f"{ref} · received · human" in out and "summary: Je n'arrive pas" in out
    assert "agent lea: Bonjour, je m'en occupe." in out
    assert "not sent" in out and "--- preview ---" in out
    assert "send it and close the ticket? (y/N)" in out
    assert "cannot go from closed to closed" in out and out.rstrip().endswith("no open tickets")
    events = json.loads(agent(env, "show", ref, "--json"))["events"]
    assert [(e["kind"], e["author"]) for e in events[1:]] == [
        ("note", "lea"),
        ("agent_message", "lea"),
        ("note", "lea"),
        ("status", "lea"),
    ]
    assert "Nous clôturons" in events[-1]["text"]
    received = customer(env)
    assert "Bonjour, je m'en occupe." in received and "Nous clôturons" in received
    assert "adresse à vérifier" not in received and "CM2C" not in received
    assert "never read" not in json.dumps(events)


def _lines_of(stream: Any) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue[str], needle: str, seconds: float) -> float:
    """Seconds until a line containing ``needle`` arrives (fails after ``seconds``)."""
    start = time.monotonic()
    seen: list[str] = []
    while (left := seconds - (time.monotonic() - start)) > 0:
        try:
            seen.append(lines.get(timeout=left))
        except queue.Empty:
            break
        if needle in seen[-1]:
            return time.monotonic() - start
    raise AssertionError(f"{needle!r} not shown within {seconds}s; got {seen}")


def test_open_console_shows_the_customer_message_as_it_arrives(
    env: dict[str, str], ref: str
) -> None:
    console = subprocess.Popen(
        [sys.executable, "-m", "supportbot.agent_cli", "--name", "lea"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert console.stdin is not None
    try:
        lines = _lines_of(console.stdout)
        console.stdin.write(f"open {ref}\n")
        console.stdin.flush()
        _wait_for(lines, "conversation:", 60)
        customer(env, "Toujours là ?\n")
        # shown without any input from the agent (the console polls every second;
        # the bound is generous so a loaded CI machine does not make it flaky)
        _wait_for(lines, "customer: Toujours là ?", 20)
        console.stdin.write("quit\n")
        console.stdin.flush()
        assert console.wait(timeout=30) == 0
    finally:
        console.kill()


def test_open_chat_shows_the_agent_reply_without_typing(engine: Engine) -> None:
    out = io.StringIO()
    chat = TerminalChat(
        EngineCore.of(engine), "alice", "fr", out=out, interactive=True, poll_seconds=0.2
    )
    typed: queue.Queue[str | None] = queue.Queue()

    def keyboard() -> Iterator[str]:
        while (line := typed.get()) is not None:
            yield line

    session = threading.Thread(target=chat.run, args=(keyboard(),), daemon=True)
    session.start()
    for line in HANDOFF.splitlines():
        typed.put(line)
    ref = _wait_until(lambda: _ref_in(out.getvalue()), 10)
    build_desk(engine).reply(ref, "lea", "Bonjour, je regarde votre commande.")
    _wait_until(lambda: "je regarde votre commande" in out.getvalue(), 15)
    typed.put(None)
    session.join(timeout=5)
    shown = out.getvalue()
    line = next(x for x in shown.split("\n") if "je regarde votre commande" in x)
    assert line.removeprefix("\r\x1b[K").startswith("bot> ") and ref in line
    assert shown.rstrip().endswith("vous>")  # the prompt is shown again after the message
    assert engine.outbox.take("terminal", "alice") == []


def _ref_in(shown: str) -> str:
    return next((w.strip(".,()") for w in shown.split() if w.startswith("SAV-")), "")


def _wait_until(probe: Any, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(0.05)
    raise AssertionError(f"nothing within {seconds}s")


def test_console_shows_customers_writing_on_other_tickets(engine: Engine, new_chat: Any) -> None:
    refs = {}
    for user in ("alice", "bob"):
        chat = new_chat(user)
        for line in HANDOFF.splitlines():
            shown = chat.say(line) if not line.isdigit() else chat.press("confirm")
        refs[user] = _ref_in(shown)
    build_desk(engine).reply(refs["alice"], "lea", "Je regarde.")  # alice is answered
    out = io.StringIO()
    book = load_replies(ROOT / "replies")
    console = AgentConsole(build_desk(engine), book, "lea", out, poll_seconds=0.05)
    typed: queue.Queue[str | None] = queue.Queue()

    def keyboard() -> Iterator[str]:
        while (line := typed.get()) is not None:
            yield line

    session = threading.Thread(target=console.run, args=(keyboard(),), daemon=True)
    session.start()
    typed.put(f"open {refs['alice']}")
    _wait_until(lambda: "conversation:" in out.getvalue(), 10)
    new_chat("bob").say("Toujours rien reçu")  # on the other ticket
    _wait_until(
        lambda: f"{refs['bob']} [" in out.getvalue() and "Toujours rien" in out.getvalue(), 10
    )
    typed.put("list")
    _wait_until(lambda: re.search(rf"\*\s+{refs['bob']}", out.getvalue()), 10)  # waits for us
    assert not re.search(rf"\*\s+{refs['alice']}", out.getvalue())
    typed.put(None)
    session.join(timeout=5)
