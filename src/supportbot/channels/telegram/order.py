"""Updates kept until handled; one chat's in order, different chats at the same time.

PTB runs updates concurrently when asked, with no per-chat ordering of its
own; this processor holds one asyncio lock per chat (per topic in a forum), and
the album timer takes the same lock so an album never overtakes a message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class KeyedLocks:
    """One asyncio lock per key, forgotten once nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


def ordering_key(update: object) -> str | None:
    """The chat an update belongs to (chat:topic inside a forum), None when it has none."""
    if not isinstance(update, Update) or update.effective_chat is None:
        return None
    chat_id = update.effective_chat.id
    message = update.effective_message
    if message is not None and message.is_topic_message and message.message_thread_id:
        return f"{chat_id}:{message.message_thread_id}"
    return str(chat_id)


class KeptQueue(asyncio.Queue[object]):
    """The application's update queue, where ``keep`` stores each update first.

    PTB confirms an update to Telegram (next getUpdates, or the webhook's answer)
    once it is in this queue, before any handler ran; stored, it survives a crash
    and is queued again at the next start (``requeue``). ``keep`` returns False for
    an update already kept: a second delivery is not queued twice.
    """

    def __init__(self, keep: Callable[[object], Awaitable[bool]] | None = None) -> None:
        super().__init__()
        self.keep = keep

    async def put(self, item: object) -> None:
        if self.keep is None or await self.keep(item):
            await super().put(item)

    async def requeue(self, item: object) -> None:
        """An update kept by an earlier run: queued as it is."""
        await super().put(item)


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Concurrent across chats, sequential within one chat, in arrival order.

    ``handled`` runs once an update went through every handler (their errors
    included, which PTB hands to the error handlers): an update cut off by a crash
    is never recorded as handled, and is taken again when Telegram redelivers it.
    """

    def __init__(
        self,
        max_concurrent_updates: int = 64,
        handled: Callable[[object], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.locks = KeyedLocks()
        self.handled = handled

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = ordering_key(update)
        async with self.locks.hold(key) if key is not None else contextlib.nullcontext():
            await coroutine
            if self.handled is not None:  # before a second delivery may start
                await self.handled(update)

    async def initialize(self) -> None:
        """Nothing to allocate: the locks are created on demand."""

    async def shutdown(self) -> None:
        """Nothing to free."""
