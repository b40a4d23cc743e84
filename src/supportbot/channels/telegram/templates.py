"""Reply templates in a ticket's topic: /replies lists them, /reply NAME previews one.

The preview is the template filled for the ticket in the customer's language,
under two buttons: "Envoyer" sends it through the agent desk (recorded on the
ticket, then delivered from the outbox like any agent reply) and turns the
preview into a "sent" notice; "Annuler" turns it into a "not sent" one. The
card's templates button lists them as buttons opening the same preview. Only the
agent chat is listened to: commands come through the room, buttons are checked.

Callback data, after the room's "agent:" prefix: ``templates:REF`` (the list),
``tplshow:REF:NAME`` (preview), ``tpl:REF:NAME`` (send), ``tplno:REF`` (cancel).
One longer than Telegram's 64 bytes travels as "agent:" and a stored digest.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from supportbot.channels.telegram import store
from supportbot.channels.telegram.outbound import TEXT_LIMIT
from supportbot.channels.telegram.texts import say
from supportbot.channels.telegram.topics import BUTTON_PREFIX, AgentRoom, agent_name
from supportbot.replies import ReplyBook, UnknownTemplate
from supportbot.tickets import TicketNotFound

log = logging.getLogger(__name__)

LIST, SHOW, SEND, CANCEL = "templates", "tplshow", "tpl", "tplno"
TEMPLATE_COMMANDS = ("reply", "replies")
_DIGESTED = BUTTON_PREFIX + store.LONG_PAYLOAD_PREFIX
BUTTON_PATTERN = rf"^(?:{BUTTON_PREFIX}(?:{LIST}|{SHOW}|{SEND}|{CANCEL}):|{_DIGESTED})"


def parse_button(payload: str) -> tuple[str, str, str]:
    """("tpl", REF, NAME) from "agent:tpl:REF:NAME"; empty parts when absent."""
    parts = payload.removeprefix(BUTTON_PREFIX).split(":", 2)
    parts += [""] * (3 - len(parts))
    return parts[0], parts[1], parts[2]


@dataclass
class TemplatePicker:
    """The reply templates of one agent room."""

    room: AgentRoom
    book: ReplyBook
    sessions: store.Sessions  # the channel's own tables (long callback data)
    # Previews already sent or cancelled, by (chat, message): a second press does nothing.
    settled: set[tuple[int, int]] = field(default_factory=set)

    @property
    def lang(self) -> str:
        return self.room.lang

    def install(self) -> None:
        """/reply and /replies become topic commands, and the card gets its button."""
        self.room.extra_commands.update({"reply": self.on_reply, "replies": self.on_replies})
        if LIST not in self.room.card_extras:
            self.room.card_extras = (*self.room.card_extras, LIST)

    # -- commands in a ticket's topic --------------------------------------------------

    async def on_replies(self, bot: Bot, ref: str, agent: str, body: str) -> None:
        await self.show_list(bot, ref)

    async def on_reply(self, bot: Bot, ref: str, agent: str, name: str) -> None:
        if not name:
            await self.show_list(bot, ref)
            return
        await self.preview(bot, ref, name.split()[0], agent)

    # -- buttons ---------------------------------------------------------------------

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A template button: the list, a preview, send or cancel; only in the agent chat."""
        query = update.callback_query
        if query is None:
            return
        if not self.room.in_room(query.message) or not self.room.may_act(query.from_user):
            await query.answer()
            return
        payload = await self._payload(query.data or "")
        if payload is None:
            await query.answer(say(self.lang, "template_expired"), show_alert=True)
            return
        kind, ref, name = parse_button(payload)
        try:
            await self._press(context.bot, query, kind, ref, name)
        except TicketNotFound:
            log.info("template button for unknown ticket %s ignored", ref)

    async def _press(self, bot: Bot, query: CallbackQuery, kind: str, ref: str, name: str) -> None:
        agent = agent_name(query.from_user)
        if kind == SEND:
            await self.send(bot, query, ref, name, agent)
            return
        if kind == CANCEL:
            await self.cancel(query, agent)
            return
        await query.answer()
        if kind == LIST:
            await self.show_list(bot, ref)
        elif kind == SHOW:
            await self.preview(bot, ref, name, agent)

    # -- what the buttons and commands do ---------------------------------------------

    async def show_list(self, bot: Bot, ref: str, intro: str = "") -> None:
        """Each template's name and title, and a button per template opening its preview."""
        templates = list(self.book.templates.values())
        if not templates:
            await self.room.post(bot, ref, say(self.lang, "templates_none"))
            return
        lines = [intro] if intro else []
        lines.append(say(self.lang, "templates_list"))
        lines += [f"• {t.name} : {t.title.get(self.lang)}" for t in templates]
        rows = [[await self._button(t.title.get(self.lang), SHOW, ref, t.name)] for t in templates]
        await self.room.post(bot, ref, "\n".join(lines), InlineKeyboardMarkup(rows))

    async def preview(self, bot: Bot, ref: str, name: str, agent: str) -> None:
        """The filled text in the topic, under "Envoyer" and "Annuler"; nothing sent yet."""
        try:
            filled = await asyncio.to_thread(
                self.room.core.fill_template, self.book, ref, name, agent
            )
        except UnknownTemplate:
            await self.show_list(bot, ref, say(self.lang, "template_unknown", name=name))
            return
        template = self.book.get(name)
        contact = await asyncio.to_thread(self.room.core.contact, ref)
        language = say(self.lang, f"lang_{'en' if contact and contact.language == 'en' else 'fr'}")
        header = say(
            self.lang, "template_preview", title=template.title.get(self.lang), language=language
        )
        if template.closes:
            header += "\n" + say(self.lang, "template_closes")
        buttons = [
            await self._button(say(self.lang, "btn_send"), SEND, ref, template.name),
            await self._button(say(self.lang, "btn_cancel"), CANCEL, ref),
        ]
        text = _clip(f"{header}\n\n{filled}")
        await self.room.post(bot, ref, text, InlineKeyboardMarkup([buttons]))

    async def send(self, bot: Bot, query: CallbackQuery, ref: str, name: str, agent: str) -> None:
        """Fill again (signed by who pressed), record and deliver, then mark the preview sent."""
        try:
            filled = await asyncio.to_thread(
                self.room.core.fill_template, self.book, ref, name, agent
            )
        except (UnknownTemplate, TicketNotFound) as err:
            await query.answer(say(self.lang, "action_refused", reason=str(err)), show_alert=True)
            return
        if not self._settle(query):
            await query.answer(say(self.lang, "template_done_already"))
            return
        await query.answer()
        try:
            template = self.book.get(name)
            await asyncio.to_thread(self.room.core.send_template, template, ref, agent, filled)
        except BaseException:
            self._unsettle(query)
            raise
        reach = await self.room.reach_customer(bot, ref)
        await _edit(query, f"{say(self.lang, 'template_sent', agent=agent)}\n\n{filled}")
        await self.room.tell_unreached(bot, ref, reach)
        await self.room.rename(bot, ref)

    async def cancel(self, query: CallbackQuery, agent: str) -> None:
        if not self._settle(query):
            await query.answer(say(self.lang, "template_done_already"))
            return
        await query.answer()
        await _edit(query, say(self.lang, "template_cancelled", agent=agent))

    # -- plumbing ------------------------------------------------------------------------

    async def _button(
        self, label: str, kind: str, ref: str, name: str = ""
    ) -> InlineKeyboardButton:
        """A button whose callback data names the action, through a digest when over 64 bytes."""
        payload = f"{BUTTON_PREFIX}{kind}:{ref}" + (f":{name}" if name else "")
        if len(payload.encode()) > store.CALLBACK_DATA_BYTES:
            digest = await asyncio.to_thread(store.callback_data, self.sessions, payload)
            payload = BUTTON_PREFIX + digest
        return InlineKeyboardButton(label, callback_data=payload)

    async def _payload(self, data: str) -> str | None:
        if not data.startswith(_DIGESTED):
            return data
        digest = data.removeprefix(BUTTON_PREFIX)
        return await asyncio.to_thread(store.payload_of, self.sessions, digest)

    def _settle(self, query: CallbackQuery) -> bool:
        """Claim the preview under this button; False when it was already sent or cancelled."""
        key = _message_key(query)
        if key in self.settled:
            return False
        self.settled.add(key)
        return True

    def _unsettle(self, query: CallbackQuery) -> None:
        self.settled.discard(_message_key(query))


def _message_key(query: CallbackQuery) -> tuple[int, int]:
    message = query.message
    if message is None:
        return 0, 0
    return message.chat.id, message.message_id


def _clip(body: str) -> str:
    return body if len(body) <= TEXT_LIMIT else body[: TEXT_LIMIT - 1] + "…"


async def _edit(query: CallbackQuery, body: str) -> None:
    """Replace the preview (and drop its buttons); a vanished preview is only logged."""
    try:
        await query.edit_message_text(_clip(body))
    except BadRequest as err:
        log.info("template preview not updated: %s", err.message)
