"""The real `supportbot run` process, polling a fake Bot API server on loopback.

Nothing is in-process here: the command operators start, with its settings in
SUPPORTBOT_* variables, talks HTTP to `fake_bot_api` (no real network) and is
stopped by signals, as a service manager would stop it.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from conftest import ROOT
from fake_bot_api import ApiCall, FakeBotApi
from telegram_fakes import AGENT_CHAT, TOKEN, Person, Updates

T = TypeVar("T")
ALICE = Person(111, "Alice", "fr")
WAIT = 20.0  # generous: the process imports, loads the content and migrates first

_script = Path(sys.executable).with_name("supportbot")
COMMAND = [str(_script)] if _script.exists() else [sys.executable, "-m", "supportbot.cli"]


@dataclass
class Bot:
    """One `supportbot run` process; what it printed (stdout and stderr) goes to ``log``."""

    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, how: signal.Signals = signal.SIGTERM) -> int:
        self.process.send_signal(how)
        return self.process.wait(timeout=WAIT)

    def wait(self, api: FakeBotApi, found: Callable[[list[ApiCall]], T | None]) -> T:
        """What ``found`` finds in the calls within WAIT seconds; fails early if it died."""
        for _ in range(int(WAIT / 0.25)):
            result = api.wait_for(found, 0.25)
            if result is not None:
                return result
            if self.process.poll() is not None:
                break
        methods = [c.method for c in api.calls]
        raise AssertionError(
            f"not seen; exit code {self.process.poll()}; calls {methods}\n{self.output()}"
        )


Start = Callable[[], Bot]


def until(condition: Callable[[], bool]) -> None:
    for _ in range(int(WAIT / 0.05)):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def handled(env: dict[str, str], update_id: int) -> bool:
    """Whether the bot's store notes every handler went through this update."""
    path = env["SUPPORTBOT_DATABASE_URL"].removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(path)) as db:
        row = db.execute(
            "SELECT handled_at FROM telegram_updates WHERE update_id = ?", (update_id,)
        ).fetchone()
    return row is not None and row[0] is not None


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(TOKEN) as server:
        yield server


@pytest.fixture
def bot_env(env: dict[str, str], api: FakeBotApi) -> dict[str, str]:
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env.pop(proxy, None)  # loopback only, never through a proxy
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["SUPPORTBOT_TELEGRAM_TOKEN"] = TOKEN
    env["SUPPORTBOT_TELEGRAM_BASE_URL"] = api.url
    env["SUPPORTBOT_AGENT_CHAT_ID"] = str(AGENT_CHAT)
    return env


@pytest.fixture
def start(bot_env: dict[str, str], tmp_path: Path) -> Iterator[Start]:
    """Starts `supportbot run`; every process still running at the end is killed."""
    started: list[Bot] = []

    def launch() -> Bot:
        path = tmp_path / f"output-{len(started)}.txt"
        with path.open("wb") as log:
            process = subprocess.Popen(
                [*COMMAND, "run"], cwd=ROOT, env=bot_env, stdout=log, stderr=subprocess.STDOUT
            )
        started.append(Bot(process, path))
        return started[-1]

    yield launch
    for bot in started:
        if bot.process.poll() is None:
            bot.process.kill()
        bot.process.wait(timeout=10)


def message_to(chat_id: int, needle: str) -> Callable[[list[ApiCall]], ApiCall | None]:
    def found(calls: list[ApiCall]) -> ApiCall | None:
        return next(
            (
                c
                for c in calls
                if c.method == "sendMessage" and c.chat_id == chat_id and needle in c.text
            ),
            None,
        )

    return found


def test_a_question_is_answered_and_sigterm_stops_the_process_cleanly(
    api: FakeBotApi, start: Start
) -> None:
    bot = start()
    updates = Updates()
    api.push(updates.text(ALICE, "comment retourner un article ?"))
    answer = bot.wait(api, message_to(ALICE.id, "fenêtre commerciale de 30 jours"))
    assert "droit de rétractation légal de 14 jours" in answer.text
    assert answer.buttons()["Menu"] == "menu"
    assert "Démarrer : Retour ou remboursement" in answer.buttons()
    assert [c.params["action"] for c in api.sent("sendChatAction", ALICE.id)] == ["typing"]
    menus = api.sent("setMyCommands")
    assert [c.params.get("language_code") for c in menus] == [None, "en"]
    assert {"start", "agent"} <= {c["command"] for c in menus[0].params["commands"]}

    assert bot.stop() == 0
    log = bot.output()
    assert "Traceback" not in log and TOKEN not in log, log
    assert api.pending == []  # the last getUpdates confirmed what was handled


