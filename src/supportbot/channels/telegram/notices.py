"""The agent side's notices, delivered from the outbox to the agents' forum topics.

A new ticket's card, a customer's message during a handoff, a deadline alert, the
topics an erasure leaves behind: written to the outbox (channel ``AGENTS``) with
the change that caused them, then shown here, per ticket in order, one at a time,
each marked delivered once Telegram took it. A worker killed in between holds back
only the notice in flight, until its claim lapses; a replayed update loses none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from telegram import Bot
from telegram.error import BadRequest, TelegramError

from supportbot.channels.contract import ChatCore
from supportbot.channels.telegram.order import KeyedLocks
from supportbot.channels.telegram.topics import AgentRoom
from supportbot.messages import ForgetAgentThreads
from supportbot.outbox import Notice, Sent, notices_committed
from supportbot.patience import patiently

log = logging.getLogger(__name__)


@dataclass
class NoticeSender:
    """Delivers what waits for the agent side; nothing when no agent group is set."""

    core: ChatCore
    room: AgentRoom | None
    locks: KeyedLocks = field(default_factory=KeyedLocks)
    # notices_committed() when the last round that left nothing behind began.
    _clean_at: int | None = field(default=None, init=False)

    async def deliver(self, bot: Bot, everywhere: bool = True) -> int:
        """Every ticket's waiting notices, in order, through the outbox's delivery loop;
        how many were shown. Not ``everywhere`` (after a customer's turn): only when this
        process committed notices since the last round that left none behind, which
        spares the look for waiting notices on most turns."""
        committed = notices_committed()
        if not everywhere and committed == self._clean_at:
            return 0
        self._clean_at = None  # until this round ends with nothing left behind
        shown, left = 0, False

        async def show(notice: Notice) -> Sent:
            try:
                await self._show(bot, notice)
            except BadRequest as err:
                log.error("agent notice refused by Telegram (%s)", err)
                return Sent.REFUSED
            except TelegramError as err:
                log.warning("agent notice not shown yet (%s): the next sweep tries again", err)
                return Sent.LATER
            return Sent.TAKEN

        for chat in await patiently(self.core.notice_chats):
            async with self.locks.hold(chat):
                done = await self.core.deliver_notices(chat, show)
            shown += done.delivered
            left = left or done.stopped
        if not left:
            self._clean_at = committed
        return shown

    async def _show(self, bot: Bot, notice: Notice) -> None:
        action = notice.action
        if self.room is None:
            log.warning("no agent chat configured: an agent notice is dropped")
            return
        if isinstance(action, ForgetAgentThreads):
            deleted = await self.room.delete_topics(bot, action.thread_ids)
            log.info("erasure: %d of %d agent topic(s) deleted", deleted, len(action.thread_ids))
            return
        source = int(notice.source_chat) if notice.source_chat else None
        await self.room.notify(bot, action, source, notice.source_messages)
