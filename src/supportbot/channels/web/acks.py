"""The visitors' acknowledgements, written together: each open widget acknowledges what
it showed, about once per answer, and one transaction for every acknowledgement that
came meanwhile costs far less than one transaction each (the store has one writer).

The writing is the core's (``ChatCore.acknowledge_all``: each chat's messages up to an
id marked delivered, many chats in one transaction); this only gathers the requests,
each still getting its own count. No waiting is added: an acknowledgement alone is
written at once, those that come while it is written go in the next transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Acknowledgements:
    write: Callable[[list[tuple[str, int]]], Awaitable[list[int]]]
    _waiting: list[tuple[str, int, asyncio.Future[int]]] = field(default_factory=list)
    _writing: asyncio.Task[None] | None = None

    async def acknowledge(self, chat_id: str, up_to: int) -> int:
        """The chat's messages up to ``up_to`` were shown; how many were newly marked."""
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((chat_id, up_to, done))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_all())
        return await done

    async def _write_all(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                counts = await self.write([(chat, up_to) for chat, up_to, _ in batch])
            except Exception as err:  # each request answers the error, as it would alone
                for *_, done in batch:
                    if not done.done():
                        done.set_exception(err)
                continue
            for (*_, done), count in zip(batch, counts, strict=True):
                if not done.done():  # its request may have gone
                    done.set_result(count)
