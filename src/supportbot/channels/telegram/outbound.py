"""Sending the engine's replies to a customer's private chat.

Plain text (no parse mode, so nothing needs escaping), inline buttons whose
callback data is the button's payload (a stored digest when longer than 64
bytes), texts over 4096 characters split on paragraph or line boundaries with
the buttons under the last part. A 403 (the customer blocked the bot) marks the
customer unreachable instead of raising.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import MessageLimit
from telegram.error import BadRequest, Forbidden, NetworkError

from supportbot.channels.contract import ChatCore
from supportbot.channels.telegram import store
from supportbot.channels.telegram.order import KeyedLocks
from supportbot.messages import Button, Reply
from supportbot.outbox import Sent

log = logging.getLogger(__name__)

CHANNEL = store.CHANNEL
Sessions = store.Sessions

TEXT_LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)
_SHORT_LABEL = 12
_PER_ROW = 3


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at a paragraph, a line or a space."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator, limit // 2)
            if cut > 0:
                break
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def keyboard_rows(buttons: Sequence[Button]) -> list[list[Button]]:
    """Long labels alone on their row; short ones (Yes/No, Skip/Back/Cancel) side by side."""
    rows: list[list[Button]] = []
    for button in buttons:
        short = len(button.label) <= _SHORT_LABEL
        last = rows[-1] if rows else None
        if (
            short
            and last
            and len(last) < _PER_ROW
            and all(len(b.label) <= _SHORT_LABEL for b in last)
        ):
            last.append(button)
        else:
            rows.append([button])
    return rows


@dataclass
class CustomerSender:
    """Delivers replies and the outbox to customers; one delivery at a time per chat."""

    core: ChatCore
    sessions: Sessions  # the channel's own tables (long callback data)
    locks: KeyedLocks = field(default_factory=KeyedLocks)
    # Telegram answering 5xx or timing out: a few tries with a growing pause.
    attempts: int = 3
    retry_delay: float = 0.5

    async def send(self, bot: Bot, chat_id: int, replies: Sequence[Reply]) -> bool:
        """Send in order; False when the customer blocked the bot (then marked unreachable)."""
        try:
            for reply in replies:
                await self._send_one(bot, chat_id, reply)
        except Forbidden:
            log.info("telegram chat %s refused our message (403): marked unreachable", chat_id)
            await asyncio.to_thread(self.core.set_reachable, CHANNEL, str(chat_id), False)
            return False
        return True

    async def deliver_outbox(self, bot: Bot, chat_id: int) -> bool:
        """Messages queued for this customer (agent replies, status changes), through the
        outbox's delivery loop; False when the customer blocked the bot."""
        chat = str(chat_id)

        async def push(reply: Reply) -> Sent:
            try:
                sent = await self.send(bot, chat_id, [reply])
            except BadRequest as err:
                log.error("telegram refused a message to %s as it is (%s)", chat_id, err)
                return Sent.REFUSED
            return Sent.TAKEN if sent else Sent.LATER

        async with self.locks.hold(chat):
            done = await self.core.deliver_async(CHANNEL, chat, push)
        return not done.stopped

    async def _send_one(self, bot: Bot, chat_id: int, reply: Reply) -> None:
        pieces = split_text(reply.text)
        if not pieces:
            return
        markup = await self._markup(reply.buttons)
        for number, piece in enumerate(pieces, 1):
            last = number == len(pieces)
            await self._send_piece(bot, chat_id, piece, markup if last else None)

    async def _send_piece(
        self, bot: Bot, chat_id: int, piece: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        for attempt in range(1, self.attempts + 1):
            try:
                await bot.send_message(chat_id, piece, reply_markup=markup)
                return
            except BadRequest:
                raise  # our message is wrong: trying again changes nothing
            except NetworkError as err:  # 5xx, timeouts (429 is the rate limiter's)
                if attempt == self.attempts:
                    raise
                log.info("telegram send to %s failed (%s), retrying", chat_id, type(err).__name__)
                await asyncio.sleep(self.retry_delay * 2 ** (attempt - 1))

    async def _markup(self, buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
        if not buttons:
            return None
        data = {b.payload: b.payload for b in buttons}
        for payload in [p for p in data if store.needs_digest(p)]:
            data[payload] = await asyncio.to_thread(store.callback_data, self.sessions, payload)
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(b.label, callback_data=data[b.payload]) for b in row]
                for row in keyboard_rows(buttons)
            ]
        )
