"""Shared fixtures: a fresh engine on a fresh database, a settable clock, and `say`."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from supportbot.app import build_engine, build_matcher
from supportbot.config import Settings
from supportbot.content import Content, load_content
from supportbot.engine import Engine
from supportbot.messages import Action, Inbound, IncomingFile, NotifyAgents, Reply
from supportbot.routing import Router
from supportbot.tickets import REFERENCE

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Clock:
    now: datetime = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content(ROOT)


@pytest.fixture(scope="session")
def matcher(content: Content) -> Router:
    return build_matcher(content, Settings(_env_file=None))  # type: ignore[call-arg]


def database_url(tmp_path: Path) -> str:
    """SQLite in the test's folder, or a wiped PostgreSQL schema when one is configured."""
    url = os.environ.get("SUPPORTBOT_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path}/test.db"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=database_url(tmp_path),
        content_dir=ROOT,
        files_dir=tmp_path / "files",
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Environment for running the real `supportbot` commands on a fresh SQLite file."""
    values = dict(os.environ)
    values["SUPPORTBOT_DATABASE_URL"] = f"sqlite:///{tmp_path}/commands.db"
    values["SUPPORTBOT_FILES_DIR"] = str(tmp_path / "files")
    values["SUPPORTBOT_CONTENT_DIR"] = str(ROOT)
    return values


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(settings: Settings, clock: Clock, content: Content, matcher: Router) -> Iterator[Engine]:
    built = build_engine(settings, clock=clock, content=content, matcher=matcher)
    yield built
    built.sessions.kw["bind"].dispose()


@dataclass
class Chat:
    """A customer talking to the engine: `say` returns the bot's replies."""

    engine: Engine
    user: str = "alice"
    language: str | None = "fr"
    last: list[Action] = field(default_factory=list)
    channel: str = "test"
    named: bool = True  # the channel gives the customer's name (the web chat does not)

    def send(
        self, text: str = "", payload: str | None = None, files: tuple[IncomingFile, ...] = ()
    ) -> list[Action]:
        self.last = self.engine.handle(
            Inbound(
                channel=self.channel,
                user_id=self.user,
                chat_id=self.user,
                text=text,
                payload=payload,
                language=self.language,
                user_name=self.user if self.named else "",
                files=files,
            )
        )
        return self.last

    def say(
        self, text: str = "", payload: str | None = None, files: tuple[IncomingFile, ...] = ()
    ) -> str:
        """The replies' texts joined, as the customer reads them."""
        return "\n".join(r.text for r in self.send(text, payload, files) if isinstance(r, Reply))

    def press(self, payload: str) -> str:
        return self.say(payload=payload)

    @property
    def buttons(self) -> list[str]:
        return [b.payload for r in self.last if isinstance(r, Reply) for b in r.buttons]

    @property
    def agent_notes(self) -> list[NotifyAgents]:
        return [a for a in self.last if isinstance(a, NotifyAgents)]


def handoff(chat: Chat, words: str) -> str:
    """The customer asks for a person and describes the problem; the new ticket's reference."""
    chat.say("/agent")
    chat.say(words)
    found = REFERENCE.search(chat.press("confirm"))
    assert found is not None
    return found.group()


@pytest.fixture
def chat(engine: Engine) -> Chat:
    return Chat(engine)


@pytest.fixture
def new_chat(engine: Engine) -> Callable[..., Chat]:
    def make(user: str = "bob", language: str | None = "fr") -> Chat:
        return Chat(engine, user, language)

    return make


@pytest.fixture
def photo(tmp_path: Path) -> Iterator[IncomingFile]:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 2048)
    yield IncomingFile(
        name="photo.jpg", mime="image/jpeg", size=path.stat().st_size, path=str(path)
    )
