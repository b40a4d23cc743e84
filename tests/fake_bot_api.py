"""A fake Telegram Bot API server on loopback, for running the real `supportbot run`.

It answers what python-telegram-bot needs to poll (getMe, deleteWebhook, getUpdates)
and what the bot sends, like Telegram: updates stay pending until a later
getUpdates confirms them with its ``offset``, which drops every earlier update for
good (a confirmed update is never served again, whoever asks); a message sent gets
a message id. Every call but getUpdates is recorded with its parameters (JSON ones
decoded).

With ``webhook(...)`` it is Telegram behind a webhook instead: each update is
POSTed (JSON, with the secret header) to one of the workers' URLs, retried on a
refusal, an error or a timeout, and a chosen fraction is delivered twice, the copy
to another worker, as Telegram does when an answer is slow.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import itertools
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from telegram_fakes import bot_user

T = TypeVar("T")
POLL_CAP = 0.5  # longest a getUpdates waits for an update, whatever timeout it asks
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, no proxy


@dataclass
class ApiCall:
    """One Bot API call as the bot made it, and what the fake answered."""

    method: str
    params: dict[str, Any]
    result: Any = None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    def buttons(self) -> dict[str, str]:
        """Label -> callback data of the inline keyboard sent with this call."""
        markup = self.params.get("reply_markup") or {}
        rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
        return {b["text"]: b.get("callback_data", "") for row in rows for b in row}


@dataclass
class FakeBotApi:
    """The server: ``url`` is the base URL to give the bot; ``push`` feeds updates."""

    token: str
    calls: list[ApiCall] = field(default_factory=list)
    hits: int = 0  # every HTTP request, answered or refused
    polls: int = 0  # getUpdates calls with the right token
    pending: list[dict[str, Any]] = field(default_factory=list)
    confirmed: int = 0  # the highest offset a getUpdates gave: every earlier update is gone
    hook: Webhook | None = None  # set by ``webhook``: updates are POSTed, not polled
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(5000))
    _threads: itertools.count[int] = field(default_factory=lambda: itertools.count(700))
    held: set[str] = field(default_factory=set)  # methods taken in but never answered
    _server: ThreadingHTTPServer | None = None

    def __enter__(self) -> FakeBotApi:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle(self) -> None:
                with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                    super().handle()  # a bot killed with a connection open

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                kind = self.headers.get("Content-Type", "")
                code, answer = api.handle(self.path, parse_params(self.path, kind, body))
                data = json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)  # a killed bot left its long poll

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the test reads the recorded calls

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.answer_all()
        if self.hook is not None:
            self.hook.close()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self._changed:
            self._changed.notify_all()

    @property
    def url(self) -> str:
        """The Bot API server's root, as SUPPORTBOT_TELEGRAM_BASE_URL takes it."""
        assert self._server is not None, "use the server as a context manager"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def push(self, *updates: dict[str, Any]) -> None:
        """Updates Telegram holds for the bot (once each), served by the next getUpdates,
        or POSTed to a worker behind a webhook. An update an offset already confirmed is
        gone: Telegram never delivers it again (see ``redeliver``)."""
        if self.hook is not None:
            for update in updates:
                self.hook.send(update)
            return
        with self._changed:
            held = {u["update_id"] for u in self.pending}
            fresh = [u for u in updates if u["update_id"] >= self.confirmed]
            self.pending.extend(u for u in fresh if u["update_id"] not in held)
            self._changed.notify_all()

    def redeliver(self, *updates: dict[str, Any]) -> None:
        """Updates served again because the getUpdates that confirmed them never reached
        Telegram (a crash between receiving them and the next poll): the confirmation
        is undone down to the oldest of them."""
        with self._changed:
            self.confirmed = min([self.confirmed, *(u["update_id"] for u in updates)])
        self.push(*updates)

    def webhook(
        self,
        urls: list[str],
        secret: str,
        duplicate: float = 0.0,
        seed: int = 14,
        senders: int = 8,
        timeout: float = 10.0,
    ) -> Webhook:
        """From now on updates are POSTed to ``urls`` (a worker picked at random for each
        try, seeded), ``duplicate`` of them twice (the copy to another worker)."""
        self.hook = Webhook(urls, secret, duplicate, random.Random(seed), senders, timeout)
        return self.hook

    def mark(self) -> int:
        """How many calls are recorded: the calls after a mark came after that moment."""
        with self._changed:
            return len(self.calls)

    def hold(self, method: str) -> None:
        """From now on, calls of ``method`` are recorded (Telegram took them) and left
        unanswered: the bot waits for an answer that never comes, as when a process
        is stopped in the middle of a call."""
        with self._changed:
            self.held.add(method)

    def answer_all(self) -> None:
        with self._changed:
            self.held.clear()
            self._changed.notify_all()

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[ApiCall]:
        with self._changed:
            return [c for c in self.calls if c.method == method and chat_id in (None, c.chat_id)]

    def wait_for(self, found: Callable[[list[ApiCall]], T | None], timeout: float) -> T | None:
        """What ``found`` returns for the recorded calls once not None; None after timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (result := found(list(self.calls))) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)
            return result

    # -- the Bot API --------------------------------------------------------------------

    def handle(self, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        prefix, _, method = urlsplit(path).path.rpartition("/")
        with self._changed:
            self.hits += 1
        if prefix != f"/bot{self.token}":
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if method == "getUpdates":
            if self.hook is not None:
                conflict = "Conflict: can't use getUpdates method while webhook is active"
                return 409, {"ok": False, "error_code": 409, "description": conflict}
            return 200, {"ok": True, "result": self._updates(params)}
        with self._changed:
            call = ApiCall(method, params, self._answer(method, params))
            self.calls.append(call)
            self._changed.notify_all()
            while method in self.held:
                self._changed.wait()
        return 200, {"ok": True, "result": call.result}

    def _updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), POLL_CAP)
        deadline = time.monotonic() + wait
        with self._changed:
            self.polls += 1
            # Telegram forgets for good the updates an offset confirms (a later poll without
            # an offset does not get them back), and serves the others again.
            self.confirmed = max(self.confirmed, offset)
            self.pending[:] = [u for u in self.pending if u["update_id"] >= self.confirmed]
            while not self.pending and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)
            return list(self.pending[: int(params.get("limit") or 100)])

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return bot_user()
        if method in ("sendMessage", "editMessageText", "sendDocument", "sendPhoto"):
            return self._message(params)
        if method == "createForumTopic":
            return {"message_thread_id": next(self._threads), "name": params["name"],
                    "icon_color": 7322096}  # fmt: skip
        if method == "copyMessage":
            return {"message_id": next(self._ids)}
        if method == "getMyCommands":
            return []
        return True

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": "x"}
        if chat_id < 0:
            chat = {"id": chat_id, "type": "supergroup", "title": "Support", "is_forum": True}
        message = {"message_id": next(self._ids), "date": int(time.time()), "chat": chat,
                   "from": bot_user()}  # fmt: skip
        for key in ("text", "caption", "reply_markup"):
            if isinstance(params.get(key), str | dict):
                message[key] = params[key]
        if params.get("message_thread_id") is not None:
            message["message_thread_id"] = int(params["message_thread_id"])
            message["is_topic_message"] = True
        return message


@dataclass
class Delivery:
    """One POST of an update to a worker, and how it ended."""

    update_id: int
    url: str
    status: int | str  # the HTTP status, or the error's name
    copy: bool = False  # the second delivery of a duplicated update


class Webhook:
    """Telegram's side of a webhook: a few senders POST each update until a worker
    answers 200, trying a worker picked at random each time (a load balancer), with a
    short pause after a failure; a duplicated update also goes to another worker."""

    def __init__(
        self,
        urls: list[str],
        secret: str,
        duplicate: float,
        rng: random.Random,
        senders: int,
        timeout: float,
    ) -> None:
        self.urls = list(urls)
        self.secret = secret
        self.duplicate = duplicate
        self.rng = rng
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self.duplicated: set[int] = set()
        self._queue: list[tuple[dict[str, Any], str | None, bool]] = []
        self._changed = threading.Condition()
        self._closed = False
        self._busy = 0
        self._threads = [
            threading.Thread(target=self._sender, name=f"webhook-{n}", daemon=True)
            for n in range(senders)
        ]
        for thread in self._threads:
            thread.start()

    def send(self, update: dict[str, Any]) -> None:
        with self._changed:
            first = self.rng.choice(self.urls)
            self._queue.append((update, first, False))
            if len(self.urls) > 1 and self.rng.random() < self.duplicate:
                other = self.rng.choice([u for u in self.urls if u != first])
                self._queue.append((update, other, True))
                self.duplicated.add(update["update_id"])
            self._changed.notify_all()

    def idle(self) -> bool:
        """Nothing waiting or being sent."""
        with self._changed:
            return not self._queue and not self._busy

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 1)

    def _sender(self) -> None:
        while True:
            with self._changed:
                while not self._queue and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return
                update, url, copy = self._queue.pop(0)
                self._busy += 1
            try:
                self._deliver(update, url, copy)
            finally:
                with self._changed:
                    self._busy -= 1

    def _deliver(self, update: dict[str, Any], url: str | None, copy: bool) -> None:
        data = json.dumps(update).encode()
        pause = 0.2
        while not self._closed:
            with self._changed:
                target = url or self.rng.choice(self.urls)
            url = None  # a retry goes wherever the balancer sends it
            request = urllib.request.Request(
                target,
                data=data,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": self.secret,
                },
            )
            status: int | str
            try:
                with _DIRECT.open(request, timeout=self.timeout) as answer:
                    status = int(answer.status)
            except urllib.error.HTTPError as err:
                status = int(err.code)
            except (OSError, ValueError) as err:  # refused, reset, timed out
                status = type(err).__name__
            with self._changed:
                self.deliveries.append(Delivery(update["update_id"], target, status, copy))
            if status == 200:
                return
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


def parse_params(path: str, content_type: str, body: bytes) -> dict[str, Any]:
    """The call's parameters: query string, urlencoded, multipart or JSON body."""
    params: dict[str, Any] = dict(parse_qsl(urlsplit(path).query))
    if content_type.startswith("application/json"):
        params.update(json.loads(body or b"{}"))
        return params
    if content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        form = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        for part in form.iter_parts():
            name = part.get_param("name", header="content-disposition")
            data = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(data, bytes):
                params[name] = data if part.get_filename() else data.decode()
    elif body:
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    # PTB sends strings as they are and everything else JSON-encoded: decode objects.
    for key, value in params.items():
        if isinstance(value, str) and value[:1] in ("{", "["):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params
