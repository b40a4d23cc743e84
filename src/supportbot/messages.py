"""The values the engine exchanges with channels: inbound events and outbound actions.

Plain frozen dataclasses; nothing here knows about Telegram or the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class IncomingFile:
    """A file sent by a customer: a local path (terminal) or a Telegram file id."""

    name: str
    mime: str
    size: int
    path: str | None = None
    file_id: str | None = None
    file_unique_id: str | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a customer did: typed text, pressed a button, or sent files."""

    channel: str
    user_id: str
    chat_id: str
    text: str = ""
    payload: str | None = None
    language: str | None = None
    user_name: str = ""
    files: tuple[IncomingFile, ...] = ()
    # Set by a channel that may deliver the same event twice (Telegram's update id).
    key: str | None = None
    # The channel's ids of the messages carrying the files (Telegram message ids): the
    # agent side is shown those messages.
    message_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Reply:
    """A message for the customer of this chat, with optional buttons."""

    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True, slots=True)
class NotifyAgents:
    """Something the agent side must see about a ticket (new ticket, customer message)."""

    ticket_reference: str
    text: str
    files: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Document:
    """A file for the customer of this chat (their data export)."""

    name: str
    data: bytes
    caption: str = ""


@dataclass(frozen=True, slots=True)
class ForgetAgentThreads:
    """A customer was erased: the agent side deletes these tickets' threads (forum topics)."""

    thread_ids: tuple[int, ...]


Action = Reply | NotifyAgents | Document | ForgetAgentThreads
