"""The Telegram channel: customers in private chats, agents in a forum supergroup.

A thin adapter over the engine, with python-telegram-bot 22: each handler turns
one kind of update into an `Inbound` (or an agent action), runs it, and sends
what comes back. Updates of one chat are handled in order and different chats
concurrently (`ChatOrderedProcessor`); each update is stored as it arrives and
until it is handled (`KeptQueue`: a crash loses none), a repeated one is ignored,
and the replies go out through the outbox; the photos of an album are gathered,
in the store, into one answer to the step.
`build_application` wires it all (tests pass a recording request object in
place of the network); `run` starts it by polling or behind a webhook.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from telegram import BotCommand, Message, Update
from telegram.constants import ChatType
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    JobQueue,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from supportbot import logs
from supportbot.agents import AgentDesk
from supportbot.app import build_desk, build_engine
from supportbot.channels.agent_contract import DeskCore
from supportbot.channels.contract import ChatCore, EngineCore
from supportbot.channels.telegram import store
from supportbot.channels.telegram.customers import CustomerChats
from supportbot.channels.telegram.media import MediaFetcher
from supportbot.channels.telegram.notices import NoticeSender
from supportbot.channels.telegram.order import ChatOrderedProcessor, KeptQueue
from supportbot.channels.telegram.outbound import CustomerSender
from supportbot.channels.telegram.templates import (
    BUTTON_PATTERN,
    TEMPLATE_COMMANDS,
    TemplatePicker,
)
from supportbot.channels.telegram.texts import COMMAND_KEYS, say
from supportbot.channels.telegram.topics import (
    AGENT_COMMANDS,
    BUTTON_PREFIX,
    AgentRoom,
)
from supportbot.config import Settings
from supportbot.engine import Engine, pick_language
from supportbot.jobs import Jobs
from supportbot.outbox import PROCESS
from supportbot.patience import patiently, store_trouble, within
from supportbot.replies import ReplyBook, load_replies

log = logging.getLogger(__name__)

CHANNEL = store.CHANNEL
ALBUM_DELAY = 1.5
OUTBOX_INTERVAL = 2.0
BOOTSTRAP_RETRIES = 3  # at start-up: about 5 s of a network or Bot API outage is survived
UPDATE_MEMORY = timedelta(days=2)
UPDATE_SWEEP = 5.0  # seconds between two looks for kept updates whose lease lapsed
KEEP_PATIENCE = 5.0  # seconds an arriving update waits for the store before going unkept
_TOKEN = re.compile(r"^[0-9]{3,20}:[A-Za-z0-9_-]{30,64}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

TelegramApp = Application[
    ExtBot[Any],
    ContextTypes.DEFAULT_TYPE,
    dict[Any, Any],
    dict[Any, Any],
    dict[Any, Any],
    JobQueue[ContextTypes.DEFAULT_TYPE],
]


class TelegramStartError(RuntimeError):
    """Serving Telegram could not start; the message says why in one line, token never shown."""


class InvalidTelegramToken(TelegramStartError, ValueError):
    """The bot token is missing, not shaped like one or refused by Telegram."""


class TelegramUnreachable(TelegramStartError):
    """The Bot API did not answer at start-up, even after a few tries."""


def validate_token(token: str | None) -> str:
    """The token, if it looks like one BotFather gives ("123456:ABC-..."); no network."""
    if not token or not token.strip():
        raise InvalidTelegramToken(
            "SUPPORTBOT_TELEGRAM_TOKEN is not set: create a bot with @BotFather "
            "(/newbot) and put its token in that variable or in .env."
        )
    token = token.strip()
    if not _TOKEN.match(token):
        raise InvalidTelegramToken(
            "SUPPORTBOT_TELEGRAM_TOKEN is malformed: a bot token is the bot's number, a "
            "colon and about 35 letters, digits, '-' or '_' (the value is not shown here). "
            "Copy it again from @BotFather (/token)."
        )
    return token


def _api_roots(base_url: str) -> tuple[str, str]:
    """Bot API and file URLs of a local Bot API server ("http://host:8081")."""
    root = base_url.rstrip("/").removesuffix("/bot")
    return f"{root}/bot", f"{root}/file/bot"


class Housekeeping:
    """What runs besides updates: kept updates and their leases, outbox sweep, errors."""

    def __init__(
        self,
        core: ChatCore,
        sessions: store.Sessions,
        sender: CustomerSender,
        notices: NoticeSender,
        jobs: Jobs,
    ) -> None:
        self.core = core
        self.sessions = sessions  # the channel's own tables: kept updates
        self.sender = sender
        self.notices = notices
        self.jobs = jobs
        # Updates this worker holds the lease of: queued, or being handled.
        self.in_hand: set[int] = set()
        # Of those, the ones whose turn could not reach the store: not handled.
        self.again: set[int] = set()

    async def skip_repeats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Group -1: an update already handled stops here when it comes again.

        One whose handling a crash cut short was never recorded (see ``handled``): it
        goes through again, and the engine, which took its key in with the turn,
        applies it once and delivers the replies still waiting.
        """
        if await patiently(store.was_handled, self.sessions, update.update_id):
            log.info("update %s delivered twice: ignored", update.update_id)
            raise ApplicationHandlerStop

    async def keep(self, update: object) -> bool:
        """Before an update is queued (and confirmed to Telegram): stored, under this
        worker's lease, until handled. False when another worker holds it or it was
        handled already: Telegram delivered it twice."""
        if not isinstance(update, Update):
            return True
        try:
            ours = await within(
                KEEP_PATIENCE,
                store.keep_update,
                self.sessions,
                update.update_id,
                update.to_dict(),
                self.core.now(),
                PROCESS,
            )
        except Exception as err:
            if not store_trouble(err):
                raise
            # Raised here it would end PTB's polling loop for good: the update is handled
            # anyway, only without the safety net of being kept.
            log.warning("update %s not kept (%s): handled all the same", update.update_id, err)
            return True
        if ours:
            self.in_hand.add(update.update_id)
        else:
            log.info("update %s delivered again while kept: not queued twice", update.update_id)
        return ours

    async def handled(self, update: object) -> None:
        """After every handler: the update is not to be handled again (unless its turn
        could not reach the store: then its lease lapses and a sweep runs it again)."""
        if not isinstance(update, Update):
            return
        if update.update_id in self.in_hand:
            self.in_hand.discard(update.update_id)
            if update.update_id in self.again:
                self.again.discard(update.update_id)
                return
        try:
            await patiently(store.record_handled, self.sessions, update.update_id, self.core.now())
        except Exception as err:
            if not store_trouble(err):
                raise
            # Its lease lapses: a sweep runs it again, and the engine, which keyed the
            # turn, applies nothing twice.
            log.error("update %s not recorded as handled: %s", update.update_id, err)

    async def sweep_updates(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Every few seconds: renew the leases of what this worker holds, and take up the
        updates whose lease lapsed (a worker killed or cut off from the store)."""
        await self.take_up(context.application, everyone=False)

    async def take_up(self, app: Application[Any, Any, Any, Any, Any, Any], everyone: bool) -> int:
        """Queue the kept updates nobody handles; ``everyone``: also those other workers
        hold (the only poller, at its start). How many were queued."""
        sessions, now = self.sessions, self.core.now()
        queued = 0
        try:
            await asyncio.to_thread(
                store.renew_leases, sessions, sorted(self.in_hand), now, PROCESS
            )
            while taken := await asyncio.to_thread(
                store.take_lapsed_updates, sessions, now, PROCESS, everyone=everyone
            ):
                for data in taken:
                    update = Update.de_json(data, app.bot)
                    if update.update_id in self.in_hand:
                        continue
                    self.in_hand.add(update.update_id)
                    queue = app.update_queue
                    await (
                        queue.requeue(update) if isinstance(queue, KeptQueue) else queue.put(update)
                    )
                    queued += 1
                everyone = False  # the next batch: only what is still lapsed
        except Exception as err:
            if not store_trouble(err):
                raise
            log.warning("kept updates not swept (%s): next round", type(err).__name__)
        if queued:
            log.warning("%d kept update(s) nobody was handling are handled now", queued)
        return queued

    async def sweep_outbox(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Deliver what waits in the outbox: messages queued by other tools (terminal
        agent console, scripts, timed jobs), and the agent side's notices."""
        try:
            chats = await asyncio.to_thread(self.core.waiting_chats, CHANNEL)
        except Exception as err:
            if not store_trouble(err):
                raise
            log.warning("outbox not swept (%s): next round", type(err).__name__)
            return
        for chat in chats:
            if chat.lstrip("-").isdigit():
                await self.sender.deliver_outbox(context.bot, int(chat))
        await self.notices.deliver(context.bot)

    async def ticket_jobs(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The ticket life-cycle pass (interim messages, reminders, auto-close, retention);
        its alerts for the agents wait in the outbox with the rest."""
        await asyncio.to_thread(self.jobs.tick)
        await self.sweep_outbox(context)

    async def forget_updates(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        before = self.core.now() - UPDATE_MEMORY
        await asyncio.to_thread(store.forget_updates, self.sessions, before)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log with ids only; a customer whose turn failed gets a short apology, unless
        the update is kept and only the store was away: it is run again, unasked."""
        update_id = update.update_id if isinstance(update, Update) else None
        if update_id in self.in_hand and context.error and store_trouble(context.error):
            log.warning("update %s: store away, it will run again", update_id)
            self.again.add(update_id)
            await self._lapse(update_id)
            return
        log.error("telegram update %s failed", update_id, exc_info=context.error)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        chat = update.effective_chat
        if chat.type != ChatType.PRIVATE:
            return
        user = update.effective_user
        lang = pick_language(user.language_code if user else None)
        try:
            await context.bot.send_message(chat.id, say(lang, "technical_error"))
        except TelegramError as err:
            log.info("apology to %s not sent: %s", chat.id, err)

    async def _lapse(self, update_id: int) -> None:
        """Let an update's lease lapse now, so the next sweep takes it (once the store
        is back; until then the lease lapses by itself)."""
        try:
            await within(KEEP_PATIENCE, store.lapse_lease, self.sessions, update_id, PROCESS)
        except Exception as err:
            if not store_trouble(err):
                raise


def build_application(
    engine: Engine,
    desk: AgentDesk,
    settings: Settings,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    *,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    album_delay: float = ALBUM_DELAY,
    outbox_interval: float | None = OUTBOX_INTERVAL,
    update_sweep_interval: float | None = UPDATE_SWEEP,
    ticket_jobs_interval: float | None = 300.0,
    max_concurrent_updates: int = 64,
    book: ReplyBook | None = None,
) -> TelegramApp:
    """The PTB application serving customers and, when configured, the agent group.

    ``book`` holds the agents' reply templates; by default ``replies/`` of the content
    folder, validated here (ContentError when a template is broken).
    """
    token = validate_token(settings.telegram_token)
    processor = ChatOrderedProcessor(max_concurrent_updates)  # `handled` is set below
    queue = KeptQueue()  # and `keep`
    limiter: BaseRateLimiter[Any] = rate_limiter or AIORateLimiter(max_retries=3)
    builder = (
        ApplicationBuilder()
        .token(token)
        .rate_limiter(limiter)
        .concurrent_updates(processor)
        .update_queue(queue)
        .post_init(_post_init)
    )
    if settings.telegram_base_url:
        api, files = _api_roots(settings.telegram_base_url)
        builder = builder.base_url(api).base_file_url(files).local_mode(True)
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    app = builder.build()

    # Each side speaks to the core through its contract: customers through ChatCore,
    # the agents' topics and templates through AgentCore; the channel's own tables
    # (kept updates, albums, long callback data) are in the same store.
    core = EngineCore.of(engine)
    sender = CustomerSender(core, engine.sessions)
    room = None
    if settings.agent_chat_id is not None:
        room = AgentRoom(
            DeskCore(desk),
            sender,
            settings.agent_chat_id,
            settings.default_language,
            allowed=frozenset(settings.agent_user_ids),
        )
    media = MediaFetcher(settings.files_dir / "incoming", settings.max_attachment_bytes)
    notices = NoticeSender(core, room)
    customers = CustomerChats(
        core, engine.sessions, sender, media, notices, processor.locks, album_delay
    )
    ticket_jobs = Jobs(engine.tickets, engine.sessions, settings.job_settings())
    chores = Housekeeping(core, engine.sessions, sender, notices, ticket_jobs)
    app.bot_data["customers"] = customers
    app.bot_data["housekeeping"] = chores
    processor.handled, queue.keep = chores.handled, chores.keep

    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    app.add_handler(TypeHandler(Update, chores.skip_repeats), group=-1)
    if room is not None:
        if book is None:
            book = load_replies(settings.content_dir / "replies")
        picker = TemplatePicker(room, book, engine.sessions)
        picker.install()
        in_topics = filters.Chat(room.chat_id) & filters.IS_TOPIC_MESSAGE
        app.add_handler(CallbackQueryHandler(picker.on_button, pattern=BUTTON_PATTERN))
        app.add_handler(CallbackQueryHandler(room.on_button, pattern=f"^{BUTTON_PREFIX}"))
        app.add_handler(
            CommandHandler(
                [*AGENT_COMMANDS, *TEMPLATE_COMMANDS],
                room.on_command,
                filters=in_topics & filters.UpdateType.MESSAGE,
            )
        )
        app.add_handler(
            MessageHandler(
                in_topics
                & filters.UpdateType.MESSAGE
                & ~filters.COMMAND
                & ~filters.StatusUpdate.ALL,
                room.on_message,
            )
        )
    app.add_handler(CallbackQueryHandler(customers.on_button))
    album_part = filters.PHOTO | filters.VIDEO | filters.Document.ALL
    app.add_handler(MessageHandler(private & album_part & _IN_ALBUM, customers.on_album_part))
    app.add_handler(MessageHandler(private & ~filters.StatusUpdate.ALL, customers.on_message))
    app.add_error_handler(chores.on_error)

    jobs = app.job_queue
    if jobs is None:
        raise RuntimeError("install python-telegram-bot[job-queue]: albums need the job queue")
    if outbox_interval:
        jobs.run_repeating(chores.sweep_outbox, interval=outbox_interval, name="outbox")
    if update_sweep_interval:
        jobs.run_repeating(
            chores.sweep_updates, interval=update_sweep_interval, name="kept-updates"
        )
    jobs.run_repeating(chores.forget_updates, interval=3600, first=60, name="forget-updates")
    if ticket_jobs_interval:
        jobs.run_repeating(
            chores.ticket_jobs, interval=ticket_jobs_interval, first=30, name="ticket-jobs"
        )
    return app


class _InAlbum(filters.MessageFilter):
    """Messages that belong to a media group (an album)."""

    def filter(self, message: Message) -> bool:
        return message.media_group_id is not None


_IN_ALBUM = _InAlbum(name="in_album")


async def _post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """At start: the command menu in both languages; updates and albums a stop left."""
    for lang, code in (("fr", None), ("en", "en")):
        commands = [BotCommand(key, say(lang, f"cmd_{key}")) for key in COMMAND_KEYS]
        try:
            await app.bot.set_my_commands(commands, language_code=code)
        except TelegramError as err:
            log.warning("command menu not set (%s): %s", lang, err)
    customers: CustomerChats = app.bot_data["customers"]
    chores: Housekeeping = app.bot_data["housekeeping"]
    # Polling: this is the only poller, every lease another process holds was cut off.
    # Behind a webhook other workers may be handling theirs right now: only lapsed ones.
    await chores.take_up(app, everyone=bool(app.bot_data.get("sole_poller")))
    pending = await asyncio.to_thread(store.pending_albums, customers.sessions)
    for chat, group in pending:
        customers.schedule_album(app.job_queue, int(chat), group, customers.album_delay)


def run(
    settings: Settings,
    webhook_url: str | None = None,
    port: int = 8443,
    secret_token: str | None = None,
    listen: str = "0.0.0.0",  # a webhook listens for Telegram's servers
) -> None:
    """Serve Telegram: polling by default, or a webhook at ``webhook_url`` on ``port``."""
    token = validate_token(settings.telegram_token)
    if webhook_url and secret_token is not None and not _SECRET.match(secret_token):
        raise ValueError("the webhook secret token is 1-256 characters among A-Z, a-z, 0-9, _, -")
    logs.configure(secrets=(token, token.partition(":")[2], secret_token or ""))
    book = load_replies(settings.content_dir / "replies")  # broken templates stop us here
    engine = build_engine(settings)
    app = build_application(engine, build_desk(engine), settings, book=book)
    if not webhook_url:  # the only poller Telegram allows: other claims were cut off
        app.bot_data["sole_poller"] = True
        cut_off = EngineCore.of(engine).release_orphans(store.CHANNEL)
        if cut_off:
            log.warning("%d message(s) cut off by a stop will be sent again", cut_off)
    try:
        _serve(app, webhook_url, port, secret_token, listen)
    except InvalidToken:
        # PTB's own message repeats the token: say it without it.
        raise InvalidTelegramToken(
            "Telegram rejected SUPPORTBOT_TELEGRAM_TOKEN (revoked or mistyped?): "
            "check it with @BotFather (/token)."
        ) from None
    except NetworkError as err:  # after the bootstrap retries
        where = settings.telegram_base_url or "https://api.telegram.org"
        raise TelegramUnreachable(
            f"cannot reach the Telegram Bot API at {where} ({type(err).__name__}); "
            "check the network or SUPPORTBOT_TELEGRAM_BASE_URL, then start again."
        ) from None


def _serve(
    app: TelegramApp, webhook_url: str | None, port: int, secret_token: str | None, listen: str
) -> None:
    if not webhook_url:
        app.run_polling(allowed_updates=Update.ALL_TYPES, bootstrap_retries=BOOTSTRAP_RETRIES)
        return
    if secret_token is None:
        secret_token = secrets.token_urlsafe(32)
        log.warning(
            "webhook without SECRET: a random one is used for this process only; "
            "set one when several workers share the webhook"
        )
    app.run_webhook(
        listen=listen,
        port=port,
        url_path=urlparse(webhook_url).path.lstrip("/"),
        webhook_url=webhook_url,
        secret_token=secret_token,
        allowed_updates=Update.ALL_TYPES,
        bootstrap_retries=BOOTSTRAP_RETRIES,
    )
