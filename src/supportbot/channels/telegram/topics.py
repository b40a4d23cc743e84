"""The agent side: one forum topic per ticket in the agents' supergroup.

A ticket's first notification opens its topic (named "[status] REF subject")
with the card, the action buttons and the customer's files. Later ones are
posted in it; a closed topic is reopened and a deleted one opened again with a
rebuilt card, so nothing is lost. What an agent writes in the topic is copied
to the customer (copied, so the agent's account stays hidden) and recorded on
the ticket; slash commands and buttons go through the agent contract (the
desk's actions), and the notifications they cause are delivered to the customer
at once. Other parts of the channel add topic commands and card buttons (reply
templates), and an erased customer's topics are deleted here.
Only the configured agent chat is listened to.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    InputMediaVideo,
    MaybeInaccessibleMessage,
    Message,
    Update,
    User,
)
from telegram.constants import ForumTopicLimit
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from supportbot.agents import TicketView
from supportbot.channels.agent_contract import AgentCore, TicketContact
from supportbot.channels.telegram import store
from supportbot.channels.telegram.order import KeyedLocks
from supportbot.channels.telegram.outbound import CustomerSender, split_text
from supportbot.channels.telegram.texts import say
from supportbot.flows import say_moment
from supportbot.messages import NotifyAgents
from supportbot.texts import text
from supportbot.tickets import CustomerErased, InvalidTransition, TicketNotFound

log = logging.getLogger(__name__)

AGENT_COMMANDS = ("take", "ask", "propose", "close", "note")
NEEDS_TEXT = ("ask", "propose", "note")
STATUS_COMMANDS = ("ask", "propose", "close")
BUTTON_PREFIX = "agent:"
_COMMAND = re.compile(r"^/(\w+)(?:@\w+)?\s*(.*)$", re.DOTALL)
_MISSING_TOPIC = ("thread not found", "topic_deleted", "topic_id_invalid")
_HISTORY = 5
_MEDIA_GROUP = 10

# A topic command served outside the desk's actions: (bot, ticket ref, agent, text).
TopicCommand = Callable[[Bot, str, str, str], Awaitable[None]]


class TopicTrouble(StrEnum):
    CLOSED = "closed"
    MISSING = "missing"


class Reach(StrEnum):
    """What became of a message meant for the customer."""

    SENT = "sent"
    BLOCKED = "blocked"
    WAITING = "waiting"


def topic_trouble(err: BadRequest) -> TopicTrouble | None:
    """Telegram's answer for a closed or deleted topic, None for any other refusal."""
    message = err.message.lower()
    if "topic_closed" in message:
        return TopicTrouble.CLOSED
    if any(words in message for words in _MISSING_TOPIC):
        return TopicTrouble.MISSING
    return None


def parse_command(raw: str) -> tuple[str, str]:
    """("ask", "the text") from "/ask@bot the text" (lines after the first kept)."""
    found = _COMMAND.match(raw.strip())
    if found is None:
        return "", ""
    return found.group(1).lower(), found.group(2).strip()


def agent_name(user: User | None) -> str:
    """The agent's name for the audit trail ("agent" for an anonymous admin)."""
    if user is None or user.is_bot:
        return "agent"
    return user.full_name


def describe(message: Message) -> str:
    """The text recorded on the ticket for what an agent posted."""
    if message.text or message.caption:
        return message.text or message.caption or ""
    if message.photo:
        return "[photo]"
    attachment = message.effective_attachment
    kind = type(attachment).__name__.lower() if attachment else "message"
    name = getattr(attachment, "file_name", None)
    return f"[{kind}{' ' + name if name else ''}]"


