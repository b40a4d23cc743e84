"""Offline Telegram for tests: a request object that records and answers every call,
updates built as Telegram sends them, and a harness around the real Application.

As in python-telegram-bot's own suite, nothing is mocked above the HTTP layer:
the real `Bot`, `Application`, handlers, rate limiter and job queue run, and
only `BaseRequest.do_request` is replaced by a recording one.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import AIORateLimiter
from telegram.request import BaseRequest, RequestData

from supportbot.agents import AgentDesk
from supportbot.app import build_desk
from supportbot.channels.telegram.app import TelegramApp, build_application
from supportbot.config import Settings
from supportbot.engine import Engine
from supportbot.replies import ReplyBook

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawX"
AGENT_CHAT = -1001234567890
BOT_ID = 123456789
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 4096


def picture(name: str) -> bytes:
    """The bytes served for a file: two photos are two pictures, of the same size."""
    tag = name.encode()
    return JPEG[: len(JPEG) - len(tag)] + tag


NOW = 1_795_000_000


@dataclass
class Call:
    """One Bot API call as the bot made it."""

    method: str
    params: dict[str, Any]
    result: Any = None  # what the fake Telegram answered (a sent message, say)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def thread(self) -> int | None:
        value = self.params.get("message_thread_id")
        return int(value) if value is not None else None

    @property
    def message_id(self) -> int:
        """The id of the message this call sent."""
        return int(self.result["message_id"])

    @property
    def buttons(self) -> list[str]:
        """The callback data of the inline keyboard sent with this call."""
        markup = self.params.get("reply_markup") or {}
        if isinstance(markup, str):
            markup = json.loads(markup)
        rows = markup.get("inline_keyboard", [])
        return [b.get("callback_data", "") for row in rows for b in row]


@dataclass
class Failure:
    method: str
    code: int
    description: str
    when: Callable[[dict[str, Any]], bool]
    times: int
    retry_after: int | None = None


class RecordingRequest(BaseRequest):
    """Answers the Bot API like Telegram would, records each call, fails on demand."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.downloads: list[str] = []
        self.failures: list[Failure] = []
        self._ids = itertools.count(5000)
        self._threads = itertools.count(700)

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def fail(
        self,
        method: str,
        code: int,
        description: str,
        when: Callable[[dict[str, Any]], bool] = lambda params: True,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``times`` matching calls with an error, as Telegram words it."""
        self.failures.append(Failure(method, code, description, when, times, retry_after))

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if method == "GET":  # a file download from base_file_url
            name = url.rsplit("/", 1)[-1]
            self.downloads.append(name)
            return 200, picture(name)
        api = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        call = Call(api, params)
        self.calls.append(call)
        for failure in self.failures:
            if failure.method == api and failure.times > 0 and failure.when(params):
                failure.times -= 1
                body: dict[str, Any] = {
                    "ok": False,
                    "error_code": failure.code,
                    "description": failure.description,
                }
                if failure.retry_after is not None:
                    body["parameters"] = {"retry_after": failure.retry_after}
                return failure.code, json.dumps(body).encode()
        call.result = self._answer(api, params)
        return 200, json.dumps({"ok": True, "result": call.result}).encode()

    # -- answers ---------------------------------------------------------------------

    def _message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": "x"}
        if chat_id < 0:
            chat = {"id": chat_id, "type": "supergroup", "title": "Support", "is_forum": True}
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": NOW,
            "chat": chat,
            "from": bot_user(),
            **extra,
        }
        if params.get("message_thread_id") is not None:
            message["message_thread_id"] = int(params["message_thread_id"])
            message["is_topic_message"] = True
        return message

    def _answer(self, api: str, params: dict[str, Any]) -> Any:
        if api == "getMe":
            return bot_user()
        if api == "sendMessage":
            return self._message(params, text=params.get("text", ""))
        if api == "editMessageText" and "chat_id" in params:
            return self._message(params, text=params.get("text", ""))
        if api in ("sendPhoto", "sendVideo", "sendDocument"):
            return self._message(params)
        if api == "sendMediaGroup":
            return [self._message(params) for _ in params.get("media", [])]
        if api == "createForumTopic":
            return {
                "message_thread_id": next(self._threads),
                "name": params["name"],
                "icon_color": 7322096,
            }
        if api == "copyMessage":
            return {"message_id": next(self._ids)}
        if api == "copyMessages":
            return [{"message_id": next(self._ids)} for _ in params.get("message_ids", [])]
        if api == "getFile":
            file_id = str(params["file_id"])
            return {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_size": len(JPEG),
                "file_path": f"photos/{file_id}.jpg",
            }
        return True

    # -- reading what was sent ----------------------------------------------------------

    def to(self, chat_id: int, method: str = "sendMessage") -> list[Call]:
        return [c for c in self.calls if c.method == method and c.chat_id == chat_id]

    def named(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]


def bot_user() -> dict[str, Any]:
    return {
        "id": BOT_ID,
        "is_bot": True,
        "first_name": "Support 3DWorksPrints",
        "username": "support3dw_bot",
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


@dataclass
class Person:
    """A Telegram account: a customer in a private chat, or an agent in the group."""

    id: int
    first_name: str
    language_code: str | None = "fr"

    def user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            user["language_code"] = self.language_code
        return user


@dataclass
class Updates:
    """Updates as Telegram sends them, with increasing update and message ids."""

    update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))

    def _update(self, **body: Any) -> dict[str, Any]:
        return {"update_id": next(self.update_ids), **body}

    def _private(self, who: Person, **content: Any) -> dict[str, Any]:
        chat = {"id": who.id, "type": "private", "first_name": who.first_name}
        return {
            "message_id": next(self.message_ids),
            "date": NOW,
            "chat": chat,
            "from": who.user(),
            **content,
        }

    def text(self, who: Person, body: str) -> dict[str, Any]:
        content: dict[str, Any] = {"text": body}
        if body.startswith("/"):
            length = len(body.split()[0])
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._update(message=self._private(who, **content))

    def press(self, who: Person, data: str, label: str = "") -> dict[str, Any]:
        """A press on a button of a message the bot sent earlier."""
        shown = self._private(
            who,
            text="…",
            reply_markup={"inline_keyboard": [[{"text": label or data, "callback_data": data}]]},
        )
        shown["from"] = bot_user()
        return self._update(
            callback_query={
                "id": str(next(self.message_ids)),
                "from": who.user(),
                "chat_instance": f"ci-{who.id}",
                "data": data,
                "message": shown,
            }
        )

    def photo(
        self, who: Person, file_id: str, group: str | None = None, caption: str | None = None
    ) -> dict[str, Any]:
        sizes = [
            {"file_id": f"{file_id}-s", "file_unique_id": f"{file_id}-us", "width": 90,
             "height": 90, "file_size": 900},
            {"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 1280,
             "height": 960, "file_size": len(JPEG)},
        ]  # fmt: skip
        content: dict[str, Any] = {"photo": sizes}
        if group:
            content["media_group_id"] = group
        if caption:
            content["caption"] = caption
        return self._update(message=self._private(who, **content))

    def document(
        self, who: Person, file_id: str, name: str, mime: str, size: int
    ) -> dict[str, Any]:
        doc = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": name,
            "mime_type": mime,
            "file_size": size,
        }
        return self._update(message=self._private(who, document=doc))

    def in_topic(
        self,
        who: Person,
        thread: int,
        body: str,
        chat_id: int = AGENT_CHAT,
        anonymous: bool = False,
    ) -> dict[str, Any]:
        """A message an agent (or anyone) writes in a forum topic of a supergroup."""
        content: dict[str, Any] = {"text": body}
        if body.startswith("/"):
            length = len(body.split()[0])
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        message = {
            "message_id": next(self.message_ids),
            "date": NOW,
            "chat": {"id": chat_id, "type": "supergroup", "title": "Agents", "is_forum": True},
            "from": who.user(),
            "message_thread_id": thread,
            "is_topic_message": True,
            **content,
        }
        if anonymous:  # an admin posting as the group: Telegram's placeholder bot
            message["from"] = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
            message["sender_chat"] = message["chat"]
        return self._update(message=message)

    def press_in_topic(
        self,
        who: Person,
        thread: int,
        data: str,
        chat_id: int = AGENT_CHAT,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        """A press on a button under a message of a topic (``message_id``: that message)."""
        shown = {
            "message_id": message_id if message_id is not None else next(self.message_ids),
            "date": NOW,
            "chat": {"id": chat_id, "type": "supergroup", "title": "Agents", "is_forum": True},
            "from": bot_user(),
            "message_thread_id": thread,
            "is_topic_message": True,
            "text": "card",
        }
        return self._update(
            callback_query={
                "id": str(next(self.message_ids)),
                "from": who.user(),
                "chat_instance": "agents",
                "data": data,
                "message": shown,
            }
        )


class Telegram:
    """The real Application over a recording request, fed updates one by one."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        desk: AgentDesk | None = None,
        album_delay: float = 0.05,
        outbox_interval: float | None = None,
        book: ReplyBook | None = None,
        update_sweep_interval: float | None = None,
    ) -> None:
        self.engine = engine
        self.desk = desk or build_desk(engine)
        self.request = RecordingRequest()
        self.updates = Updates()
        self.errors: list[BaseException] = []
        self.app: TelegramApp = build_application(
            engine,
            self.desk,
            settings,
            request=self.request,
            get_updates_request=RecordingRequest(),
            # Telegram's real limits, but no minute-long wait on the agent group in a test.
            rate_limiter=AIORateLimiter(max_retries=3, group_max_rate=1000),
            album_delay=album_delay,
            outbox_interval=outbox_interval,
            update_sweep_interval=update_sweep_interval,
            book=book,
        )
        self.app.add_error_handler(self._record_error)

    async def _record_error(self, update: object, context: Any) -> None:
        self.errors.append(context.error)

    @asynccontextmanager
    async def running(self, start_jobs: bool = False) -> AsyncIterator[Telegram]:
        """Initialised (and with the job queue started when asked); fails on handler errors."""
        async with self.app:
            if start_jobs:
                await self.app.start()
            try:
                yield self
            finally:
                if start_jobs:
                    await self.app.stop()
        if self.errors:
            raise AssertionError(f"handler errors: {self.errors!r}") from self.errors[0]

    async def send(self, update: dict[str, Any]) -> list[Call]:
        """Process one update as the running application does (through its update
        processor); the Bot API calls it caused."""
        before = len(self.request.calls)
        parsed = Update.de_json(update, self.app.bot)
        await self.app.update_processor.process_update(parsed, self.app.process_update(parsed))
        return self.request.calls[before:]

    async def deliver(self, update: dict[str, Any]) -> None:
        """Hand one update to the application as its webhook or poller does: into the
        update queue (kept first); the running application handles it in its own time."""
        await self.app.update_queue.put(Update.de_json(update, self.app.bot))

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("condition not met in time")
            await asyncio.sleep(0.02)


def texts(calls: list[Call], chat_id: int | None = None) -> str:
    """The texts of the messages sent (to one chat when given), joined by blank lines."""
    return "\n\n".join(
        c.text for c in calls if c.method == "sendMessage" and chat_id in (None, c.chat_id)
    )