def test_a_flow_resumes_in_a_new_process_after_sigkill(
    api: FakeBotApi, start: Start, bot_env: dict[str, str]
) -> None:
    first = start()
    updates = Updates()
    api.push(updates.text(ALICE, "je veux signaler un problème avec ma commande"))
    first.wait(api, message_to(ALICE.id, "Quel est votre numéro de commande ?"))
    order = updates.text(ALICE, "123456789")
    api.push(order)
    question = first.wait(api, message_to(ALICE.id, "Quel est le problème avec cette commande"))
    until(lambda: handled(bot_env, order["update_id"]))  # every handler went through it
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL

    # Had the crash come before a getUpdates confirmed it, Telegram would deliver it again.
    api.redeliver(order)
    second = start()
    api.push(updates.press(ALICE, question.buttons()["Article abîmé"], "Article abîmé"))
    second.wait(api, message_to(ALICE.id, "Quand avez-vous passé cette commande ?"))
    assert len(api.sent("answerCallbackQuery")) == 1
    asked = [c for c in api.sent(chat_id=ALICE.id) if "Quel est le problème" in c.text]
    assert len(asked) == 1  # the repeated update was recognised, not answered twice

    assert second.stop() == 0
    assert "Traceback" not in second.output(), second.output()


INVOICE = "Votre facture se trouve dans Mon compte"


def test_a_message_cut_off_before_its_turn_is_answered_after_restart(
    api: FakeBotApi, start: Start
) -> None:
    first = start()
    updates = Updates()
    api.hold("sendChatAction")  # the typing indicator comes before the turn is stored
    api.push(updates.text(ALICE, "ou est ma facture"))
    first.wait(api, lambda calls: next((c for c in calls if c.method == "sendChatAction"), None))
    until(lambda: api.pending == [])  # Telegram was told it was received: it won't resend
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    assert api.sent(chat_id=ALICE.id) == []
    api.answer_all()

    second = start()
    second.wait(api, message_to(ALICE.id, INVOICE))  # kept in the store, handled at start
    api.push(updates.text(ALICE, "comment retourner un article"))
    second.wait(api, message_to(ALICE.id, "fenêtre commerciale de 30 jours"))
    # The later answer goes out after any second copy of the first one would have.
    assert len(api.sent(chat_id=ALICE.id)) == 2
    assert second.stop() == 0
    assert "1 kept update(s) nobody was handling are handled now" in second.output()


def test_a_reply_cut_off_while_being_sent_is_sent_again_and_nothing_else_repeats(
    api: FakeBotApi, start: Start
) -> None:
    first = start()
    updates = Updates()
    api.hold("sendMessage")  # Telegram takes the reply; its answer never reaches the bot
    api.push(updates.text(ALICE, "ou est ma facture"))
    first.wait(api, message_to(ALICE.id, INVOICE))
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    api.answer_all()

    second = start()
    api.push(updates.text(ALICE, "comment retourner un article"))
    second.wait(api, message_to(ALICE.id, "retour"))
    invoices = [c for c in api.sent(chat_id=ALICE.id) if INVOICE in c.text]
    # Whether the cut-off call reached Telegram is unknown to the bot, and the Bot API
    # has no idempotence key: that one message goes again rather than be lost. The
    # turn itself is not applied twice, and everything after it goes once.
    assert len(invoices) == 2
    assert len(api.sent(chat_id=ALICE.id)) == 3
    assert second.stop() == 0
    assert "1 message(s) cut off by a stop will be sent again" in second.output()


MALFORMED = "12345:not-a-real-token"
REVOKED = "987654321:AAH" + "x" * 32  # shaped like a token, refused by the server


@pytest.mark.parametrize(
    ("token", "says", "reaches_server"),
    [
        (MALFORMED, "SUPPORTBOT_TELEGRAM_TOKEN is malformed", False),
        (REVOKED, "Telegram rejected SUPPORTBOT_TELEGRAM_TOKEN", True),
    ],
    ids=["malformed", "revoked"],
)
def test_a_bad_token_stops_the_process_with_code_2(
    api: FakeBotApi,
    start: Start,
    bot_env: dict[str, str],
    tmp_path: Path,
    token: str,
    says: str,
    reaches_server: bool,
) -> None:
    bot_env["SUPPORTBOT_TELEGRAM_TOKEN"] = token
    bot = start()
    assert bot.process.wait(timeout=WAIT) == 2
    assert says in bot.output(), bot.output()
    assert (api.hits > 0) is reaches_server and api.calls == []  # getMe refused, nothing sent
    if not reaches_server:
        assert token not in bot.output() and "Traceback" not in bot.output(), bot.output()
        assert not (tmp_path / "commands.db").exists()  # checked before the database too


def test_a_revoked_token_is_never_printed(start: Start, bot_env: dict[str, str]) -> None:
    bot_env["SUPPORTBOT_TELEGRAM_TOKEN"] = REVOKED
    bot = start()
    assert bot.process.wait(timeout=WAIT) == 2
    secret = REVOKED.split(":")[1]
    assert secret not in bot.output() and "Traceback" not in bot.output(), bot.output()


def test_an_unreachable_bot_api_is_said_in_one_line(
    start: Start, bot_env: dict[str, str], unused_port: int
) -> None:
    bot_env["SUPPORTBOT_TELEGRAM_BASE_URL"] = f"http://127.0.0.1:{unused_port}"
    bot = start()
    assert bot.process.wait(timeout=WAIT * 2) == 1  # after the start-up retries (~5 s)
    output = bot.output()
    assert f"cannot reach the Telegram Bot API at http://127.0.0.1:{unused_port}" in output
    assert "Traceback" not in output and TOKEN.split(":")[1] not in output, output


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as probe:  # bound, never listening: connections are refused
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
