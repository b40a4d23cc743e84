"""The ASGI middleware that adds a set of security headers to every answer.

The web chat and the agent desk each give their own set (the desk adds
``Cache-Control: no-store`` and ``form-action``); a header the application set
itself is left as it is. Streamed answers (server-sent events) get them too.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class SecurityHeaders:
    """Adds ``headers`` (name, value) to every HTTP answer of the wrapped application."""

    def __init__(self, app: ASGIApp, headers: Iterable[tuple[str, str]]) -> None:
        self.app = app
        self.headers = tuple((n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in self.headers if n not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