@dataclass
class AgentRoom:
    core: AgentCore
    sender: CustomerSender
    chat_id: int
    lang: str = "fr"
    topic_locks: KeyedLocks = field(default_factory=KeyedLocks)
    names: dict[int, str] = field(default_factory=dict)
    # Commands other parts of the channel add (/reply, /replies), and the card's extra row.
    extra_commands: dict[str, TopicCommand] = field(default_factory=dict)
    card_extras: tuple[str, ...] = ()
    # Optional allow-list of agents' Telegram user ids (empty: every member of the group).
    allowed: frozenset[int] = frozenset()

    def may_act(self, user: User | None) -> bool:
        """Whether this person may act as an agent (group membership is checked apart)."""
        if not self.allowed:
            return True
        return user is not None and user.id in self.allowed

    # -- what the rest of the channel calls ----------------------------------------

    async def notify(
        self,
        bot: Bot,
        action: NotifyAgents,
        customer_chat: int | None = None,
        media_ids: Sequence[int] = (),
    ) -> None:
        """A ticket's news in its topic: the card when the topic is new, else the text."""
        ref = action.ticket_reference
        async with self.topic_locks.hold(ref):
            try:
                thread, created = await self._ensure_topic(bot, ref, card=action.text)
            except TicketNotFound:
                log.error("notification for unknown ticket %s dropped", ref)
                return
            if not created:
                thread = await self._post_in(bot, ref, thread, action.text)
            if media_ids and customer_chat is not None:
                await self._copy_in(bot, thread, customer_chat, media_ids)

    async def post(
        self, bot: Bot, ref: str, body: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """A notice in a ticket's topic, opening or repairing the topic as needed."""
        async with self.topic_locks.hold(ref):
            thread, _ = await self._ensure_topic(bot, ref, card=None)
            await self._post_in(bot, ref, thread, body, markup)

    async def rename(self, bot: Bot, ref: str) -> None:
        """Keep the topic's name in step with the ticket's status."""
        view = await asyncio.to_thread(self.core.show, ref)
        contact = await asyncio.to_thread(self.core.contact, ref)
        if contact is None or contact.thread_id is None:
            return
        name = self.topic_name(view)
        if self.names.get(contact.thread_id) == name:
            return
        try:
            await bot.edit_forum_topic(self.chat_id, contact.thread_id, name=name)
        except BadRequest as err:
            log.info("topic %s of %s not renamed: %s", contact.thread_id, ref, err.message)
        self.names[contact.thread_id] = name

    async def delete_topics(self, bot: Bot, threads: Sequence[int]) -> int:
        """Delete these topics (an erased customer's); refusals are logged, never raised."""
        deleted = 0
        for thread in threads:
            try:
                await bot.delete_forum_topic(self.chat_id, thread)
            except TelegramError as err:
                log.warning("topic %s not deleted: %s", thread, err)
                continue
            self.names.pop(thread, None)
            deleted += 1
        return deleted

    # -- topics --------------------------------------------------------------------

    def topic_name(self, view: TicketView) -> str:
        status = text(self.lang, f"status_{view.status}")
        name = f"[{status}] {view.reference} {view.subject}"
        return name[: int(ForumTopicLimit.MAX_NAME_LENGTH)]

    async def _ensure_topic(self, bot: Bot, ref: str, card: str | None) -> tuple[int, bool]:
        contact = await asyncio.to_thread(self.core.contact, ref)
        if contact is None:
            raise TicketNotFound(f"no ticket with reference {ref!r}")
        if contact.thread_id is not None:
            return contact.thread_id, False
        return await self._open_topic(bot, ref, card, replacing=None), True

    async def _open_topic(self, bot: Bot, ref: str, card: str | None, replacing: int | None) -> int:
        view = await asyncio.to_thread(self.core.show, ref)
        name = self.topic_name(view)
        topic = await bot.create_forum_topic(self.chat_id, name)
        ours = topic.message_thread_id
        thread = await asyncio.to_thread(self.core.claim_thread, ref, ours, replacing)
        if thread != ours:
            # Another worker opened the topic first: keep theirs.
            try:
                await bot.delete_forum_topic(self.chat_id, ours)
            except TelegramError as err:
                log.info("spare topic %s not deleted: %s", ours, err)
            return thread
        self.names[thread] = name
        body = card if card is not None else self._rebuilt_card(view)
        await self._send(bot, thread, f"{body}\n\n{self._footer(view)}", self._buttons(ref))
        await self._send_files(bot, thread, ref)
        return thread

    async def _post_in(
        self,
        bot: Bot,
        ref: str,
        thread: int,
        body: str,
        markup: InlineKeyboardMarkup | None = None,
    ) -> int:
        """Post in the topic; reopen it when closed, open a new one when deleted."""
        try:
            await self._send(bot, thread, body, markup)
            return thread
        except BadRequest as err:
            trouble = topic_trouble(err)
            if trouble is None:
                raise
        if trouble is TopicTrouble.CLOSED:
            try:
                await bot.reopen_forum_topic(self.chat_id, thread)
                await self._send(bot, thread, body, markup)
                return thread
            except BadRequest as err:
                if topic_trouble(err) is not TopicTrouble.MISSING:
                    raise
        log.info("topic %s of %s is gone: opening a new one", thread, ref)
        thread = await self._open_topic(bot, ref, card=None, replacing=thread)
        await self._send(bot, thread, body, markup)
        return thread

    async def _send(
        self, bot: Bot, thread: int, body: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        pieces = split_text(body)
        for number, piece in enumerate(pieces, 1):
            await bot.send_message(
                self.chat_id,
                piece,
                message_thread_id=thread,
                reply_markup=markup if number == len(pieces) else None,
            )

    async def _copy_in(
        self, bot: Bot, thread: int, customer_chat: int, media_ids: Sequence[int]
    ) -> None:
        try:
            await bot.copy_messages(  # captions stay out: the masked text is posted already
                self.chat_id,
                customer_chat,
                list(media_ids),
                message_thread_id=thread,
                remove_caption=True,
            )
        except TelegramError as err:
            log.warning("customer files not copied to topic %s: %s", thread, err)

    async def _send_files(self, bot: Bot, thread: int, ref: str) -> None:
        files = await asyncio.to_thread(self.core.files, ref)
        media = [(kind, file_id) for kind, file_id, _ in files if kind in ("image", "video")]
        documents = [file_id for kind, file_id, _ in files if kind not in ("image", "video")]
        try:
            for start in range(0, len(media), _MEDIA_GROUP):
                await self._send_media(bot, thread, media[start : start + _MEDIA_GROUP])
            for file_id in documents:
                await bot.send_document(self.chat_id, file_id, message_thread_id=thread)
        except TelegramError as err:
            log.warning("files of %s not shown in topic %s: %s", ref, thread, err)
            await self._send(bot, thread, say(self.lang, "files_not_forwarded"))

    async def _send_media(self, bot: Bot, thread: int, chunk: list[tuple[str, str]]) -> None:
        if len(chunk) == 1:
            kind, file_id = chunk[0]
            if kind == "image":
                await bot.send_photo(self.chat_id, file_id, message_thread_id=thread)
            else:
                await bot.send_video(self.chat_id, file_id, message_thread_id=thread)
            return
        album = [
            InputMediaPhoto(file_id) if kind == "image" else InputMediaVideo(file_id)
            for kind, file_id in chunk
        ]
        await bot.send_media_group(self.chat_id, album, message_thread_id=thread)

    def _buttons(self, ref: str) -> InlineKeyboardMarkup:
        def button(command: str) -> InlineKeyboardButton:
            return InlineKeyboardButton(
                say(self.lang, f"btn_{command}"), callback_data=f"{BUTTON_PREFIX}{command}:{ref}"
            )

        rows = [[button("take"), button("ask")], [button("propose"), button("close")]]
        if self.card_extras:
            rows.append([button(command) for command in self.card_extras])
        return InlineKeyboardMarkup(rows)

    def _footer(self, view: TicketView) -> str:
        tz = self.core.timezone()
        due = say_moment(view.due_at.astimezone(tz), self.lang) if view.due_at else "-"
        status = text(self.lang, f"status_{view.status}")
        return say(self.lang, "card_footer", status=status, due=due)

    def _rebuilt_card(self, view: TicketView) -> str:
        tz = self.core.timezone()
        lines = [
            say(self.lang, "card_rebuilt"),
            f"{view.reference} · {view.subject} · {view.priority}",
            f"{view.customer} · {view.category}"
            + (f" · {view.order_number}" if view.order_number else ""),
        ]
        lines += [f"{key} : {value}" for key, value in view.fields.items()]
        if view.events:
            lines.append(say(self.lang, "card_history"))
            for at, kind, author, body in view.events[-_HISTORY:]:
                lines.append(f"{at.astimezone(tz):%d/%m %H:%M} {kind} {author} : {body[:300]}")
        return "\n".join(lines)

    # -- what agents do in the group --------------------------------------------------

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/take, /ask TEXT, /propose TEXT, /close [TEXT], /note TEXT in a ticket's topic."""
        message = update.effective_message
        if message is None or message.chat_id != self.chat_id or not message.text:
            return
        if not self.may_act(message.from_user):
            return
        thread = message.message_thread_id
        contact = await self._ticket_of(thread)
        if thread is None:
            return
        if contact is None:
            try:
                await self._send(context.bot, thread, say(self.lang, "no_ticket"))
            except TelegramError as err:
                log.info("topic %s: %s", thread, err)
            return
        command, body = parse_command(message.text)
        agent = agent_name(message.from_user)
        extra = self.extra_commands.get(command)
        if extra is not None:
            await extra(context.bot, contact.reference, agent, body)
            return
        key = f"telegram-update:{update.update_id}"  # applied once if delivered again
        await self.act(context.bot, contact.reference, command, agent, body, key)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The card's buttons: take and close act at once, ask and propose need a text."""
        query = update.callback_query
        if query is None:
            return
        if not self.in_room(query.message) or not self.may_act(query.from_user):
            await query.answer()
            return
        parts = (query.data or "").split(":", 2)
        command, ref = (parts[1], parts[2]) if len(parts) == 3 else ("", "")
        if command in NEEDS_TEXT:
            await query.answer(say(self.lang, "use_command", command=command), show_alert=True)
            return
        await query.answer()
        if command in ("take", "close") and ref:
            key = f"telegram-update:{update.update_id}"
            await self.act(context.bot, ref, command, agent_name(query.from_user), "", key)

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An agent's message in a ticket's topic: copied to the customer, recorded."""
        message = update.effective_message
        if message is None or message.chat_id != self.chat_id or not self._by_agent(message):
            return
        contact = await self._ticket_of(message.message_thread_id)
        if contact is None:
            return
        await self._relay(context.bot, contact, message, agent_name(message.from_user))

    def in_room(self, message: MaybeInaccessibleMessage | None) -> bool:
        """A message of the agent chat (a button under it was pressed there)."""
        return message is not None and message.chat.id == self.chat_id

    def _by_agent(self, message: Message) -> bool:
        """A person of the group, or an admin posting anonymously as the group itself."""
        if message.sender_chat is not None:
            return message.sender_chat.id == self.chat_id and not self.allowed
        user = message.from_user
        return user is not None and not user.is_bot and self.may_act(user)

    async def act(
        self, bot: Bot, ref: str, command: str, agent: str, body: str, key: str | None = None
    ) -> None:
        if command in NEEDS_TEXT and not body:
            example = say(self.lang, f"example_{command}")
            await self.post(
                bot, ref, say(self.lang, "needs_text", command=command, example=example)
            )
            return
        action = self._desk_action(ref, command, agent, body, key)
        if action is None:
            return
        try:
            await asyncio.to_thread(action)
        except (InvalidTransition, TicketNotFound, CustomerErased) as err:
            await self.post(bot, ref, say(self.lang, "action_refused", reason=str(err)))
            return
        reach = await self.reach_customer(bot, ref) if command in STATUS_COMMANDS else Reach.SENT
        confirmations = {"take": "taken", "ask": "asked", "propose": "proposed", "close": "closed"}
        await self.post(bot, ref, say(self.lang, confirmations.get(command, "noted"), agent=agent))
        await self.tell_unreached(bot, ref, reach)
        await self.rename(bot, ref)

    def _desk_action(
        self, ref: str, command: str, agent: str, body: str, key: str | None = None
    ) -> Callable[[], TicketView] | None:
        core = self.core
        actions: dict[str, Callable[[], TicketView]] = {
            "take": lambda: core.take(ref, agent, key=key),
            "ask": lambda: core.ask(ref, agent, body, key=key),
            "propose": lambda: core.propose(ref, agent, body, key=key),
            "close": lambda: core.close(ref, agent, body, key=key),
            "note": lambda: core.note(ref, agent, body, key=key),
        }
        return actions.get(command)

    async def reach_customer(self, bot: Bot, ref: str) -> Reach:
        """Deliver what the ticket service queued for this ticket's customer."""
        contact = await asyncio.to_thread(self.core.contact, ref)
        if contact is None or contact.customer_channel != store.CHANNEL:
            return Reach.SENT  # another channel delivers its own customers
        if contact.customer_unreachable:
            return Reach.WAITING
        sent = await self.sender.deliver_outbox(bot, int(contact.customer_chat))
        return Reach.SENT if sent else Reach.BLOCKED

    async def tell_unreached(self, bot: Bot, ref: str, reach: Reach) -> None:
        if reach is Reach.BLOCKED:
            await self.post(bot, ref, say(self.lang, "customer_blocked"))
        elif reach is Reach.WAITING:
            await self.post(bot, ref, say(self.lang, "customer_waiting"))

    async def _relay(self, bot: Bot, contact: TicketContact, message: Message, agent: str) -> None:
        ref, body = contact.reference, describe(message)
        customers = self.sender.core  # the customer side's contract: their reachability
        if contact.customer_channel != store.CHANNEL:
            try:
                await asyncio.to_thread(self.core.reply, ref, agent, body)
            except CustomerErased as err:
                await self.post(bot, ref, say(self.lang, "action_refused", reason=str(err)))
            return
        customer = contact.customer_chat
        async with self.sender.locks.hold(customer):
            try:
                await bot.copy_message(int(customer), self.chat_id, message.message_id)
            except Forbidden:
                log.info("ticket %s: customer blocked the bot, reply kept", ref)
                await asyncio.to_thread(customers.set_reachable, store.CHANNEL, customer, False)
                await asyncio.to_thread(self.core.reply, ref, agent, body)
                await self.post(bot, ref, say(self.lang, "customer_blocked"))
                return
        # Copied already: recorded as delivered, so the outbox does not send it again.
        await asyncio.to_thread(self.core.reply, ref, agent, body, True)
        if contact.customer_unreachable:
            await asyncio.to_thread(customers.set_reachable, store.CHANNEL, customer, True)

    async def _ticket_of(self, thread: int | None) -> TicketContact | None:
        if thread is None:
            return None
        return await asyncio.to_thread(self.core.contact_in_thread, thread)
