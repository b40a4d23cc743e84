"""Customers in private chats: each message, button press or album is one engine turn.

A turn shows the typing indicator, runs the engine in a worker thread, sends
the replies, tells the agents (their topic) what concerns them, then delivers
what the outbox holds for the customer. The photos of an album arrive as
separate updates with no end marker: they wait in the store and a short timer
per group hands them to the engine together; any other update of the chat
flushes a waiting album first, so an album never overtakes a later message.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from telegram import Bot, Message, Update, User
from telegram.constants import ChatAction, ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes, JobQueue

from supportbot.channels.contract import ChatCore
from supportbot.channels.telegram import store
from supportbot.channels.telegram.media import MediaFetcher
from supportbot.channels.telegram.notices import NoticeSender
from supportbot.channels.telegram.order import KeyedLocks
from supportbot.channels.telegram.outbound import CustomerSender
from supportbot.messages import (
    Document,
    Inbound,
    IncomingFile,
    Reply,
)
from supportbot.patience import patiently

log = logging.getLogger(__name__)

CHANNEL = store.CHANNEL


class CustomerChats:
    """Private chats: every message, button and album becomes one engine turn."""

    def __init__(
        self,
        core: ChatCore,
        sessions: store.Sessions,
        sender: CustomerSender,
        media: MediaFetcher,
        notices: NoticeSender,
        chat_locks: KeyedLocks,
        album_delay: float,
    ) -> None:
        self.core = core
        self.sessions = sessions  # the channel's own tables: albums, long callback data
        self.sender = sender
        self.media = media
        self.notices = notices
        self.chat_locks = chat_locks
        self.album_delay = album_delay

    # -- handlers ----------------------------------------------------------------------

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Text, commands (/start, /menu, /help, /lang, /cancel, /agent, /tickets), files."""
        message, user = update.message, update.effective_user
        if message is None or user is None:
            return
        await self.flush_albums(context.bot, message.chat_id)
        file = await self.media.file_of(context.bot, message)
        files = (file,) if file else ()
        body = message.text or message.caption or ""
        inbound = self._inbound(user, message.chat_id, body, files=files, key=_key(update))
        if files:  # the agents are shown the message itself (a copy in the topic)
            inbound = replace(inbound, message_ids=(message.message_id,))
        await self.serve(context.bot, message.chat_id, inbound)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A pressed inline button: answered at once, then handled as the payload."""
        query = update.callback_query
        if query is None:
            return
        await query.answer()
        message = query.message
        if message is None or message.chat.type != ChatType.PRIVATE:
            return
        data = query.data or ""
        payload = await asyncio.to_thread(store.payload_of, self.sessions, data)
        label = _label_of(message, data) if isinstance(message, Message) else ""
        chat_id = message.chat.id
        await self.flush_albums(context.bot, chat_id)
        inbound = self._inbound(
            query.from_user, chat_id, label, payload=payload or data, key=_key(update)
        )
        await self.serve(context.bot, chat_id, inbound)

    async def on_album_part(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """One photo of an album: kept in the store until its group is complete."""
        message, user = update.message, update.effective_user
        if message is None or user is None or message.media_group_id is None:
            return
        file = await self.media.file_of(context.bot, message)
        if file is None:
            await self.on_message(update, context)
            return
        part = store.AlbumPart(
            message_id=message.message_id,
            user_id=str(user.id),
            user_name=user.first_name,
            language=user.language_code,
            caption=message.caption or "",
            file=file,
        )
        chat, group = str(message.chat_id), message.media_group_id
        now = self.core.now()
        await asyncio.to_thread(store.keep_album_part, self.sessions, chat, group, part, now)
        self.schedule_album(context.job_queue, message.chat_id, group, self.album_delay)

    # -- albums ------------------------------------------------------------------------

    def schedule_album(
        self, jobs: JobQueue[Any] | None, chat_id: int, group: str, delay: float
    ) -> None:
        """(Re)start the group's timer: it fires once no photo came for ``delay`` seconds."""
        if jobs is None:
            raise RuntimeError("albums need the job queue: install python-telegram-bot[job-queue]")
        name = f"album:{chat_id}:{group}"
        for job in jobs.get_jobs_by_name(name):
            job.schedule_removal()
        jobs.run_once(self._album_due, when=delay, data=(chat_id, group), name=name)

    async def _album_due(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        job = context.job
        if job is None:
            return
        chat_id, group = _album_key(job.data)
        async with self.chat_locks.hold(str(chat_id)):
            await self._flush_album(context.bot, chat_id, group)

    async def flush_albums(self, bot: Bot, chat_id: int) -> None:
        """Albums still waiting in this chat go first, so they never overtake a message."""
        pending = await asyncio.to_thread(store.pending_albums, self.sessions, str(chat_id))
        for _, group in pending:
            await self._flush_album(bot, chat_id, group)

    async def _flush_album(self, bot: Bot, chat_id: int, group: str) -> None:
        sessions = self.sessions
        parts, ids = await asyncio.to_thread(store.album_parts, sessions, str(chat_id), group)
        if not parts:
            return  # already handled (a message of the chat flushed it first)
        first = parts[0]
        inbound = Inbound(
            channel=CHANNEL,
            user_id=first.user_id,
            chat_id=str(chat_id),
            text=next((p.caption for p in parts if p.caption), ""),
            language=first.language,
            user_name=first.user_name,
            files=tuple(p.file for p in parts),
            key=f"telegram-album:{chat_id}:{first.message_id}-{parts[-1].message_id}",
            message_ids=tuple(p.message_id for p in parts),
        )
        try:
            await self.serve(bot, chat_id, inbound)
        finally:
            # Dropped once the turn ran (stored, or failed and answered "try again": its
            # downloaded files are gone); a kill before re-flushes it at the next start,
            # and the turn's key makes that flush change nothing twice.
            await asyncio.to_thread(store.drop_album_items, sessions, ids)

    # -- one turn ----------------------------------------------------------------------

    async def serve(self, bot: Bot, chat_id: int, inbound: Inbound) -> None:
        """Typing indicator, engine turn, replies, agents' notices, then queued messages."""
        try:
            await bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as err:
            log.info("no typing indicator in %s: %s", chat_id, err)
        # The store away for seconds: the turn waits for it rather than asking the
        # customer to try again (a keyed turn is applied whole or not at all).
        await patiently(self.core.set_reachable, CHANNEL, inbound.user_id, True)
        try:
            actions = await patiently(self.core.handle, inbound)
        finally:
            self.media.discard(inbound.files)
        # The turn's replies wait in the outbox (queued with the turn itself), after
        # anything queued before them; only a "try again" when the store is down
        # comes back directly.
        await self.sender.send(bot, chat_id, [a for a in actions if isinstance(a, Reply)])
        await self.sender.deliver_outbox(bot, chat_id)
        for document in (a for a in actions if isinstance(a, Document)):
            await bot.send_document(
                chat_id, document.data, filename=document.name, caption=document.caption[:1024]
            )
        # What the turn queued for the agents (a new ticket's card, a relayed message).
        await self.notices.deliver(bot, everywhere=False)

    @staticmethod
    def _inbound(
        user: User,
        chat_id: int,
        body: str,
        payload: str | None = None,
        files: tuple[IncomingFile, ...] = (),
        key: str | None = None,
    ) -> Inbound:
        return Inbound(
            channel=CHANNEL,
            user_id=str(user.id),
            chat_id=str(chat_id),
            text=body,
            payload=payload,
            language=user.language_code,
            user_name=user.first_name,
            files=files,
            key=key,
        )


def _key(update: Update) -> str:
    """The engine takes an update in once, however often Telegram delivers it."""
    return f"telegram-update:{update.update_id}"


def _album_key(data: object) -> tuple[int, str]:
    if not (isinstance(data, tuple) and len(data) == 2):
        raise TypeError(f"album job data should be (chat id, group), got {data!r}")
    return int(data[0]), str(data[1])


def _label_of(message: Message, data: str) -> str:
    """The label of the pressed button, read back from the message's keyboard."""
    markup = message.reply_markup
    if markup is None:
        return ""
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return ""
