"""The terminal chat: the same core as Telegram and the web, on stdin and stdout.

Buttons are shown numbered and chosen by number (or by typing their label);
``/attach PATH`` sends a file. When stdin is not a TTY nothing but the bot's
messages is printed, so a conversation can be scripted with a pipe. Messages
waiting in the outbox (agent replies, status changes) are shown at start and
after each line; an interactive chat also polls for them every second.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from supportbot.channels.contract import ChatCore
from supportbot.filetypes import sniff_mime
from supportbot.messages import Action, Button, Document, Inbound, IncomingFile, Reply
from supportbot.normalise import normalise

log = logging.getLogger(__name__)

CHANNEL = "terminal"
PROMPTS = {"fr": "vous> ", "en": "you> "}


def prompt(language: str | None) -> str:
    """What the input line starts with, in the customer's language (French by default)."""
    return PROMPTS.get(language or "fr", PROMPTS["fr"])


TERMINAL_HELP = {
    "fr": "Dans ce terminal : un numéro appuie sur le bouton correspondant, /attach CHEMIN "
    "joint un fichier, /quit quitte.",
    "en": "In this terminal: a number presses that button, /attach PATH attaches a file, "
    "/quit leaves.",
}


REMINDER = {
    "fr": "Toujours en attente de votre choix, pour « {excerpt} » :",
    "en": "Still waiting for your choice, for “{excerpt}”:",
}


class TerminalChat:
    """One customer's chat on stdin/stdout, over the channel contract."""

    def __init__(
        self,
        core: ChatCore,
        user: str,
        language: str | None,
        out: TextIO = sys.stdout,
        interactive: bool = False,
        poll_seconds: float = 1.0,
        display_name: str | None = None,
        downloads: Path = Path("."),
    ) -> None:
        self.core = core
        self.downloads = downloads  # where documents for the user (their /mydata) are saved
        self.user = user
        self.display_name = user if display_name is None else display_name
        self.language = language
        self.out = out
        self.interactive = interactive
        self.poll_seconds = poll_seconds
        self.buttons: tuple[Button, ...] = ()
        self._offers = 0  # delivered messages that came with buttons
        # One chat, one thing at a time: the typed line or the outbox poll.
        self._lock = threading.RLock()
        self._stop = threading.Event()

    def send(
        self, text: str = "", payload: str | None = None, files: tuple[IncomingFile, ...] = ()
    ) -> None:
        inbound = Inbound(
            channel=CHANNEL,
            user_id=self.user,
            chat_id=self.user,
            text=text,
            payload=payload,
            language=self.language,
            user_name=self.display_name,
            files=files,
        )
        with self._lock:
            self.show(self.core.handle(inbound))
            self.deliver()

    def deliver(self) -> bool:
        """Show the messages waiting for this chat; True if there were some."""
        with self._lock:
            return self.core.deliver(CHANNEL, self.user, self._show_one) > 0

    def _show_one(self, reply: Reply) -> None:
        self._offers += bool(reply.buttons)
        self.show([reply])

    def show(self, actions: Iterable[Action]) -> None:
        for action in actions:
            if isinstance(action, Document):
                self._save(action)
                continue
            if not isinstance(action, Reply):
                continue
            prefix = "bot> " if self.interactive else ""
            print(prefix + action.text, file=self.out)
            for i, button in enumerate(action.buttons, 1):
                print(f"  [{i}] {button.label}", file=self.out)
            if action.buttons:
                self.buttons = action.buttons
            print(file=self.out)
        self.out.flush()

    def _remind(self, waiting: Reply) -> None:
        """Buttons of a message shown in an earlier session, numbered again."""
        lang = "en" if self.language == "en" else "fr"
        last = waiting.text.strip().splitlines()[-1]  # the agent's words, under the status
        excerpt = last if len(last) <= 80 else last[:77] + "..."
        self.show([Reply(REMINDER[lang].format(excerpt=excerpt), waiting.buttons)])

    def _save(self, document: Document) -> None:
        """A file for the user: written next to them, its path shown (no clobbering)."""
        self.downloads.mkdir(parents=True, exist_ok=True)
        path = self.downloads / document.name
        stem, n = path.stem, 1
        while path.exists():
            n += 1
            path = path.with_name(f"{stem}-{n}{path.suffix}")
        path.write_bytes(document.data)
        prefix = "bot> " if self.interactive else ""
        print(f"{prefix}{document.caption}\n  → {path.resolve()}\n", file=self.out)

    def line(self, raw: str) -> bool:
        """Handle one typed line; False when the user wants to quit."""
        line = raw.strip()
        if line in ("/quit", "/exit", "/q"):
            return False
        if line.startswith("/attach"):
            self._attach(line.removeprefix("/attach").strip())
            return True
        button = self._button(line)
        if button is not None:
            self.send(button.label, payload=button.payload)
        else:
            self.send(line)
        if line.split(" ")[0].lower() in ("/help", "/aide"):
            help_text = TERMINAL_HELP["en" if self.language == "en" else "fr"]
            print(help_text + "\n", file=self.out)
        return True

    def _button(self, line: str) -> Button | None:
        if line.isdigit() and 1 <= int(line) <= len(self.buttons):
            return self.buttons[int(line) - 1]
        wanted = normalise(line)
        for button in self.buttons:
            if wanted and normalise(button.label) == wanted:
                return button
        return None

    def _attach(self, raw_path: str) -> None:
        path = Path(raw_path.strip("'\"")).expanduser()
        if not raw_path or not path.is_file():
            print(f"(fichier introuvable / file not found: {raw_path or '?'})", file=self.out)
            return
        incoming = IncomingFile(
            name=path.name,
            mime=sniff_mime(path),
            size=path.stat().st_size,
            path=str(path.resolve()),
        )
        self.send("", files=(incoming,))

    def run(self, lines: Iterable[str]) -> None:
        self._stop.clear()
        waiting = self.core.waiting_choice(CHANNEL, self.user)
        self._offers = 0
        # Interactive users get the welcome; scripts only see a resumed flow, if any.
        # Then what waits for them, last: its buttons are the ones a number presses.
        self.send("/start" if self.interactive else "/resume")
        if waiting is not None and not self._offers:  # buttons shown in an earlier session
            self._remind(waiting)
        poller = threading.Thread(target=self._poll_loop, name="outbox-poll", daemon=True)
        if self.interactive:
            poller.start()
        try:
            for raw in lines:
                if not self.line(raw):
                    break
        finally:
            self._stop.set()
            if poller.is_alive():
                poller.join()

    def _poll_loop(self) -> None:
        """Agent replies reach an open chat within a second or so, while the user types."""
        while not self._stop.wait(self.poll_seconds):
            try:
                with self._lock:
                    first = True

                    def show_one(reply: Reply) -> None:
                        nonlocal first
                        if first:  # the prompt's line, rewritten after the messages
                            self.out.write("\r\x1b[K")
                            first = False
                        self.show([reply])

                    if self.core.deliver(CHANNEL, self.user, show_one):
                        self.out.write(prompt(self.language))
                        self.out.flush()
            except SQLAlchemyError as err:
                # What was not marked delivered is shown again on the next round.
                log.warning("outbox poll failed: %s", type(err).__name__)
